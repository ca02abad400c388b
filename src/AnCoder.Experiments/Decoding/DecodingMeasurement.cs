using System.Globalization;
using System.Text.Json;
using AnCoder.Anchoring.Settings;
using AnCoder.Diffusion.Configuration;
using AnCoder.Diffusion.Sampling;
using AnCoder.Evaluation.Benchmarks;
using AnCoder.Evaluation.Execution;
using AnCoder.Evaluation.Scoring;
using AnCoder.Experiments.Generation;
using AnCoder.Experiments.Models;

namespace AnCoder.Experiments.Decoding;

/// <summary>
/// One decoding variant of the measurement (docs/decoding.md "Measurement"): the sampler options it turns on over the
/// plain sampler. <see cref="Steps"/> overrides T (the plain baselines at equal network calls).
/// </summary>
public sealed record DecodingVariant(string Name, int Repair = 0, DecodingGuard Guard = DecodingGuard.None,
    UnmaskOrder Order = UnmaskOrder.Random, double? Parallel = null, int? Steps = null)
{
    /// <summary>The plain sampler (possibly at another T): no option of issue 17 on.</summary>
    public bool IsPlain => Repair == 0 && Guard == DecodingGuard.None && Order == UnmaskOrder.Random && Parallel is null;

    /// <summary>Prefix of the folders of the plain baselines at equal network calls: <c>plain-T{steps}</c>.</summary>
    public const string EqualCallsPrefix = "plain-T";

    /// <summary>The plain sampler at T = <paramref name="steps"/>, named <c>plain-T{steps}</c>.</summary>
    public static DecodingVariant PlainAt(int steps) => new(EqualCallsPrefix + steps.ToString(CultureInfo.InvariantCulture), Steps: steps);

    /// <summary>The sampler flags of <c>eval --model</c> that make this variant (for the report).</summary>
    public string Flags(int baseSteps)
    {
        var parts = new List<string>();
        if ((Steps ?? baseSteps) != baseSteps) parts.Add($"--steps {Steps}");
        if (Repair > 0) parts.Add($"--repair {Repair}");
        if (Guard != DecodingGuard.None) parts.Add("--guard " + SettingNames.Name(Guard));
        if (Order != UnmaskOrder.Random) parts.Add("--order " + SettingNames.Name(Order));
        if (Parallel is { } tau) parts.Add(string.Create(CultureInfo.InvariantCulture, $"--parallel {tau}"));
        return parts.Count == 0 ? "(none)" : string.Join(" ", parts);
    }

    public ModelEvalSettings Apply(ModelEvalSettings settings) =>
        settings with { Repair = Repair, Guard = Guard, Order = Order, Parallel = Parallel, Steps = Steps ?? settings.Steps };
}

/// <summary>A benchmark of the measurement and how many of its problems (the first K; null = all).</summary>
public sealed record DecodingBenchmark(BenchmarkKind Kind, int? Problems)
{
    public string Name => Kind == BenchmarkKind.HumanEval ? "humaneval" : "mbpp";
}

/// <summary>What `ancoder eval --model M --decoding` measures; defaults are the recipe experiment's evaluation (docs/recipe.md §4, §5).</summary>
public sealed record DecodingMeasurementSettings
{
    public required IReadOnlyList<DecodingBenchmark> Benchmarks { get; init; }
    /// <summary>Sampling seeds (sample j of problem p uses the stream derived from (seed, p, j)).</summary>
    public IReadOnlyList<int> Seeds { get; init; } = [0, 1, 2];
    /// <summary>T of the plain sampler and of every grid variant.</summary>
    public int Steps { get; init; } = 8;
    public int Length { get; init; } = 64;
    public double Temperature { get; init; } = 0.8;
    /// <summary>Samples per problem (pass@1 is then the share of passing samples).</summary>
    public int SamplesPerProblem { get; init; } = 1;
    /// <summary>--repair R of the repair and combined variants.</summary>
    public int RepairRounds { get; init; } = 1;
    /// <summary>--parallel τ of the parallel variant (Fast-dLLM's 0.9).</summary>
    public double ParallelThreshold { get; init; } = 0.9;
    /// <summary>Null: cap:0.1 for anchored models, none for MDLM (the model's default, as in eval --model).</summary>
    public string? Remask { get; init; }
    public int BatchSize { get; init; } = 20;
    /// <summary>A plain baseline whose network calls per sample differ from its variant's by more than this is corrected once.</summary>
    public double CallTolerance { get; init; } = 1.0;

    /// <summary>
    /// The variants, in the order they are run (plain first, then the two targets, so a measurement cut short
    /// still answers them): repair + guard, parallel, each other option alone, and the combination of the grid options
    /// (repair + guard + anchor order; parallel replaces the grid and is measured alone).
    /// </summary>
    public IReadOnlyList<DecodingVariant> Variants() =>
    [
        new("plain"),
        new("repair+guard", Repair: RepairRounds, Guard: DecodingGuard.Prefix),
        new("parallel", Parallel: ParallelThreshold),
        new("repair", Repair: RepairRounds),
        new("guard", Guard: DecodingGuard.Prefix),
        new("anchor", Order: UnmaskOrder.Anchor),
        new("combined", Repair: RepairRounds, Guard: DecodingGuard.Prefix, Order: UnmaskOrder.Anchor),
    ];

    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (Benchmarks.Count == 0) problems.Add("no benchmark given");
        if (Seeds.Count == 0) problems.Add("no seed given");
        if (Seeds.Distinct().Count() != Seeds.Count) problems.Add("a seed is given twice");
        if (RepairRounds < 1) problems.Add($"--repair ({RepairRounds}) must be at least 1 (the repair variants need it)");
        if (!(ParallelThreshold is >= 0 and <= 1)) problems.Add($"--parallel ({ParallelThreshold}) must be in [0, 1]");
        if (CallTolerance < 0) problems.Add("call tolerance must be >= 0");
        problems.AddRange(BaseEvalSettings(0).Validate());
        return problems;
    }

    /// <summary>The plain sampler's eval settings for one seed (variants apply their options on top).</summary>
    public ModelEvalSettings BaseEvalSettings(int seed) => new()
    {
        SamplesPerProblem = SamplesPerProblem, Steps = Steps, Length = Length, Temperature = Temperature, Remask = Remask,
        Seed = seed, BatchSize = BatchSize,
    };
}

/// <summary>
/// One replicate of a finished cell (benchmark × seed × variant): the samples of one sample index j (sample j of
/// problem p uses the random stream derived from (seed, p, j), so each j is an independent stream, like another seed),
/// scored from the folder's results.jsonl; the cost (forward rows and sampling seconds per sample, guard redraws,
/// repaired canvases) is the cell's, from its decoding.json, shared by its replicates.
/// </summary>
public sealed record DecodingCell(string Benchmark, int Seed, int SampleIndex, string Variant, int Samples, double SyntaxValidity, double NonTrivialValidity,
    double PassAt1, double NetworkRowsPerSample, double SamplingSecondsPerSample, double GuardResamplesPerSample, double RepairedPerSample)
{
    /// <summary>The replicate's name in tables: s{seed}/j{index}.</summary>
    public string Replicate => string.Create(CultureInfo.InvariantCulture, $"s{Seed}/j{SampleIndex}");
}

/// <summary>Where the measurement is (for a progress bar): the cell, its place, and its samples.</summary>
public sealed record DecodingProgress(string Cell, int CellIndex, int CellsPlanned, int SamplesDone, int SamplesTotal, bool Reused);

/// <summary>
/// `ancoder eval --model M --decoding` (issue 17 item 5): every decoding variant of <see cref="DecodingMeasurementSettings"/> on
/// each benchmark and seed, one <see cref="ModelEvaluation"/> results folder per cell
/// (<c>OUT/&lt;benchmark&gt;/s&lt;seed&gt;/&lt;variant&gt;</c>), then a plain baseline at equal network calls for every
/// variant that spends more calls than plain (<see cref="EqualCallsSteps"/>). Resumable: a cell whose folder holds
/// all its samples and a decoding.json over all of them is not redone (it is only re-summarised, which also checks
/// that its settings are the ones asked for); a cell that was interrupted is cleared and made again in one go, so its
/// decoding.json (cost counters of one invocation) covers every sample.
/// </summary>
public static class DecodingMeasurement
{
    public const string ReportFileName = "DECODING.md";

    public static string CellDirectory(string output, string benchmark, int seed, string variant) =>
        Path.Combine(output, benchmark, "s" + seed.ToString(CultureInfo.InvariantCulture), variant);

    /// <summary>
    /// T of the plain baseline that spends as many network calls per sample as a variant: the plain sampler's T plus
    /// the variant's extra forward rows per sample over plain, rounded to the nearest step (at least one more step).
    /// A grid step of the plain sampler costs one forward row per canvas when it reveals something (caching skips the
    /// others), so rows grow by about one per added step; <see cref="CorrectedSteps"/> fixes the rest.
    /// </summary>
    public static int EqualCallsSteps(int plainSteps, double plainRows, double variantRows) =>
        plainSteps + Math.Max(1, (int)Math.Round(variantRows - plainRows, MidpointRounding.AwayFromZero));

    /// <summary>
    /// The second try when the first baseline at <paramref name="triedSteps"/> spent <paramref name="triedRows"/> rows
    /// instead of <paramref name="variantRows"/>: move T by the remaining difference (rounded), never below 1.
    /// </summary>
    public static int CorrectedSteps(int triedSteps, double triedRows, double variantRows) =>
        Math.Max(1, triedSteps + (int)Math.Round(variantRows - triedRows, MidpointRounding.AwayFromZero));

    /// <summary>
    /// Among a seed's plain baselines (<c>plain-T*</c> cells and plain itself), the one whose network rows per sample
    /// are closest to the variant's (ties: the fewer rows). Null when there is none.
    /// </summary>
    public static DecodingCell? EqualCallsBaseline(IEnumerable<DecodingCell> seedCells, DecodingCell variant) =>
        seedCells.Where(c => c.Variant == "plain" || c.Variant.StartsWith(DecodingVariant.EqualCallsPrefix, StringComparison.Ordinal))
            .OrderBy(c => Math.Abs(c.NetworkRowsPerSample - variant.NetworkRowsPerSample)).ThenBy(c => c.NetworkRowsPerSample)
            .FirstOrDefault();

    /// <summary>Runs every missing cell; returns all cells (also the reused ones). Throws <see cref="ModelEvalException"/> for a bad setting.</summary>
    public static IReadOnlyList<DecodingCell> Run(LoadedModel model, string modelName, IReadOnlyDictionary<BenchmarkKind, Benchmark> benchmarks,
        DecodingMeasurementSettings settings, Precision precision, string output, PythonSandbox sandbox,
        Action<DecodingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var invalid = settings.Validate();
        if (invalid.Count > 0) throw new ModelEvalException(string.Join("; ", invalid));
        var variants = settings.Variants();
        var cells = new List<DecodingCell>();
        // Planned: the fixed variants, plus one baseline per seed and benchmark (more when the repair variants differ in calls).
        int planned = settings.Seeds.Count * settings.Benchmarks.Count * (variants.Count + 1), index = 0;
        foreach (int seed in settings.Seeds)
            foreach (var bench in settings.Benchmarks)
            {
                var benchmark = ModelEvaluation.Limit(benchmarks[bench.Kind], bench.Problems);
                IReadOnlyList<DecodingCell> RunOne(DecodingVariant variant)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    string label = $"{bench.Name} s{seed} {variant.Name}";
                    int cellIndex = ++index;
                    planned = Math.Max(planned, cellIndex);
                    var cell = RunCell(model, modelName, benchmark, bench, seed, variant, settings, precision, output, sandbox,
                        (done, total, reused) => progress?.Invoke(new DecodingProgress(label, cellIndex, planned, done, total, reused)), cancellationToken);
                    cells.AddRange(cell);
                    return cell;
                }
                // Each variant, then (when it spends more calls than plain) its plain baseline at equal calls. The cost
                // is the cell's (every replicate of a cell carries it): the first replicate stands for the cell.
                DecodingCell? plain = null;
                foreach (var variant in variants)
                {
                    var cell = RunOne(variant)[0];
                    plain ??= cell;
                    if (variant.IsPlain || cell.NetworkRowsPerSample <= plain.NetworkRowsPerSample + settings.CallTolerance / 2) continue;
                    DecodingCell? Baseline(int steps) =>
                        cells.FirstOrDefault(c => c.Benchmark == bench.Name && c.Seed == seed && c.Variant == DecodingVariant.PlainAt(steps).Name);
                    var best = EqualCallsBaseline(cells.Where(c => c.Benchmark == bench.Name && c.Seed == seed && c.SampleIndex == 0), cell);
                    if (best is not null && Math.Abs(best.NetworkRowsPerSample - cell.NetworkRowsPerSample) <= settings.CallTolerance) continue;
                    int steps = EqualCallsSteps(settings.Steps, plain.NetworkRowsPerSample, cell.NetworkRowsPerSample);
                    var first = Baseline(steps) ?? RunOne(DecodingVariant.PlainAt(steps))[0];
                    if (Math.Abs(first.NetworkRowsPerSample - cell.NetworkRowsPerSample) <= settings.CallTolerance) continue;
                    int corrected = CorrectedSteps(steps, first.NetworkRowsPerSample, cell.NetworkRowsPerSample);
                    if (corrected != steps && Baseline(corrected) is null) RunOne(DecodingVariant.PlainAt(corrected));
                }
            }
        return cells;
    }

    private static IReadOnlyList<DecodingCell> RunCell(LoadedModel model, string modelName, Benchmark benchmark, DecodingBenchmark bench, int seed, DecodingVariant variant,
        DecodingMeasurementSettings settings, Precision precision, string output, PythonSandbox sandbox, Action<int, int, bool> progress,
        CancellationToken cancellationToken)
    {
        string directory = CellDirectory(output, bench.Name, seed, variant.Name);
        var evalSettings = variant.Apply(settings.BaseEvalSettings(seed)) with { Limit = bench.Problems };
        int total = benchmark.Problems.Count * settings.SamplesPerProblem;
        bool reused = IsComplete(directory, total);
        // Cut short: its samples are made again in one go, so that decoding.json counts them all. generation.json stays,
        // so a folder made with other settings is still refused (ModelEvaluation's check) rather than overwritten.
        if (!reused && Directory.Exists(directory))
            foreach (var name in new[] { ModelEvaluation.ResultsFileName, ModelEvaluation.SummaryFileName, ModelEvaluation.DecodingFileName })
                File.Delete(Path.Combine(directory, name));
        progress(reused ? total : 0, total, reused);
        // A complete folder generates nothing here: Run only checks its settings (generation.json) and re-summarises it.
        ModelEvaluation.Run(model, modelName, benchmark, evalSettings, precision, directory, sandbox, done => progress(done, total, reused), cancellationToken);
        var cells = ReadCell(directory, bench.Name, seed, variant.Name);
        return cells.Count > 0 ? cells : throw new ModelEvalException($"{directory}: no complete summary.json and decoding.json after the run");
    }

    /// <summary>
    /// Whether a cell folder holds all <paramref name="samples"/> samples (results.jsonl and summary.json) and a
    /// decoding.json counted over all of them.
    /// </summary>
    public static bool IsComplete(string directory, int samples)
    {
        var summary = ModelEvaluation.ReadSummary(directory);
        var decoding = ReadDecoding(directory);
        string results = Path.Combine(directory, ModelEvaluation.ResultsFileName);
        return summary is not null && summary.Samples == samples && decoding is not null && decoding.Value.SamplesGenerated == samples
               && File.Exists(results) && ResultsJournal.Read(results).Select(r => (r.TaskId, r.SampleIndex)).Distinct().Count() == samples;
    }

    private readonly record struct DecodingCounts(int SamplesGenerated, double RowsPerSample, double SecondsPerSample, double GuardResamplesPerSample, int RepairedCanvases);

    private static DecodingCounts? ReadDecoding(string directory)
    {
        string path = Path.Combine(directory, ModelEvaluation.DecodingFileName);
        if (!File.Exists(path)) return null;
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(path));
            var root = document.RootElement;
            double Number(string name) => root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetDouble() : 0;
            return new DecodingCounts((int)Number("samples_generated"), Number("network_rows_per_sample"), Number("sampling_seconds_per_sample"),
                Number("guard_resamples_per_sample"), (int)Number("repaired_canvases"));
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// A finished cell's replicates (one per sample index in results.jsonl), or none when summary.json, decoding.json or
    /// results.jsonl is missing.
    /// </summary>
    public static IReadOnlyList<DecodingCell> ReadCell(string directory, string benchmark, int seed, string variant)
    {
        var summary = ModelEvaluation.ReadSummary(directory);
        var decoding = ReadDecoding(directory);
        string resultsPath = Path.Combine(directory, ModelEvaluation.ResultsFileName);
        if (summary is null || decoding is not { } d || !File.Exists(resultsPath)) return [];
        var results = ResultsJournal.Read(resultsPath);
        return results.GroupBy(r => r.SampleIndex).OrderBy(g => g.Key).Select(g =>
        {
            var replicate = EvaluationSummary.From(benchmark, g.Count(), g);
            return new DecodingCell(benchmark, seed, g.Key, variant, replicate.Samples, replicate.SyntaxValidity ?? double.NaN,
                replicate.NonTrivialValidity ?? double.NaN, replicate.PassAtK.TryGetValue("pass@1", out var pass) && pass is { } p ? p : double.NaN,
                d.RowsPerSample, d.SecondsPerSample, d.GuardResamplesPerSample, d.SamplesGenerated == 0 ? 0 : d.RepairedCanvases / (double)d.SamplesGenerated);
        }).ToList();
    }

    /// <summary>Every finished cell under <paramref name="output"/> (<c>&lt;benchmark&gt;/s&lt;seed&gt;/&lt;variant&gt;</c>), in path order.</summary>
    public static IReadOnlyList<DecodingCell> ReadAll(string output)
    {
        var cells = new List<DecodingCell>();
        if (!Directory.Exists(output)) return cells;
        foreach (var benchDirectory in Directory.GetDirectories(output).Order(StringComparer.Ordinal))
            foreach (var seedDirectory in Directory.GetDirectories(benchDirectory).Order(StringComparer.Ordinal))
            {
                string seedName = Path.GetFileName(seedDirectory);
                if (!seedName.StartsWith('s') || !int.TryParse(seedName[1..], NumberStyles.Integer, CultureInfo.InvariantCulture, out int seed)) continue;
                foreach (var cellDirectory in Directory.GetDirectories(seedDirectory).Order(StringComparer.Ordinal))
                    cells.AddRange(ReadCell(cellDirectory, Path.GetFileName(benchDirectory), seed, Path.GetFileName(cellDirectory)));
            }
        return cells;
    }
}
