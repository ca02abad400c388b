using System.Globalization;
using AnCoder.Anchoring.Settings;
using AnCoder.Diffusion.Configuration;
using System.Text.Json;
using System.Text.Json.Serialization;
using AnCoder.Experiments.Models;
using AnCoder.Experiments.Probing;
using AnCoder.Diffusion.Sampling;
using AnCoder.Evaluation.Benchmarks;
using AnCoder.Evaluation.Execution;
using AnCoder.Evaluation.Generation;
using AnCoder.Evaluation.Scoring;

namespace AnCoder.Experiments.Generation;

/// <summary>How a model's completions are generated for a benchmark (docs/algorithms.md §7, §9).</summary>
public sealed record ModelEvalSettings
{
    /// <summary>n samples per problem (§9: HumanEval 20, MBPP 10).</summary>
    public required int SamplesPerProblem { get; init; }
    /// <summary>Reverse steps T.</summary>
    public int Steps { get; init; } = 128;
    /// <summary>Generation length G (masks appended to the prompt).</summary>
    public int Length { get; init; } = 128;
    public double Temperature { get; init; } = 0.8;
    /// <summary>null: cap:0.1 for anchored models, none for MDLM.</summary>
    public string? Remask { get; init; }
    /// <summary>Only the first K problems of the benchmark (null = all).</summary>
    public int? Limit { get; init; }
    public int Seed { get; init; }
    /// <summary>Canvases per forward pass.</summary>
    public int BatchSize { get; init; } = 20;
    /// <summary>Which masked positions a step unmasks (<see cref="UnmaskOrder"/>).</summary>
    public UnmaskOrder Order { get; init; } = UnmaskOrder.Random;
    /// <summary>Confidence-parallel threshold τ (<see cref="SamplerOptions.ParallelThreshold"/>); null = the time grid.</summary>
    public double? Parallel { get; init; }
    /// <summary>Syntax-repair rounds (<see cref="SamplerOptions.RepairRounds"/>; 0 = off).</summary>
    public int Repair { get; init; }
    /// <summary>Decoding guard (<see cref="SamplerOptions.Guard"/>; none = off).</summary>
    public DecodingGuard Guard { get; init; }
    /// <summary>Nucleus top-p (1 = the full distribution, the paper's diffusion sampling; the recipe's AR rows use 0.95).</summary>
    public double TopP { get; init; } = 1.0;
    /// <summary>CTRL repetition penalty θ (<see cref="AutoregressiveOptions.RepetitionPenalty"/>, <see cref="SamplerOptions.RepetitionPenalty"/>; 1 = off).</summary>
    public double RepetitionPenalty { get; init; } = 1.0;
    /// <summary>Frequency penalty α (<see cref="AutoregressiveOptions.FrequencyPenalty"/>, <see cref="SamplerOptions.FrequencyPenalty"/>; 0 = off).</summary>
    public double FrequencyPenalty { get; init; }

    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (SamplesPerProblem < 1) problems.Add($"--n ({SamplesPerProblem}) must be at least 1");
        if (Steps < 1) problems.Add($"--steps ({Steps}) must be at least 1");
        if (Length < 1) problems.Add($"--length ({Length}) must be at least 1");
        if (Limit is < 1) problems.Add($"--limit ({Limit}) must be at least 1");
        if (BatchSize < 1) problems.Add($"--batch ({BatchSize}) must be at least 1");
        if (Repair < 0) problems.Add($"--repair ({Repair}) must be >= 0");
        if (!(TopP > 0 && TopP <= 1)) problems.Add($"top-p ({TopP}) must be in (0, 1]");
        if (!(RepetitionPenalty >= 1) || double.IsInfinity(RepetitionPenalty)) problems.Add($"--repetition-penalty ({RepetitionPenalty}) must be a number >= 1 (1 = off)");
        if (!(FrequencyPenalty >= 0) || double.IsInfinity(FrequencyPenalty)) problems.Add($"--frequency-penalty ({FrequencyPenalty}) must be a number >= 0 (0 = off)");
        return problems;
    }
}

/// <summary>A results folder that holds samples made with other settings, or a bad settings value: one line for the user.</summary>
public sealed class ModelEvalException(string message) : Exception(message);

/// <summary>
/// What identifies the samples in a results folder: a resumed run must use the same model and sampler settings (n and
/// the problem limit may change: they only select which samples are wanted). Written as generation.json.
/// </summary>
public sealed record GenerationIdentity(
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("benchmark")] string Benchmark,
    [property: JsonPropertyName("steps")] int Steps,
    [property: JsonPropertyName("length")] int Length,
    [property: JsonPropertyName("temperature")] double Temperature,
    [property: JsonPropertyName("remask")] string Remask,
    [property: JsonPropertyName("schedule")] string Schedule,
    [property: JsonPropertyName("seed")] int Seed,
    [property: JsonPropertyName("precision")] string Precision,
    [property: JsonPropertyName("order")] string Order = "random",
    [property: JsonPropertyName("parallel")] double? Parallel = null,
    [property: JsonPropertyName("repair")] int Repair = 0,
    [property: JsonPropertyName("guard")] string Guard = "none",
    [property: JsonPropertyName("top_p")] double TopP = 1.0,
    [property: JsonPropertyName("repetition_penalty")] double RepetitionPenalty = 1.0,
    [property: JsonPropertyName("frequency_penalty")] double FrequencyPenalty = 0);

/// <summary>
/// Generate-and-score of one model on one benchmark, resumable: results.jsonl (one line per scored sample, kept across
/// runs), generation.json (the settings, checked on resume) and summary.json (over the first K problems × n samples).
/// </summary>
public static class ModelEvaluation
{
    public const string ResultsFileName = "results.jsonl";
    public const string SummaryFileName = "summary.json";
    public const string SettingsFileName = "generation.json";

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>The benchmark restricted to its first <paramref name="limit"/> problems (all when null).</summary>
    public static Benchmark Limit(Benchmark benchmark, int? limit) =>
        limit is { } k && k < benchmark.Problems.Count ? new Benchmark(benchmark.Kind, benchmark.Problems.Take(k).ToList()) : benchmark;

    /// <summary>The sampler options: the model's defaults (remasking by architecture, its schedule) with T and τ.</summary>
    public static SamplerOptions SamplerOptions(LoadedModel model, ModelEvalSettings settings)
    {
        SamplerOptions options;
        try
        {
            options = model.DefaultOptions(settings.Remask, settings.Parallel) with { Steps = settings.Steps, Temperature = settings.Temperature, Order = settings.Order, RepairRounds = settings.Repair, Guard = settings.Guard, TopP = settings.TopP, RepetitionPenalty = settings.RepetitionPenalty, FrequencyPenalty = settings.FrequencyPenalty };
        }
        catch (FormatException e)
        {
            throw new ModelEvalException(e.Message);
        }
        var problems = options.Validate();
        if (problems.Count > 0) throw new ModelEvalException(string.Join("; ", problems));
        return options;
    }

    /// <summary>
    /// Generates the samples of the first K problems that results.jsonl in <paramref name="outputDirectory"/> does not
    /// hold yet, scores them as they come, and returns the summary of the wanted samples (also written to summary.json).
    /// <paramref name="samplesDone"/> receives the number of wanted samples done (synchronously).
    /// </summary>
    public static EvaluationSummary Run(LoadedModel model, string modelName, Benchmark fullBenchmark, ModelEvalSettings settings,
        Precision precision, string outputDirectory, PythonSandbox sandbox, Action<int>? samplesDone = null, CancellationToken cancellationToken = default)
    {
        var invalid = settings.Validate();
        if (invalid.Count > 0) throw new ModelEvalException(string.Join("; ", invalid));
        var options = SamplerOptions(model, settings);
        var benchmark = Limit(fullBenchmark, settings.Limit);
        Directory.CreateDirectory(outputDirectory);
        var identity = new GenerationIdentity(modelName, benchmark.Name, settings.Steps, settings.Length, settings.Temperature,
            options.Remask.ToString(), SettingNames.Name(options.Schedule), settings.Seed, SettingNames.Name(precision),
            SettingNames.Name(settings.Order), settings.Parallel, settings.Repair, SettingNames.Name(settings.Guard), settings.TopP, settings.RepetitionPenalty, settings.FrequencyPenalty);
        CheckOrWriteIdentity(Path.Combine(outputDirectory, SettingsFileName), identity);

        var evaluator = new Evaluator(benchmark, sandbox, new AnCoderSyntaxChecker());
        using var journal = ResultsJournal.Open(Path.Combine(outputDirectory, ResultsFileName), resume: true);
        var problemIndex = fullBenchmark.Problems.Select((p, i) => (p.Prompt, i)).GroupBy(x => x.Prompt).ToDictionary(g => g.Key, g => g.First().i);
        int n = settings.SamplesPerProblem;
        IReadOnlyList<string> stopSequences = benchmark.Kind == BenchmarkKind.HumanEval ? CompletionPostProcessor.HumanEvalStopSequences : [];
        var generator = new SamplerCompletionGenerator(model, options, settings.Length, settings.Seed, settings.BatchSize, (prompt, _) =>
        {
            int index = problemIndex[prompt];
            string taskId = fullBenchmark.Problems[index].TaskId;
            // The same selection GenerationRun makes: the indices below n not yet in the journal, in increasing order.
            return (index, Enumerable.Range(0, n).Where(j => !journal.Contains(taskId, j)).ToList());
        }, stopSequences)
        {
            StopSequences = stopSequences,
        };
        var wanted = benchmark.Problems.SelectMany(p => Enumerable.Range(0, n).Select(j => (p.TaskId, j))).ToHashSet();
        int Done() => journal.Results.Count(r => wanted.Contains((r.TaskId, r.SampleIndex)));
        var progress = new SynchronousProgress(_ => samplesDone?.Invoke(Done()));
        GenerationRun.RunAsync(evaluator, generator, n, journal, progress, cancellationToken).GetAwaiter().GetResult();

        var summary = EvaluationSummary.From(benchmark.Name, benchmark.Problems.Count, journal.Results.Where(r => wanted.Contains((r.TaskId, r.SampleIndex))));
        ResultsJournal.WritePrivate(Path.Combine(outputDirectory, SummaryFileName), JsonSerializer.Serialize(summary, Indented));
        WriteDecodingCounts(outputDirectory, generator);
        return summary;
    }

    public const string DecodingFileName = "decoding.json";

    /// <summary>
    /// decoding.json: the sampler's cost and the viable-prefix guard's counters over the samples this invocation
    /// generated (a resumed run counts only its own samples; nothing generated: not written), in total and per sample.
    /// Forward rows per sample is the network-call measure of docs/decoding.md (one row = one canvas through the
    /// network; calls batch rows).
    /// </summary>
    private static void WriteDecodingCounts(string outputDirectory, SamplerCompletionGenerator generator)
    {
        int samples = generator.SamplesGenerated;
        if (samples == 0) return;
        var guard = generator.GuardTotals;
        double PerSample(double count) => Math.Round(count / samples, 3);
        var counts = new Dictionary<string, object>
        {
            ["samples_generated"] = samples,
            ["network_calls"] = generator.NetworkCalls, ["network_rows"] = generator.NetworkRows,
            ["network_rows_per_sample"] = PerSample(generator.NetworkRows),
            ["sampling_seconds_per_sample"] = PerSample(generator.SamplingSeconds),
            ["guard_checks"] = guard.Checks, ["guard_resamples"] = guard.Resamples, ["guard_failures"] = guard.Failures,
            ["guard_checks_per_sample"] = PerSample(guard.Checks), ["guard_resamples_per_sample"] = PerSample(guard.Resamples),
            ["guard_failures_per_sample"] = PerSample(guard.Failures),
            ["repaired_canvases"] = generator.RepairedCanvases,
        };
        ResultsJournal.WritePrivate(Path.Combine(outputDirectory, DecodingFileName), JsonSerializer.Serialize(counts, Indented));
    }

    /// <summary>Reads a results folder's summary.json, or null when there is none (or it is unreadable).</summary>
    public static EvaluationSummary? ReadSummary(string outputDirectory)
    {
        string path = Path.Combine(outputDirectory, SummaryFileName);
        if (!File.Exists(path)) return null;
        try
        {
            return JsonSerializer.Deserialize<EvaluationSummary>(File.ReadAllText(path));
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static void CheckOrWriteIdentity(string path, GenerationIdentity identity)
    {
        if (File.Exists(path))
        {
            GenerationIdentity? stored;
            try
            {
                stored = JsonSerializer.Deserialize<GenerationIdentity>(File.ReadAllText(path));
            }
            catch (JsonException e)
            {
                throw new ModelEvalException($"{path}: unreadable ({e.Message}); delete the results folder or choose another --out");
            }
            if (stored is not null && stored != identity)
            {
                string field = Differences(stored, identity);
                throw new ModelEvalException($"{path}: the results folder holds samples made with other settings ({field}); choose another --out");
            }
            if (stored is not null) return;
        }
        File.WriteAllText(path, JsonSerializer.Serialize(identity, Indented));
    }

    private static string Differences(GenerationIdentity stored, GenerationIdentity now)
    {
        var pairs = new (string Name, object Old, object New)[]
        {
            ("model", stored.Model, now.Model), ("benchmark", stored.Benchmark, now.Benchmark), ("steps", stored.Steps, now.Steps),
            ("length", stored.Length, now.Length), ("temperature", stored.Temperature, now.Temperature), ("remask", stored.Remask, now.Remask),
            ("schedule", stored.Schedule, now.Schedule), ("seed", stored.Seed, now.Seed), ("precision", stored.Precision, now.Precision),
            ("order", stored.Order, now.Order), ("parallel", (object?)stored.Parallel ?? "off", (object?)now.Parallel ?? "off"),
            ("repair", stored.Repair, now.Repair), ("guard", stored.Guard, now.Guard), ("top_p", stored.TopP, now.TopP),
        };
        return string.Join(", ", pairs.Where(p => !Equals(p.Old, p.New))
            .Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Name} {p.Old} there, {p.New} now")));
    }

    /// <summary>Progress&lt;T&gt; posts to the thread pool; the bars want the value now.</summary>
    private sealed class SynchronousProgress(Action<int> report) : IProgress<int>
    {
        public void Report(int value) => report(value);
    }
}
