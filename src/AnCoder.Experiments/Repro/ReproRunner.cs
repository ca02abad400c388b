using AnCoder.Anchoring.Runs;
using System.Text.Json;
using AnCoder.Anchoring.Corpus;
using AnCoder.Anchoring.Labels;
using AnCoder.Experiments.Models;
using AnCoder.Experiments.Probing;
using AnCoder.Experiments.Generation;
using AnCoder.Reporting.Plotting;
using AnCoder.Diffusion.Configuration;
using AnCoder.Diffusion.Training;
using AnCoder.Evaluation.Benchmarks;
using AnCoder.Evaluation.Execution;
using AnCoder.Evaluation.Scoring;

namespace AnCoder.Experiments.Repro;

/// <summary>What the driver tells its user (the command shows progress bars; tests collect lines).</summary>
public interface IReproProgress
{
    void Message(string line);
    /// <summary>A phase with <paramref name="total"/> units starts (a training run's steps, an evaluation's samples).</summary>
    void Begin(string description, long total);
    void Advance(long done);
    void End();
}

/// <summary>How the experiment ended.</summary>
public enum ReproOutcome { Completed, Interrupted }

/// <summary>
/// Executes a <see cref="ReproPlan"/> in-process: trains each run into OUT/runs/NAME with <see cref="TrainingRun.Run"/>
/// (a run whose final model exists is skipped, an interrupted one resumes from its newest checkpoint), evaluates each
/// final model with <see cref="ModelEvaluation"/> (resumable journals), collects results.json and writes REPORT.md.
/// </summary>
public static class ReproRunner
{
    public const string PlanFileName = "plan.json";
    public const string ConfigFileName = "config.json";
    public const string RunsFolder = "runs";

    public static ReproOutcome Run(ReproConfig config, string outputDirectory, string commandLine, IReproProgress progress,
        CancellationToken cancellation = default, string? benchmarkData = null, RecipeWorkerOptions? recipeWorker = null, TorchEngineOptions? torch = null)
    {
        var problems = config.Validate();
        if (problems.Count > 0) throw new ConfigException(string.Join("; ", problems));
        string output = Path.GetFullPath(outputDirectory);
        string data = Path.GetFullPath(config.Training.Data ?? RepositoryPaths.DefaultPreparedData);
        if (CorpusBuilder.TryReadManifest(data) is null)
            throw new ConfigException($"data: {data} holds no {CorpusBuilder.ManifestFile} (run `ancoder prepare`, or set \"data\" in the config)");
        Directory.CreateDirectory(output);
        config = config with { Training = config.Training with { Data = data } };
        if (config.Recipe is { SftData: { } sft } recipe) config = config with { Recipe = recipe with { SftData = Path.GetFullPath(sft) } };
        // Evaluation runs in this process after training: same thread count (TrainingRun sets it only for runs it trains).
        if (config.Training.Threads > 0) TorchSharp.torch.set_num_threads(config.Training.Threads);
        RunPlots.WriteAtomically(Path.Combine(output, ConfigFileName), System.Text.Encoding.UTF8.GetBytes(config.ToJson() + "\n"));
        if (config.Recipe is not null) return RecipeRunner.Run(config, output, commandLine, progress, cancellation, benchmarkData, recipeWorker, torch);

        // Benchmarks first: a missing dataset should stop the experiment before hours of training, not after.
        var benchmarks = LoadBenchmarks(config, benchmarkData);
        var plan = new ReproPlan(config);
        long steps = StepsPerRun(config, plan, output, progress, cancellation, torch);
        if (cancellation.IsCancellationRequested) return ReproOutcome.Interrupted;

        foreach (var run in plan.Runs)
        {
            if (cancellation.IsCancellationRequested) return ReproOutcome.Interrupted;
            if (!Train(config, run, steps, output, progress, cancellation, torch)) return ReproOutcome.Interrupted;
        }
        if (config.Training.Threads > 0) TorchSharp.torch.set_num_threads(config.Training.Threads);

        using (var sandbox = PythonSandbox.Create(SandboxOptions.ForEvaluation(Environment.ProcessorCount, config.Timeout)))
        {
            foreach (var group in plan.Evals.GroupBy(e => e.Run))
            {
                if (cancellation.IsCancellationRequested) return ReproOutcome.Interrupted;
                Evaluate(config, group.Key, group.ToList(), benchmarks, output, sandbox, progress, cancellation);
            }
        }
        if (cancellation.IsCancellationRequested) return ReproOutcome.Interrupted;
        foreach (var run in ProbeRuns(config, plan))
        {
            if (cancellation.IsCancellationRequested) return ReproOutcome.Interrupted;
            Probe(config, run, output, progress);
        }
        if (cancellation.IsCancellationRequested) return ReproOutcome.Interrupted;

        var results = Collect(plan, steps, output, benchmarks);
        File.WriteAllText(Path.Combine(output, ReproResults.FileName), results.ToJson() + "\n");
        var written = ReproReport.Write(output, config, plan, results, commandLine);
        foreach (var warning in written.Warnings) progress.Message("report: " + warning);
        return ReproOutcome.Completed;
    }

    /// <summary>The training config of one planned run (everything but strategy, anchor settings and seed is shared).</summary>
    public static TrainingConfig TrainingConfigFor(ReproConfig config, PlannedRun run, long steps, string output) => config.Training with
    {
        Strategy = run.Strategy, Output = Path.Combine(output, RunsFolder, run.Name), MaxSteps = steps, MaxTokens = null, Seed = run.Seed,
        AnchorLambda = run.Strategy is AnchorStrategy.Mdlm or AnchorStrategy.Null ? null : run.Lambda,
        AnchorRho = run.Strategy == AnchorStrategy.AnchorTree ? run.Rho : null,
        AnchorD0 = run.Strategy == AnchorStrategy.AnchorTree ? run.D0 : null,
    };

    /// <summary>
    /// Steps per run: the config's, else the ones an earlier invocation derived (plan.json), else timed: a few steps of
    /// the costliest variant (anchored when any) are run and the training share of the budget is divided evenly
    /// among the planned runs.
    /// </summary>
    private static long StepsPerRun(ReproConfig config, ReproPlan plan, string output, IReproProgress progress, CancellationToken cancellation, TorchEngineOptions? torch)
    {
        string planFile = Path.Combine(output, PlanFileName);
        if (config.Steps is { } fixedSteps)
        {
            WritePlan(planFile, plan, fixedSteps, null);
            return fixedSteps;
        }
        if (File.Exists(planFile))
        {
            try
            {
                using var document = JsonDocument.Parse(File.ReadAllText(planFile));
                long stored = document.RootElement.GetProperty("steps_per_run").GetInt64();
                progress.Message($"steps per run: {stored} (from {planFile})");
                return stored;
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
            {
                throw new ConfigException($"{planFile}: unreadable ({e.Message}); delete it to time the steps again");
            }
        }
        var strategy = plan.Runs.Select(r => r.Strategy).FirstOrDefault(s => s != AnchorStrategy.Mdlm, AnchorStrategy.Mdlm);
        string calibration = Path.Combine(output, "calibration");
        if (Directory.Exists(calibration)) Directory.Delete(calibration, recursive: true);
        var probe = new PlannedRun("calibration", strategy, 0, 0.03, 0.8, 2);
        var calibrationConfig = TrainingConfigFor(config, probe, config.CalibrationSteps + 1, output) with
        {
            Output = calibration, LogInterval = 1, ValidationInterval = 0, ValidationBatches = 0, CheckpointInterval = 0,
        };
        var timer = new StepTimer();
        progress.Begin($"timing {config.CalibrationSteps + 1} steps of {AnchorWeightOptions.Name(strategy)}", config.CalibrationSteps + 1);
        TrainStage(calibrationConfig, torch, timer, cancellation, resume: false); // the engine that trains the runs is the one timed
        progress.End();
        Directory.Delete(calibration, recursive: true);
        double secondsPerStep = timer.SecondsPerStep;
        double perRun = config.BudgetMinutes * 60 * config.TrainShare / plan.Runs.Count;
        long steps = Math.Max(1, (long)Math.Floor(perRun / secondsPerStep));
        progress.Message($"{secondsPerStep:F3} s per step; {plan.Runs.Count} runs × {perRun / 60:F1} min → {steps} steps per run");
        WritePlan(planFile, plan, steps, secondsPerStep);
        return steps;
    }

    private static void WritePlan(string path, ReproPlan plan, long steps, double? secondsPerStep)
    {
        var document = new
        {
            steps_per_run = steps,
            seconds_per_step = secondsPerStep,
            runs = plan.Runs.Select(r => new { name = r.Name, strategy = r.Strategy, seed = r.Seed, lambda = r.Lambda, rho = r.Rho, d0 = r.D0 }),
            evals = plan.Evals.Select(e => new { run = e.Run, benchmark = e.Benchmark, steps = e.Steps, problems = e.Problems, n = e.N, folder = e.Folder }),
        };
        File.WriteAllText(path, JsonSerializer.Serialize(document, new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    /// <summary>Trains one run unless its final model exists; false when interrupted.</summary>
    private static bool Train(ReproConfig config, PlannedRun run, long steps, string output, IReproProgress progress, CancellationToken cancellation, TorchEngineOptions? torch)
    {
        var trainingConfig = TrainingConfigFor(config, run, steps, output);
        string model = Path.Combine(trainingConfig.Output!, TrainingRun.FinalModelDirectory);
        if (File.Exists(Path.Combine(model, "model.safetensors")))
        {
            progress.Message($"{run.Name}: trained (model exists), skipped");
            return true;
        }
        progress.Begin($"train {run.Name}", steps);
        TrainingSummary summary;
        try
        {
            summary = TrainStage(trainingConfig, torch, new StepForwarder(progress), cancellation);
        }
        finally
        {
            progress.End();
        }
        switch (summary.Status)
        {
            case TrainingStatus.Interrupted:
                progress.Message($"{run.Name}: {summary.Message}");
                return false;
            case TrainingStatus.Diverged:
                progress.Message($"{run.Name}: diverged ({summary.Message}); its evaluations are skipped");
                return true;
            default:
                progress.Message($"{run.Name}: {summary.Message}" + (summary.LastValidNelbo is { } v ? $", valid NELBO {v:F4}" : ""));
                return true;
        }
    }

    /// <summary>
    /// One training run in the C# trainer (this process) or, with <paramref name="torch"/>, in the PyTorch engine (as
    /// <c>ancoder train --engine torch</c>: the same config, run folder and checkpoint folders); resumes by default.
    /// </summary>
    internal static TrainingSummary TrainStage(TrainingConfig config, TorchEngineOptions? torch, ITrainingObserver observer,
        CancellationToken cancellation, bool resume = true) => torch is null
        ? TrainingRun.Run(config, observer, cancellation, resume)
        : TorchEngine.Train(config, torch, observer, cancellation, resume);

    /// <summary>The benchmarks a repro config evaluates (from-scratch and recipe experiments); a missing dataset is a <see cref="ConfigException"/>.</summary>
    internal static Dictionary<string, Benchmark> LoadBenchmarks(ReproConfig config, string? benchmarkData)
    {
        var benchmarks = new Dictionary<string, Benchmark>();
        if (config.HumanevalProblems == 0 && config.MbppProblems == 0) return benchmarks;
        try
        {
            string directory = DatasetLocator.Require(benchmarkData);
            if (config.HumanevalProblems > 0) benchmarks["humaneval"] = BenchmarkLoader.Load(BenchmarkKind.HumanEval, directory);
            if (config.MbppProblems > 0) benchmarks["mbpp"] = BenchmarkLoader.Load(BenchmarkKind.Mbpp, directory);
        }
        catch (BenchmarkDataException e)
        {
            throw new ConfigException(e.Message);
        }
        return benchmarks;
    }

    /// <summary>
    /// The generation settings of one evaluation of the from-scratch experiment: the config's τ, order and decoding
    /// options; remasking none for MDLM (the paper's baseline) and under confidence-parallel steps, else anchored_remask.
    /// </summary>
    internal static ModelEvalSettings SettingsFor(ReproConfig config, PlannedEval eval, bool mdlm) => new()
    {
        SamplesPerProblem = eval.N, Steps = eval.Steps, Length = config.EvalLength, Temperature = config.Temperature,
        Remask = mdlm || config.EvalParallel is not null ? "none" : config.AnchoredRemask, Limit = eval.Problems, Seed = config.EvalSeed,
        BatchSize = config.EvalBatch, Order = config.EvalOrder,
        Parallel = config.EvalParallel, Repair = config.EvalRepair, Guard = config.EvalGuard,
        RepetitionPenalty = config.EvalRepetitionPenalty, FrequencyPenalty = config.EvalFrequencyPenalty,
    };

    private static void Evaluate(ReproConfig config, string runName, List<PlannedEval> evals, Dictionary<string, Benchmark> benchmarks,
        string output, PythonSandbox sandbox, IReproProgress progress, CancellationToken cancellation)
    {
        string modelDirectory = Path.Combine(output, RunsFolder, runName, TrainingRun.FinalModelDirectory);
        if (!File.Exists(Path.Combine(modelDirectory, "model.safetensors")))
        {
            progress.Message($"{runName}: no final model, not evaluated");
            return;
        }
        if (!LoadedModel.TryLoad(modelDirectory, config.EvalPrecision, out var loaded, out var error))
            throw new TrainingException(error!);
        using var _ = loaded!.Model;
        bool mdlm = loaded.Config.Architecture == Architecture.Mdlm;
        foreach (var eval in evals)
        {
            if (cancellation.IsCancellationRequested) return;
            var settings = SettingsFor(config, eval, mdlm);
            progress.Begin($"eval {runName} {eval.Benchmark} T={eval.Steps}", (long)eval.Problems * eval.N);
            try
            {
                var summary = ModelEvaluation.Run(loaded, modelDirectory, benchmarks[eval.Benchmark], settings, config.EvalPrecision,
                    Path.Combine(output, eval.Folder), sandbox, done => progress.Advance(done), cancellation);
                progress.Message($"{runName} {eval.Benchmark} T={eval.Steps}: syntax {100 * summary.SyntaxValidity:F1} %, non-trivial {100 * summary.NonTrivialValidity:F1} %, pass@1 {100 * summary.PassAtK["pass@1"]:F2} %");
            }
            catch (OperationCanceledException)
            {
                return;
            }
            finally
            {
                progress.End();
            }
        }
    }

    public const string ProbeFolder = "probe";

    /// <summary>The main runs the probe measures: every seed of each probe variant that is a main variant.</summary>
    public static IEnumerable<PlannedRun> ProbeRuns(ReproConfig config, ReproPlan plan) =>
        config.ProbeSamples <= 0 ? [] : config.ProbeVariants.Where(config.Variants.Contains).SelectMany(plan.MainRuns);

    /// <summary>The AST probe of one run's final model into runs/RUN/probe (skipped when probe-paired.csv exists).</summary>
    private static void Probe(ReproConfig config, PlannedRun run, string output, IReproProgress progress)
    {
        string runDirectory = Path.Combine(output, RunsFolder, run.Name);
        string probeDirectory = Path.Combine(runDirectory, ProbeFolder);
        if (File.Exists(Path.Combine(probeDirectory, ProbeMeasurement.PairedCsvFileName))) return;
        string modelDirectory = Path.Combine(runDirectory, TrainingRun.FinalModelDirectory);
        if (!File.Exists(Path.Combine(modelDirectory, "model.safetensors"))) return;
        if (!LoadedModel.TryLoad(modelDirectory, config.EvalPrecision, out var loaded, out var error))
            throw new TrainingException(error!);
        using var _ = loaded!.Model;
        var options = new AnCoder.Diffusion.Probing.ProbeOptions { Samples = config.ProbeSamples, K = config.ProbeK, ContextLength = config.Training.ContextLength };
        progress.Begin($"probe {run.Name}", 1);
        try
        {
            bool begun = false;
            var outcome = ProbeMeasurement.Measure(loaded, config.Training.Data, null, options, probeDirectory, (done, total) =>
            {
                if (!begun)
                {
                    progress.End();
                    progress.Begin($"probe {run.Name} ({total} queries)", total);
                    begun = true;
                }
                progress.Advance(done);
            });
            progress.Message(outcome is null ? $"{run.Name}: probe found no target (no identifier with {config.ProbeK} ancestors)" : $"{run.Name}: probed {outcome.Summary.SamplesUsed} samples");
        }
        finally
        {
            progress.End();
        }
    }

    /// <summary>Reads runs/RUN/probe/probe-paired.csv (<see cref="AnCoder.Experiments.Probing.ProbeResults.PairedCsvHeader"/>); null when missing or malformed.</summary>
    internal static IReadOnlyList<ProbeGap>? ReadProbeGaps(string csvPath)
    {
        if (!File.Exists(csvPath)) return null;
        var gaps = new List<ProbeGap>();
        foreach (string line in File.ReadLines(csvPath).Skip(1))
        {
            if (line.Length == 0) continue;
            var f = line.Split(',');
            if (f.Length != 7) return null;
            static double D(string text) => double.Parse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture);
            try
            {
                gaps.Add(new ProbeGap(D(f[0]), int.Parse(f[1], System.Globalization.CultureInfo.InvariantCulture), f[2], f[3],
                    int.Parse(f[4], System.Globalization.CultureInfo.InvariantCulture), D(f[5]), D(f[6])));
            }
            catch (FormatException)
            {
                return null;
            }
        }
        return gaps;
    }

    /// <summary>
    /// Reads every run's metrics and every evaluation's summary back from the experiment folder; with the benchmarks,
    /// also each evaluation's valid-line fraction from its results.jsonl (computed here, so older experiments get it too).
    /// </summary>
    public static ReproResults Collect(ReproPlan plan, long steps, string output, IReadOnlyDictionary<string, Benchmark>? benchmarks = null)
    {
        var runs = new List<RunResult>();
        foreach (var run in plan.Runs)
        {
            string directory = Path.Combine(output, RunsFolder, run.Name);
            bool completed = File.Exists(Path.Combine(directory, TrainingRun.FinalModelDirectory, "model.safetensors"));
            RunSummary? summary = null;
            if (File.Exists(Path.Combine(directory, MetricsRecord.FileName)))
            {
                try
                {
                    summary = RunComparison.Summarize(RunData.Load(directory));
                }
                catch (PlotException)
                {
                    // No usable metrics: the row shows dashes.
                }
            }
            var status = completed ? RunStatus.Completed : summary is null ? RunStatus.Missing : RunStatus.Diverged;
            runs.Add(new RunResult(run.Name, AnchorWeightOptions.Name(run.Strategy), run.Seed, status, summary?.LastStep ?? 0, summary?.FinalLoss ?? double.NaN,
                summary?.FinalValidNelbo ?? double.NaN, summary?.MinValidNelbo ?? double.NaN, summary?.WallSeconds ?? double.NaN));
        }
        var evals = new List<EvalResult>();
        var checker = new AnCoderSyntaxChecker();
        foreach (var eval in plan.Evals)
        {
            var summary = ModelEvaluation.ReadSummary(Path.Combine(output, eval.Folder));
            if (summary is null)
            {
                evals.Add(new EvalResult(eval.Run, eval.Benchmark, eval.Steps, null, null, []));
                continue;
            }
            var figures = SampleFigures(eval, benchmarks?.GetValueOrDefault(eval.Benchmark), output, checker);
            evals.Add(new EvalResult(eval.Run, eval.Benchmark, eval.Steps, summary.SyntaxValidity, summary.PassAtK.GetValueOrDefault("pass@1"),
                summary.Problems.Select(p => new ProblemCount(p.TaskId, p.N, p.C, p.SyntaxValid ?? 0)).ToList(), figures.ValidLines, figures.EmptyShare,
                figures.NonTrivial ?? summary.NonTrivialValidity, figures.Examples));
        }
        var probes = new List<ProbeResult>();
        foreach (var run in plan.Runs)
            if (ReadProbeGaps(Path.Combine(output, RunsFolder, run.Name, ProbeFolder, ProbeMeasurement.PairedCsvFileName)) is { } gaps)
                probes.Add(new ProbeResult(run.Name, AnchorWeightOptions.Name(run.Strategy), run.Seed, gaps));
        return new ReproResults(steps, runs, evals, probes);
    }

    /// <summary>What <see cref="SampleFigures"/> reads from one evaluation's results.jsonl.</summary>
    internal sealed record EvalSampleFigures(double? ValidLines, double? EmptyShare, double? NonTrivial, IReadOnlyList<SampleExample> Examples);

    /// <summary>Samples shown per evaluation in the report: up to this many of each verdict (non-trivial, valid but trivial, invalid).</summary>
    internal const int ExamplesPerVerdict = 2;

    /// <summary>
    /// From one read of results.jsonl (the evaluation's first problems × n; all its samples when the benchmark is not
    /// loaded): the mean valid-line fraction (<see cref="ValidPrefix"/>; null without the benchmark), the share of
    /// completions that are empty or whitespace after post-processing (an empty HumanEval completion leaves the prompt,
    /// which parses, so it counts as syntactically valid), the non-trivial syntax validity (judged again where a line
    /// predates the measure; null without the benchmark then) and a few example samples. Figures are null when there are no samples.
    /// </summary>
    internal static EvalSampleFigures SampleFigures(PlannedEval eval, Benchmark? benchmark, string output, ISyntaxChecker checker) =>
        SampleFigures(eval.Folder, eval.N, eval.Problems, benchmark, output, checker);

    /// <summary><see cref="SampleFigures(PlannedEval, Benchmark?, string, ISyntaxChecker)"/> of the evaluation in OUT/<paramref name="folder"/>.</summary>
    internal static EvalSampleFigures SampleFigures(string folder, int n, int problemCount, Benchmark? benchmark, string output, ISyntaxChecker checker)
    {
        var problems = benchmark?.Problems.Take(problemCount).ToDictionary(p => p.TaskId);
        var samples = ReadSamples(folder, n, output, problems?.Keys.ToHashSet());
        if (samples.Count == 0) return new EvalSampleFigures(null, null, null, []);
        if (problems is not null)
            samples = samples.Select(s => s.NonTrivial is not null || s.SyntaxValid is null ? s : Judged(s, benchmark!, problems[s.TaskId])).ToList();
        double empty = samples.Count(s => string.IsNullOrWhiteSpace(s.Completion)) / (double)samples.Count;
        double? nonTrivial = samples.Any(s => s.NonTrivial is null) ? null : samples.Count(s => s.NonTrivial == true) / (double)samples.Count;
        var examples = Examples(samples, benchmark, problems);
        if (problems is null) return new EvalSampleFigures(null, empty, nonTrivial, examples);
        var fractions = samples.Select(s => ValidPrefix.ForSample(benchmark!, problems[s.TaskId], s.Completion, checker)).OfType<double>().ToList();
        return new EvalSampleFigures(fractions.Count == 0 ? null : fractions.Average(), empty, nonTrivial, examples);
    }

    private static SampleResult Judged(SampleResult sample, Benchmark benchmark, BenchmarkProblem problem)
    {
        var verdict = NonTrivialValidity.ForSample(benchmark, problem, sample.Completion, sample.HitLengthCap);
        return sample with { NonTrivial = verdict.Valid, NonTrivialReason = verdict.Reason };
    }

    /// <summary>
    /// Up to <see cref="ExamplesPerVerdict"/> samples of each verdict (non-trivially valid, syntax-valid but trivial,
    /// invalid), the first ones in task order, with the text as judged.
    /// </summary>
    internal static List<SampleExample> Examples(IReadOnlyList<SampleResult> samples, Benchmark? benchmark, IReadOnlyDictionary<string, BenchmarkProblem>? problems)
    {
        string Judged(SampleResult s) => s.HitLengthCap ? NonTrivialValidity.CutAtLastCompleteLine(s.Completion) : s.Completion;
        var position = benchmark?.Problems.Select((p, i) => (p.TaskId, i)).ToDictionary(x => x.TaskId, x => x.i) ?? [];
        var ordered = samples.OrderBy(s => position.GetValueOrDefault(s.TaskId)).ThenBy(s => s.SampleIndex).ToList();
        var picked = ordered.Where(s => s.NonTrivial == true).Take(ExamplesPerVerdict)
            .Concat(ordered.Where(s => s.SyntaxValid == true && s.NonTrivial != true).Take(ExamplesPerVerdict))
            .Concat(ordered.Where(s => s.SyntaxValid == false).Take(ExamplesPerVerdict));
        return picked.Select(s => new SampleExample(s.TaskId, s.SampleIndex, Judged(s), s.SyntaxValid, s.NonTrivial,
            s.NonTrivialReason, s.Passed)).ToList();
    }

    /// <summary>The evaluation's samples of its first problems × n from results.jsonl (each task/index once; cut lines skipped).</summary>
    private static List<SampleResult> ReadSamples(string folder, int n, string output, IReadOnlySet<string>? taskIds)
    {
        string path = Path.Combine(output, folder, ModelEvaluation.ResultsFileName);
        if (!File.Exists(path)) return [];
        var seen = new HashSet<(string, int)>();
        return ResultsJournal.Read(path)
            .Where(s => s.SampleIndex < n && (taskIds is null || taskIds.Contains(s.TaskId)) && seen.Add((s.TaskId, s.SampleIndex)))
            .ToList();
    }

    /// <summary>Seconds per step from the metrics of the calibration run, the first (warm-up) step left out.</summary>
    private sealed class StepTimer : ITrainingObserver
    {
        private readonly List<double> _wall = [];

        public void OnMetrics(MetricsRecord record) => _wall.Add(record.WallSeconds);

        /// <summary>The median step interval: robust to a slow first step and to a step that another process slowed down.</summary>
        public double SecondsPerStep
        {
            get
            {
                if (_wall.Count == 0) throw new TrainingException("calibration run wrote no metrics");
                if (_wall.Count == 1) return _wall[0];
                var intervals = _wall.Zip(_wall.Skip(1), (a, b) => b - a).Order().ToList();
                return intervals.Count % 2 == 1 ? intervals[intervals.Count / 2] : (intervals[intervals.Count / 2 - 1] + intervals[intervals.Count / 2]) / 2;
            }
        }
    }

    internal sealed class StepForwarder(IReproProgress progress) : ITrainingObserver
    {
        public void OnStep(TrainingProgress step) => progress.Advance(step.Step);
        public void OnStart(TrainingStart start) => progress.Advance(start.StartStep);
    }
}
