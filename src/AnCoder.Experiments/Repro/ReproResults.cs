using System.Text.Json;
using System.Text.Json.Serialization;

namespace AnCoder.Experiments.Repro;

/// <summary>How a training run ended, as the report shows it.</summary>
public enum RunStatus { Completed, Diverged, Missing }

/// <summary>One training run's figures (NaN where the run has no such record).</summary>
public sealed record RunResult(string Name, string Strategy, int Seed, RunStatus Status, long Steps, double FinalLoss,
    double FinalValidNelbo, double MinValidNelbo, double WallSeconds);

/// <summary>Per-problem sample counts of one evaluation: n samples, c passed, v syntactically valid.</summary>
public sealed record ProblemCount(string TaskId, int N, int C, int V);

/// <summary>
/// One evaluation's figures (fractions in [0, 1]; null when the evaluation did not run). <paramref name="ValidLines"/>:
/// the mean over samples of <see cref="AnCoder.Evaluation.Scoring.ValidPrefix.LineFraction"/> (null when not computed);
/// <paramref name="EmptyShare"/>: the share of samples whose completion is empty after post-processing;
/// <paramref name="NonTrivialValidity"/>: <see cref="AnCoder.Evaluation.Scoring.NonTrivialValidity"/> over the samples;
/// <paramref name="Examples"/>: a handful of samples that show what each verdict means.
/// </summary>
public sealed record EvalResult(string Run, string Benchmark, int Steps, double? SyntaxValidity, double? PassAt1,
    IReadOnlyList<ProblemCount> Problems, double? ValidLines = null, double? EmptyShare = null, double? NonTrivialValidity = null,
    IReadOnlyList<SampleExample>? Examples = null);

/// <summary>One sample shown in the report: its completion (as judged: cut at its last complete line when it hit the length cap) and verdicts.</summary>
public sealed record SampleExample(string TaskId, int SampleIndex, string Completion, bool? SyntaxValid, bool? NonTrivial, string? Reason, bool Passed);

/// <summary>One paired probe difference of one model: mean over noise draws of p(target | order A) − p(target | order B).</summary>
public sealed record ProbeGap(double T, int Hints, string Better, string Worse, int N, double Mean, double StandardError);

/// <summary>The AST probe of one main run's model (runs/RUN/probe/probe-paired.csv).</summary>
public sealed record ProbeResult(string Run, string Strategy, int Seed, IReadOnlyList<ProbeGap> Gaps);

/// <summary>Everything the report is computed from; saved as OUT/results.json.</summary>
public sealed record ReproResults(long StepsPerRun, IReadOnlyList<RunResult> Runs, IReadOnlyList<EvalResult> Evals,
    IReadOnlyList<ProbeResult>? Probes = null)
{
    public const string FileName = "results.json";

    /// <summary>The JSON of both results files (this and <see cref="RecipeResults"/>).</summary>
    internal static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    public static ReproResults FromJson(string json) => JsonSerializer.Deserialize<ReproResults>(json, JsonOptions)!;

    public RunResult? Run(string name) => Runs.FirstOrDefault(r => r.Name == name);

    public EvalResult? Eval(string run, string benchmark, int steps) =>
        Evals.FirstOrDefault(e => e.Run == run && e.Benchmark == benchmark && e.Steps == steps);
}

/// <summary>One validation point of a training stage: step, training tokens so far, validation NLL/NELBO (nats per token).</summary>
public sealed record ValidationPoint(long Step, double Tokens, double ValidNll);

/// <summary>
/// One recipe stage's figures (NaN where its folder has no such record): <paramref name="FlopsPerToken"/> the training
/// FLOPs per token of its model (null when the model is not there); <paramref name="Validation"/> the validation curve.
/// </summary>
public sealed record StageResult(string Name, string Kind, string Variant, int Seed, RunStatus Status, long Steps, double Tokens,
    double WallSeconds, double FinalLoss, double FinalValidNll, double MinValidNll, double? FlopsPerToken, IReadOnlyList<ValidationPoint> Validation,
    double? ReferenceNll = null)
{
    /// <summary>Training FLOPs of the stage: FLOPs per token × tokens trained (NaN when unknown).</summary>
    public double Flops => FlopsPerToken is { } f && double.IsFinite(Tokens) ? f * Tokens : double.NaN;
}

/// <summary>HumanEval validity of an AR stage's model after <paramref name="Step"/> steps (<paramref name="Tokens"/> training tokens of that stage).</summary>
public sealed record CurvePoint(string Stage, long Step, double Tokens, double? Syntax, double? NonTrivial, double? ValidNll);

/// <summary>Everything the recipe report is computed from; saved as OUT/results.json (evaluations keyed by their folder).</summary>
public sealed record RecipeResults(IReadOnlyList<StageResult> Stages, IReadOnlyList<EvalResult> Evals, IReadOnlyList<CurvePoint>? Curve = null)
{
    public string ToJson() => JsonSerializer.Serialize(this, ReproResults.JsonOptions);

    public static RecipeResults FromJson(string json) => JsonSerializer.Deserialize<RecipeResults>(json, ReproResults.JsonOptions)!;

    public StageResult? Stage(string name) => Stages.FirstOrDefault(s => s.Name == name);

    public EvalResult? Eval(RecipeEval? eval) => eval is null ? null : Evals.FirstOrDefault(e => e.Run == eval.Folder);
}
