using System.Text.Json;
using System.Text.Json.Serialization;

namespace AnCoder.Cli.Repro;

/// <summary>How a training run ended, as the report shows it.</summary>
public enum RunStatus { Completed, Diverged, Missing }

/// <summary>One training run's figures (NaN where the run has no such record).</summary>
public sealed record RunResult(string Name, string Strategy, int Seed, RunStatus Status, long Steps, double FinalLoss,
    double FinalValidNelbo, double MinValidNelbo, double WallSeconds);

/// <summary>Per-problem sample counts of one evaluation: n samples, c passed, v syntactically valid.</summary>
public sealed record ProblemCount(string TaskId, int N, int C, int V);

/// <summary>One evaluation's figures (fractions in [0, 1]; null when the evaluation did not run).</summary>
public sealed record EvalResult(string Run, string Benchmark, int Steps, double? SyntaxValidity, double? PassAt1,
    IReadOnlyList<ProblemCount> Problems);

/// <summary>Everything the report is computed from; saved as OUT/results.json.</summary>
public sealed record ReproResults(long StepsPerRun, IReadOnlyList<RunResult> Runs, IReadOnlyList<EvalResult> Evals)
{
    public const string FileName = "results.json";

    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    public string ToJson() => JsonSerializer.Serialize(this, Options);

    public static ReproResults FromJson(string json) => JsonSerializer.Deserialize<ReproResults>(json, Options)!;

    public RunResult? Run(string name) => Runs.FirstOrDefault(r => r.Name == name);

    public EvalResult? Eval(string run, string benchmark, int steps) =>
        Evals.FirstOrDefault(e => e.Run == run && e.Benchmark == benchmark && e.Steps == steps);
}
