using AnCoder.Anchoring.Corpus;
using AnCoder.Anchoring.Runs;
using AnCoder.Diffusion.Checkpoints;
using AnCoder.Diffusion.Configuration;
using AnCoder.Diffusion.Training;
using AnCoder.Evaluation.Benchmarks;
using AnCoder.Evaluation.Execution;
using AnCoder.Evaluation.Scoring;
using AnCoder.Experiments.Generation;
using AnCoder.Experiments.Models;
using AnCoder.Reporting.Plotting;

using AnCoder.Experiments.Statistics;

namespace AnCoder.Experiments.Repro;

/// <summary>How one worker process takes part in a recipe experiment.</summary>
public sealed record RecipeWorkerOptions
{
    /// <summary>Write results.json and REPORT.md when no work is left (false for the helper processes of --workers).</summary>
    public bool WriteReport { get; init; } = true;
    /// <summary>How long a worker waits before looking again for work that another process holds.</summary>
    public TimeSpan Poll { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>
    /// A stage folder without a live claim whose metrics or checkpoints changed this recently is taken to be trained by
    /// a process outside the experiment (e.g. a hand-started <c>ancoder train</c>) and left alone until it goes quiet.
    /// </summary>
    public TimeSpan ForeignActivity { get; init; } = TimeSpan.FromSeconds(180);
    /// <summary>Who this worker is (tests run two workers in one process).</summary>
    public ClaimOwner Owner { get; init; } = ClaimOwner.Current;
    public Func<ClaimOwner, bool>? IsAlive { get; init; }
}

/// <summary>
/// Executes a <see cref="RecipePlan"/> (docs/recipe.md §4). Any number of worker processes may run it over the same
/// folder at once: each work item (a training stage, an evaluation) is claimed with an exclusive lock file
/// (<see cref="WorkClaims"/>, OUT/locks), a stage waits for its input model and an evaluation for its model. A stage
/// whose model/model.safetensors exists is done and never redone; an interrupted one resumes from its newest
/// checkpoint; an evaluation resumes from its results.jsonl. When no work is left, results.json and REPORT.md are
/// written from the folder's contents.
/// </summary>
public static class RecipeRunner
{
    public const string LocksFolder = "locks";

    /// <summary>One item of work: a key (its lock), whether it is done, which model it needs first.</summary>
    private sealed record WorkItem(string Key, PlannedStage? Stage, RecipeEval? Eval, string? NeedsModel);

    public static ReproOutcome Run(ReproConfig config, string output, string commandLine, IReproProgress progress,
        CancellationToken cancellation, string? benchmarkData, RecipeWorkerOptions? options = null, TorchEngineOptions? torch = null)
    {
        options ??= new RecipeWorkerOptions();
        var plan = new RecipePlan(config);
        var benchmarks = ReproRunner.LoadBenchmarks(config, benchmarkData);
        var claims = new WorkClaims(Path.Combine(output, LocksFolder), options.Owner, options.IsAlive);
        var planned = plan.Stages.Select(s => new WorkItem(s.Folder, s, null, s.Input is null ? null : plan.Stage(s.Input).ModelFolder))
            .Concat(plan.Evals.Select(e => new WorkItem(e.Folder, null, e, plan.Stage(e.Stage).ModelFolder))).ToList();
        // The curve folder is read again on every pass: its checkpoints appear while the AR stages train (RecipeCurveKeeper).
        List<WorkItem> Items() => planned.Concat(plan.CurveCheckpoints(output).Select(c => new WorkItem(c.HumanEval.Folder, null, c.HumanEval, null))).ToList();
        var failed = new HashSet<string>();
        var announced = new HashSet<string>();
        PythonSandbox? sandbox = null;
        try
        {
            while (true)
            {
                if (cancellation.IsCancellationRequested) return ReproOutcome.Interrupted;
                var pending = Items().Where(i => !failed.Contains(i.Key) && !IsDone(i, output, benchmarks)).ToList();
                if (pending.Count == 0) break;
                bool worked = false, waiting = false;
                foreach (var item in pending)
                {
                    if (item.NeedsModel is { } needed && !ModelExists(output, needed))
                    {
                        // Waits while the stage that makes its model can still finish (here or in another process).
                        if (!failed.Contains(StageKeyOf(needed))) waiting = true;
                        continue;
                    }
                    if (claims.HeldByOther(item.Key))
                    {
                        waiting = true;
                        continue;
                    }
                    if (item.Stage is not null && RecentlyActive(Path.Combine(output, item.Stage.Folder), options.ForeignActivity))
                    {
                        if (announced.Add(item.Key))
                            progress.Message($"{item.Stage.Name}: its folder changed in the last {options.ForeignActivity.TotalMinutes:0.#} min without a live claim (another trainer?); waiting until it is quiet");
                        waiting = true;
                        continue;
                    }
                    using var claim = claims.TryClaim(item.Key);
                    if (claim is null)
                    {
                        waiting = true;
                        continue;
                    }
                    if (IsDone(item, output, benchmarks)) continue;
                    bool ok;
                    if (item.Stage is { } stage) ok = Train(config, stage, output, progress, cancellation, torch);
                    else
                    {
                        sandbox ??= PythonSandbox.Create(SandboxOptions.ForEvaluation(Environment.ProcessorCount, config.Timeout));
                        ok = Evaluate(config, item.Eval!, benchmarks, output, sandbox, progress, cancellation);
                    }
                    if (cancellation.IsCancellationRequested) return ReproOutcome.Interrupted;
                    if (!ok) failed.Add(item.Key);
                    worked = true;
                    break; // look again from the top: earlier items (stages) come first
                }
                if (worked) continue;
                if (!waiting) break; // what is left depends on failed stages
                if (cancellation.WaitHandle.WaitOne(options.Poll)) return ReproOutcome.Interrupted;
            }
        }
        finally
        {
            sandbox?.Dispose();
        }
        if (options.WriteReport) WriteReport(config, plan, output, commandLine, benchmarks, progress);
        return ReproOutcome.Completed;
    }

    /// <summary>Collects results.json from the folder and writes REPORT.md (also usable alone, e.g. after the workers).</summary>
    public static void WriteReport(ReproConfig config, RecipePlan plan, string output, string commandLine,
        IReadOnlyDictionary<string, Benchmark>? benchmarks, IReproProgress progress)
    {
        var results = Collect(plan, output, benchmarks);
        RunPlots.WriteAtomically(Path.Combine(output, ReproResults.FileName), System.Text.Encoding.UTF8.GetBytes(results.ToJson() + "\n"));
        var warnings = RecipeReport.Write(output, config, plan, results, commandLine);
        foreach (var warning in warnings) progress.Message("report: " + warning);
    }

    private static string StageKeyOf(string modelFolder) => Path.GetDirectoryName(modelFolder)!;

    private static bool ModelExists(string output, string modelFolder) => File.Exists(Path.Combine(output, modelFolder, ModelCheckpoint.WeightsFileName));

    private static bool IsDone(WorkItem item, string output, IReadOnlyDictionary<string, Benchmark> benchmarks) => item.Stage is { } stage
        ? ModelExists(output, stage.ModelFolder)
        : EvalDone(item.Eval!, output, benchmarks.TryGetValue(item.Eval!.Benchmark, out var b) ? b.Problems.Count : int.MaxValue);

    /// <summary>An evaluation is done when its summary covers the wanted problems (at most the benchmark's) × n samples.</summary>
    public static bool EvalDone(RecipeEval eval, string output, int problemsInBenchmark = int.MaxValue)
    {
        int wanted = Math.Min(eval.Problems, problemsInBenchmark);
        return ModelEvaluation.ReadSummary(Path.Combine(output, eval.Folder)) is { } summary && summary.ProblemsScored >= wanted && summary.Samples >= wanted * eval.N;
    }

    /// <summary>True when the stage folder's metrics or checkpoints changed within <paramref name="window"/> (a trainer outside the experiment is writing it).</summary>
    internal static bool RecentlyActive(string stageFolder, TimeSpan window)
    {
        if (window <= TimeSpan.Zero || !Directory.Exists(stageFolder)) return false;
        var candidates = new[] { Path.Combine(stageFolder, MetricsRecord.FileName), Path.Combine(stageFolder, "checkpoints") };
        var newest = candidates.Where(p => File.Exists(p) || Directory.Exists(p)).Select(p => File.GetLastWriteTimeUtc(p)).DefaultIfEmpty(DateTime.MinValue).Max();
        return DateTime.UtcNow - newest < window;
    }

    /// <summary>Trains one stage (resuming from its newest checkpoint); false when it diverged or failed.</summary>
    private static bool Train(ReproConfig config, PlannedStage stage, string output, IReproProgress progress, CancellationToken cancellation, TorchEngineOptions? torch)
    {
        var training = RecipeTraining.For(config, stage, output);
        progress.Begin($"train {stage.Name}", training.TotalSteps);
        TrainingSummary summary;
        var keeper = RecipeCurveKeeper.For(config, stage, output);
        try
        {
            summary = ReproRunner.TrainStage(training, torch, new CurveObserver(progress, keeper), cancellation);
            keeper?.CopyNew();
        }
        finally
        {
            progress.End();
        }
        progress.Message($"{stage.Name}: {summary.Message}" + (summary.LastValidNelbo is { } v ? $", valid NLL {v:F4}" : ""));
        return summary.Status is TrainingStatus.Completed or TrainingStatus.Interrupted;
    }

    /// <summary>Forwards steps to the progress bar and copies the curve's checkpoints as they appear.</summary>
    private sealed class CurveObserver(IReproProgress progress, RecipeCurveKeeper? keeper) : ITrainingObserver
    {
        private readonly ReproRunner.StepForwarder _steps = new(progress);

        public void OnStart(TrainingStart start) => _steps.OnStart(start);

        public void OnStep(TrainingProgress step)
        {
            _steps.OnStep(step);
            foreach (string copied in keeper?.CopyNew(step.Step) ?? []) progress.Message($"curve: kept {copied}");
        }
    }

    /// <summary>The generation settings of one evaluation: AR rows at the recipe's τ and top-p, diffusion rows at the paper's τ, T and the row's remasking.</summary>
    public static ModelEvalSettings SettingsFor(ReproConfig config, RecipeEval eval) => eval.Autoregressive
        ? new ModelEvalSettings
        {
            SamplesPerProblem = eval.N, Steps = eval.Steps, Length = config.Recipe!.ArEvalLength ?? config.EvalLength, Temperature = config.Recipe.ArTemperature,
            TopP = config.Recipe.ArTopP, Limit = eval.Problems, Seed = eval.SamplingSeed, BatchSize = config.EvalBatch,
            Guard = config.Recipe.ArGuard, RepetitionPenalty = config.Recipe.ArRepetitionPenalty, FrequencyPenalty = config.Recipe.ArFrequencyPenalty,
        }
        : new ModelEvalSettings
        {
            SamplesPerProblem = eval.N, Steps = eval.Steps, Length = config.EvalLength, Temperature = config.Temperature,
            Remask = eval.Remask, Limit = eval.Problems, Seed = eval.SamplingSeed,
            BatchSize = config.EvalBatch, Order = config.EvalOrder, Parallel = config.EvalParallel, Repair = config.EvalRepair,
            Guard = config.EvalGuard, RepetitionPenalty = config.EvalRepetitionPenalty, FrequencyPenalty = config.EvalFrequencyPenalty,
        };

    private static bool Evaluate(ReproConfig config, RecipeEval eval, IReadOnlyDictionary<string, Benchmark> benchmarks, string output,
        PythonSandbox sandbox, IReproProgress progress, CancellationToken cancellation)
    {
        // A stage may have trained with threads of its own (e.g. recipe.ar_base.threads); evaluations run at the experiment's count.
        if (config.Training.Threads > 0) TorchSharp.torch.set_num_threads(config.Training.Threads);
        string modelDirectory = Path.Combine(output, eval.ModelFolder);
        if (!LoadedModel.TryLoad(modelDirectory, config.EvalPrecision, out var loaded, out var error))
        {
            progress.Message($"{eval.Folder}: {error}");
            return false;
        }
        using var _ = loaded!.Model;
        string label = $"eval {eval.Stage} {Path.GetFileName(eval.Folder)}";
        int references = config.Recipe!.ReferenceNllProblems;
        string referenceFolder = Path.Combine(output, ReproRunner.RunsFolder, eval.Stage);
        if (eval.CheckpointFolder is null && eval.Benchmark == "humaneval" && references > 0 && !File.Exists(Path.Combine(referenceFolder, ReferenceNll.FileName)))
        {
            var nll = ReferenceNll.Measure(loaded, modelDirectory, ModelEvaluation.Limit(benchmarks[eval.Benchmark], references), config.EvalLength, config.EvalBatch);
            nll.Write(referenceFolder);
            progress.Message($"{eval.Stage}: {nll.Describe()}");
        }
        progress.Begin(label, (long)eval.Problems * eval.N);
        try
        {
            var summary = ModelEvaluation.Run(loaded, modelDirectory, benchmarks[eval.Benchmark], SettingsFor(config, eval), config.EvalPrecision,
                Path.Combine(output, eval.Folder), sandbox, done => progress.Advance(done), cancellation);
            progress.Message($"{label}: syntax {100 * summary.SyntaxValidity:F1} %, non-trivial {100 * summary.NonTrivialValidity:F1} %, pass@1 {100 * summary.PassAtK["pass@1"]:F2} %");
            return true;
        }
        catch (OperationCanceledException)
        {
            return true;
        }
        catch (ModelEvalException e)
        {
            progress.Message($"{label}: {e.Message}");
            return false;
        }
        finally
        {
            progress.End();
        }
    }

    /// <summary>Everything the report needs, read from the experiment folder (missing runs and evaluations give dashes).</summary>
    public static RecipeResults Collect(RecipePlan plan, string output, IReadOnlyDictionary<string, Benchmark>? benchmarks)
    {
        var stages = plan.Stages.Select(s => StageFigures(s, output)).ToList();
        var evals = new List<EvalResult>();
        var checker = new AnCoderSyntaxChecker();
        foreach (var eval in plan.Evals.Concat(plan.CurveCheckpoints(output).Select(c => c.HumanEval)))
        {
            var summary = ModelEvaluation.ReadSummary(Path.Combine(output, eval.Folder));
            if (summary is null)
            {
                evals.Add(new EvalResult(eval.Folder, eval.Benchmark, eval.Steps, null, null, []));
                continue;
            }
            var figures = ReproRunner.SampleFigures(eval.Folder, eval.N, eval.Problems, benchmarks?.GetValueOrDefault(eval.Benchmark), output, checker);
            evals.Add(new EvalResult(eval.Folder, eval.Benchmark, eval.Steps, summary.SyntaxValidity, summary.PassAtK.GetValueOrDefault("pass@1"),
                summary.Problems.Select(p => new ProblemCount(p.TaskId, p.N, p.C, p.SyntaxValid ?? 0)).ToList(), figures.ValidLines, figures.EmptyShare,
                figures.NonTrivial ?? summary.NonTrivialValidity, figures.Examples));
        }
        return new RecipeResults(stages, evals, CurvePoints(plan, output, stages, evals));
    }

    /// <summary>
    /// HumanEval validity of the AR stages against training tokens: each saved checkpoint of the curve folder, and the
    /// stage's final model (its Table 1 evaluation with the first sampling seed). Tokens = step × the run's tokens per step.
    /// </summary>
    internal static List<CurvePoint> CurvePoints(RecipePlan plan, string output, IReadOnlyList<StageResult> stages, IReadOnlyList<EvalResult> evals)
    {
        var points = new List<CurvePoint>();
        EvalResult? Find(RecipeEval? eval) => eval is null ? null : evals.FirstOrDefault(e => e.Run == eval.Folder);
        var checkpoints = plan.CurveCheckpoints(output);
        foreach (var stageName in new[] { RecipePlan.ArBaseStage, RecipePlan.ArSftStage })
        {
            var stage = stages.FirstOrDefault(s => s.Name == stageName);
            string runConfig = Path.Combine(output, ReproRunner.RunsFolder, stageName, TrainingRun.ConfigFileName);
            double tokensPerStep = double.NaN;
            try
            {
                if (File.Exists(runConfig)) tokensPerStep = TrainingConfig.Load(runConfig).TokensPerStep;
            }
            catch (ConfigException)
            {
                // unreadable run config: tokens unknown
            }
            double? ValidAt(long step) => stage?.Validation.LastOrDefault(v => v.Step == step)?.ValidNll;
            foreach (var checkpoint in checkpoints.Where(c => c.Stage == stageName))
            {
                var eval = Find(checkpoint.HumanEval);
                if (eval?.SyntaxValidity is null) continue;
                points.Add(new CurvePoint(stageName, checkpoint.Step, checkpoint.Step * tokensPerStep, eval.SyntaxValidity, eval.NonTrivialValidity, ValidAt(checkpoint.Step)));
            }
            var row = plan.Rows.FirstOrDefault(r => r.Key == stageName);
            if (stage is { Status: RunStatus.Completed } && Find(row?.Members.FirstOrDefault()?.HumanEval) is { SyntaxValidity: not null } final
                && !points.Any(p => p.Stage == stageName && p.Step == stage.Steps))
                points.Add(new CurvePoint(stageName, stage.Steps, stage.Steps * tokensPerStep, final.SyntaxValidity, final.NonTrivialValidity, ValidAt(stage.Steps)));
        }
        return points;
    }

    /// <summary>A stage's steps, tokens, FLOPs and validation curve from its folder.</summary>
    internal static StageResult StageFigures(PlannedStage stage, string output)
    {
        string directory = Path.Combine(output, stage.Folder);
        bool completed = ModelExists(output, stage.ModelFolder);
        RunData? data = null;
        if (File.Exists(Path.Combine(directory, MetricsRecord.FileName)))
        {
            try
            {
                data = RunData.Load(directory);
            }
            catch (PlotException)
            {
                // no usable metrics: dashes
            }
        }
        var summary = data is null || data.Records.Count == 0 ? null : RunComparison.Summarize(data);
        var validation = data?.Records.Where(r => r.ValidNelbo is { } v && double.IsFinite(v))
            .Select(r => new ValidationPoint(r.Step, r.Tokens, r.ValidNelbo!.Value)).ToList() ?? [];
        double? flopsPerToken = FlopsPerToken(output, stage);
        var status = completed ? RunStatus.Completed : summary is null ? RunStatus.Missing : RunStatus.Diverged;
        return new StageResult(stage.Name, RecipeTraining.SectionName(stage.Kind), stage.Variant is { } v ? AnchorWeightOptionsName(v) : "ar", stage.Seed,
            status, summary?.LastStep ?? 0, summary?.Tokens ?? double.NaN, summary?.WallSeconds ?? double.NaN, summary?.FinalLoss ?? double.NaN,
            summary?.FinalValidNelbo ?? double.NaN, summary?.MinValidNelbo ?? double.NaN, flopsPerToken, validation, ReferenceNll.Read(directory)?.NllPerToken);
    }

    private static string AnchorWeightOptionsName(AnCoder.Anchoring.Labels.AnchorStrategy strategy) => AnCoder.Anchoring.Labels.AnchorWeightOptions.Name(strategy);

    /// <summary>
    /// Training FLOPs per token of the stage's model (<see cref="TrainingFlops"/>: 6 × the matmul weights that take
    /// part in the forward pass, both networks of an anchored model, plus attention) at the run's context length;
    /// null when the model or the run's config is not there.
    /// </summary>
    internal static double? FlopsPerToken(string output, PlannedStage stage)
    {
        string configPath = Path.Combine(output, stage.ModelFolder, ModelCheckpoint.ConfigFileName);
        string runConfig = Path.Combine(output, stage.Folder, TrainingRun.ConfigFileName);
        if (!File.Exists(configPath) || !File.Exists(runConfig)) return null;
        try
        {
            string text = File.ReadAllText(configPath);
            var model = HuggingFaceQwen2Config.IsHuggingFaceConfig(text)
                ? Qwen2Import.BuildConfig(HuggingFaceQwen2Config.Load(configPath), new Qwen2ImportOptions { Architecture = Architecture.Causal }, configPath)
                : ModelConfig.Load(configPath);
            return TrainingFlops.PerToken(model, TrainingConfig.Load(runConfig).ContextLength);
        }
        catch (Exception e) when (e is ConfigException or CheckpointException or IOException or System.Text.Json.JsonException)
        {
            return null;
        }
    }
}
