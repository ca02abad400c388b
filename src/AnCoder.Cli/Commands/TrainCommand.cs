using System.CommandLine;
using System.Globalization;
using AnCoder.Diffusion.Configuration;
using AnCoder.Diffusion.Runtime;
using AnCoder.Diffusion.Training;
using Spectre.Console;

namespace AnCoder.Cli.Commands;

/// <summary>
/// <c>ancoder train</c>: trains an MDLM or anchored model on shards from <c>ancoder prepare</c>. A JSON config
/// (<c>--config</c>, snake_case fields of <see cref="TrainingConfig"/>) gives the base; flags override it. Ctrl+C or
/// SIGTERM finishes the current step, writes a checkpoint and exits 0; <c>--resume</c> continues the run exactly.
/// </summary>
public static class TrainCommand
{
    public static Command Create()
    {
        var configFile = new Option<string?>("--config") { Description = "Training config JSON (snake_case fields, e.g. {\"strategy\": \"mdlm\", \"max_steps\": 1000}); flags override it." };
        var model = new Option<string?>("--model") { Description = "Model preset: tiny, small or ancoder-809m (default tiny)." };
        var modelConfig = new Option<string?>("--model-config") { Description = "Model config JSON file (overrides --model)." };
        var objective = new Option<string?>("--objective") { Description = "diffusion (default) or ar: a causal Qwen2 model with the next-token loss, saved as a Hugging Face Qwen2ForCausalLM folder (docs/recipe.md)." };
        var denoiserLayers = new Option<int?>("--denoiser-layers") { Description = "ψ's depth N_d (from a Qwen2/AR folder: its first N_d layers; default: the preset's, or half the layers)." };
        var shift = new Option<bool?>("--shift") { Description = "Dream-style shift: position i's logits come from i−1 (keeps an AR head's meaning); default off, as ADLM." };
        var denoiserInput = new Option<string?>("--denoiser-input") { Description = "How ψ reads φ: softmax (default), logits, linear, or softmax+embed (softmax(a)·E_ψ + E_ψ[z_t], our variant)." };
        var denoiserInit = new Option<string?>("--denoiser-init") { Description = "copy (default: ψ as initialised) or identity (ψ's o_proj/down_proj zeroed: at step 0 ψ passes φ's prediction through)." };
        var pretrainedLr = new Option<double?>("--pretrained-lr") { Description = "Peak LR of the parameters copied from --init/--init-qwen (fresh ones keep --lr); e.g. --lr 3e-4 --pretrained-lr 5e-5." };
        var strategy = new Option<string?>("--strategy") { Description = "mdlm, null, keyword, identifier or anchortree (default anchortree)." };
        var lambda = new Option<double?>("--lambda") { Description = "Anchor weight λ (default: the strategy's, ALGORITHMS.md §5)." };
        var rho = new Option<double?>("--rho") { Description = "AnchorTree depth decay ρ (default 0.8)." };
        var d0 = new Option<int?>("--d0") { Description = "AnchorTree depth offset d0 (default 2)." };
        var schedule = new Option<string?>("--schedule") { Description = "Noise schedule: cosine2 (default), cosine, md4cosine, loglinear." };
        var anchorLossOn = new Option<string?>("--anchor-loss-on") { Description = "all (default: every valid position, as ADLM) or masked: where the anchor term applies." };
        var anchorWarmup = new Option<bool?>("--anchor-warmup") { Description = "ADLM's γ warm-up γ_eff = min(λ, step / max_steps)." };
        var packing = new Option<string?>("--packing") { Description = "pack (default: samples concatenated with end-of-text) or truncate (one sample per row)." };
        var data = new Option<string?>("--data") { Description = "Folder written by `ancoder prepare` (default <repo>/data/prepared)." };
        var context = new Option<int?>("--context") { Description = "Context length in tokens (default 256)." };
        var microBatch = new Option<int?>("--micro-batch") { Description = "Rows per forward/backward pass (default 8)." };
        var accumulation = new Option<int?>("--accumulation") { Description = "Micro-batches per optimizer step (effective batch = micro-batch × accumulation; default 1)." };
        var steps = new Option<long?>("--steps") { Description = "Optimizer steps." };
        var tokens = new Option<long?>("--tokens") { Description = "Training tokens instead of --steps (steps = tokens / (micro-batch × accumulation × context), rounded up)." };
        var lr = new Option<double?>("--lr") { Description = "Peak learning rate (default 3e-4; ≤ 1e-4 is sensible from Qwen)." };
        var warmup = new Option<double?>("--warmup-ratio") { Description = "Fraction of steps of linear warm-up (default 0.01)." };
        var minLr = new Option<double?>("--min-lr-ratio") { Description = "The cosine ends at lr × this (default 0.1)." };
        var weightDecay = new Option<double?>("--weight-decay") { Description = "AdamW weight decay (default 0, as the paper)." };
        var gradClip = new Option<double?>("--grad-clip") { Description = "Gradient L2-norm clip (default 1.0; 0 = off)." };
        var precision = new Option<string?>("--precision") { Description = "fp32 (default) or bf16 (bf16 compute on AMX, fp32 master weights)." };
        var ema = new Option<double?>("--ema") { Description = "Keep an EMA of the weights with this decay (e.g. 0.999); saved as model-ema/." };
        var seed = new Option<int?>("--seed") { Description = "Seed of initialisation, data order and masking (default 0)." };
        var threads = new Option<int?>("--threads") { Description = "Torch threads (default: all cores)." };
        var logInterval = new Option<int?>("--log-interval") { Description = "Steps per metrics.jsonl line (default 10)." };
        var validInterval = new Option<int?>("--valid-interval") { Description = "Steps between validation NELBO evaluations (default 200; 0 = only at the end)." };
        var validBatches = new Option<int?>("--valid-batches") { Description = "Micro-batches per validation (default 8)." };
        var checkpointInterval = new Option<int?>("--checkpoint-interval") { Description = "Steps between checkpoints (default 500; one is always written at the end and on interruption)." };
        var keepLast = new Option<int?>("--keep-last") { Description = "Checkpoints kept (default 3)." };
        var output = new Option<string?>("--out") { Description = "Run folder: config.json, metrics.jsonl, checkpoints/, model/ (default runs/<strategy>-<time>)." };
        var init = new Option<string?>("--init") { Description = "Start from one of our checkpoints (a model folder or checkpoints/step-N)." };
        var initQwen = new Option<string?>("--init-qwen") { Description = "Start from a Hugging Face Qwen2 folder (the paper's start)." };
        var resume = new Option<bool>("--resume") { Description = "Continue the run in --out from its newest valid checkpoint (its config.json is the base config)." };

        var command = new Command("train", "Train a diffusion model (MDLM or anchored) or, with --objective ar, an autoregressive Qwen2 model; AdamW + cosine LR; checkpoints, exact resume, metrics.jsonl.");
        Option[] all = [configFile, model, modelConfig, objective, denoiserLayers, shift, denoiserInput, denoiserInit, pretrainedLr, strategy, lambda, rho, d0, schedule, anchorLossOn, anchorWarmup, packing, data, context, microBatch, accumulation, steps, tokens,
            lr, warmup, minLr, weightDecay, gradClip, precision, ema, seed, threads, logInterval, validInterval, validBatches,
            checkpointInterval, keepLast, output, init, initQwen, resume];
        foreach (var option in all) command.Options.Add(option);
        command.SetAction(parse =>
        {
            TrainingConfig config;
            try
            {
                string? outDir = parse.GetValue(output);
                bool resuming = parse.GetValue(resume);
                if (resuming && outDir is null) throw new ConfigException("--resume needs --out RUN_DIR");
                string? baseFile = parse.GetValue(configFile)
                                   ?? (resuming && File.Exists(Path.Combine(outDir!, TrainingRun.ConfigFileName)) ? Path.Combine(outDir!, TrainingRun.ConfigFileName) : null);
                config = baseFile is null ? new TrainingConfig() : TrainingConfig.Load(baseFile);
                config = config with
                {
                    Model = parse.GetValue(model) ?? config.Model,
                    ModelConfigFile = parse.GetValue(modelConfig) ?? config.ModelConfigFile,
                    Objective = parse.GetValue(objective) ?? config.Objective,
                    DenoiserLayers = parse.GetValue(denoiserLayers) ?? config.DenoiserLayers,
                    Shift = parse.GetValue(shift) ?? config.Shift,
                    DenoiserInput = parse.GetValue(denoiserInput) ?? config.DenoiserInput,
                    DenoiserInit = parse.GetValue(denoiserInit) ?? config.DenoiserInit,
                    PretrainedLearningRate = parse.GetValue(pretrainedLr) ?? config.PretrainedLearningRate,
                    Strategy = parse.GetValue(strategy) ?? config.Strategy,
                    AnchorLambda = parse.GetValue(lambda) ?? config.AnchorLambda,
                    AnchorRho = parse.GetValue(rho) ?? config.AnchorRho,
                    AnchorD0 = parse.GetValue(d0) ?? config.AnchorD0,
                    Schedule = parse.GetValue(schedule) ?? config.Schedule,
                    AnchorLossOn = parse.GetValue(anchorLossOn) ?? config.AnchorLossOn,
                    AnchorWarmup = parse.GetValue(anchorWarmup) ?? config.AnchorWarmup,
                    Packing = parse.GetValue(packing) ?? config.Packing,
                    Data = parse.GetValue(data) ?? config.Data ?? Path.Combine(RepositoryPaths.FindRoot() ?? Environment.CurrentDirectory, "data", "prepared"),
                    ContextLength = parse.GetValue(context) ?? config.ContextLength,
                    MicroBatch = parse.GetValue(microBatch) ?? config.MicroBatch,
                    GradientAccumulation = parse.GetValue(accumulation) ?? config.GradientAccumulation,
                    MaxSteps = parse.GetValue(tokens) is not null ? null : parse.GetValue(steps) ?? config.MaxSteps,
                    MaxTokens = parse.GetValue(steps) is not null ? null : parse.GetValue(tokens) ?? config.MaxTokens,
                    LearningRate = parse.GetValue(lr) ?? config.LearningRate,
                    WarmupRatio = parse.GetValue(warmup) ?? config.WarmupRatio,
                    MinLrRatio = parse.GetValue(minLr) ?? config.MinLrRatio,
                    WeightDecay = parse.GetValue(weightDecay) ?? config.WeightDecay,
                    GradClip = parse.GetValue(gradClip) ?? config.GradClip,
                    Precision = parse.GetValue(precision) ?? config.Precision,
                    EmaDecay = parse.GetValue(ema) ?? config.EmaDecay,
                    Seed = parse.GetValue(seed) ?? config.Seed,
                    Threads = parse.GetValue(threads) ?? config.Threads,
                    LogInterval = parse.GetValue(logInterval) ?? config.LogInterval,
                    ValidationInterval = parse.GetValue(validInterval) ?? config.ValidationInterval,
                    ValidationBatches = parse.GetValue(validBatches) ?? config.ValidationBatches,
                    CheckpointInterval = parse.GetValue(checkpointInterval) ?? config.CheckpointInterval,
                    KeepLast = parse.GetValue(keepLast) ?? config.KeepLast,
                    Init = parse.GetValue(init) ?? config.Init,
                    InitQwen = parse.GetValue(initQwen) ?? config.InitQwen,
                };
                config = config with
                {
                    Output = outDir ?? config.Output ?? Path.Combine("runs", $"{config.RunLabel}-{DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)}"),
                };
                config.Validated(baseFile);
                return Train(config, resuming);
            }
            catch (ConfigException e)
            {
                Console.Error.WriteLine($"ancoder train: {e.Message}");
                return 2;
            }
        });
        return command;
    }

    private static int Train(TrainingConfig config, bool resume)
    {
        try
        {
            TorchRuntime.Initialize();
        }
        catch (TorchUnavailableException e)
        {
            Console.Error.WriteLine($"ancoder train: {e.Message}");
            return 1;
        }
        using var stopSignals = StopSignals.Listen();
        var cancellation = stopSignals.Source;
        TrainingSummary summary;
        try
        {
            summary = Console.IsOutputRedirected
                ? TrainingRun.Run(config, new PlainObserver(), cancellation.Token, resume)
                : RunWithProgress(config, cancellation, resume);
        }
        catch (Exception e) when (e is TrainingException or ConfigException)
        {
            Console.Error.WriteLine($"ancoder train: {e.Message}");
            return 2;
        }
        string valid = summary.LastValidNelbo is { } v ? $", valid {(config.Autoregressive ? "NLL" : "NELBO")} {v:F4}" : "";
        switch (summary.Status)
        {
            case TrainingStatus.Diverged:
                Console.Error.WriteLine($"ancoder train: {summary.Message}");
                return 1;
            case TrainingStatus.Interrupted:
                Console.WriteLine($"{summary.Message} ({summary.WallSeconds:F0} s)");
                WritePlots(summary.OutputDirectory);
                return 0;
            default:
                Console.WriteLine($"{summary.Message}; last loss {summary.LastLoss:F4}{valid}; {summary.WallSeconds:F0} s, {summary.Tokens / Math.Max(1e-9, summary.WallSeconds):N0} tokens/s; run folder {summary.OutputDirectory}");
                WritePlots(summary.OutputDirectory);
                return 0;
        }
    }

    /// <summary>The loss curves of the run into RUN/plots; a plotting problem never fails a finished training run.</summary>
    private static void WritePlots(string runDirectory)
    {
        try
        {
            var result = Plotting.RunPlots.WriteIntoRun(runDirectory);
            foreach (var warning in result.Warnings) Console.Error.WriteLine($"ancoder train: plots: {warning}");
            Console.WriteLine($"plots: {Path.Combine(runDirectory, Plotting.RunPlots.RunPlotsFolder)} ({result.Files.Count} files; `ancoder plot` overlays several runs)");
        }
        catch (Exception e) when (e is Plotting.PlotException or IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"ancoder train: plots not written: {e.Message}");
        }
    }

    private static TrainingSummary RunWithProgress(TrainingConfig config, CancellationTokenSource cancellation, bool resume)
    {
        TrainingSummary? summary = null;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(context =>
            {
                var task = context.AddTask("starting", maxValue: Math.Max(1, config.TotalSteps));
                summary = TrainingRun.Run(config, new ProgressObserver(task, cancellation), cancellation.Token, resume);
                task.Value = task.MaxValue;
            });
        return summary!;
    }

    /// <summary>The validation figure: next-token NLL for AR runs, the NELBO for diffusion runs.</summary>
    private static string ValidName(MetricsRecord record) => record.Strategy == "ar" ? "NLL" : "NELBO";

    private static string Line(TrainingProgress p) =>
        $"step {p.Step}/{p.TotalSteps} loss {p.Loss:F4} (ψ {p.DenoiserNll:F4} φ {p.AnchorNll:F4}) lr {p.LearningRate:0.00e+0} |g| {p.GradNorm:F2} {p.TokensPerSecond:N0} tok/s"
        + (p.Remaining is { } r ? $" ETA {(int)r.TotalHours}:{r.Minutes:D2}:{r.Seconds:D2}" : "");

    private sealed class ProgressObserver(ProgressTask task, CancellationTokenSource cancellation) : ITrainingObserver
    {
        public void OnStart(TrainingStart start)
        {
            task.Value = start.StartStep;
            AnsiConsole.MarkupLine(Markup.Escape($"training {start.Strategy}: {start.Parameters:N0} parameters, {start.TrainRows:N0} train rows, {start.ValidRows:N0} valid rows, {start.Threads} threads"
                + (start.ResumedFrom is null ? "" : $"; resumed from {start.ResumedFrom}")));
        }

        public void OnStep(TrainingProgress progress)
        {
            task.Value = progress.Step;
            task.Description = Markup.Escape(Line(progress) + (cancellation.IsCancellationRequested ? " — stopping after this step" : ""));
        }

        public void OnMetrics(MetricsRecord record)
        {
            if (record.ValidNelbo is { } valid) AnsiConsole.MarkupLine(Markup.Escape($"step {record.Step}: valid {ValidName(record)} {valid:F4}"));
        }

        public void OnMessage(string message) => AnsiConsole.MarkupLine($"[grey]{Markup.Escape(message)}[/]");
    }

    /// <summary>Output redirected (a log file, CI): one plain line per metrics record.</summary>
    private sealed class PlainObserver : ITrainingObserver
    {
        private TrainingProgress? _last;

        public void OnStart(TrainingStart start) =>
            Console.WriteLine($"training {start.Strategy}: {start.Parameters:N0} parameters, {start.TrainRows:N0} train rows, {start.Threads} threads"
                              + (start.ResumedFrom is null ? "" : $"; resumed from {start.ResumedFrom}"));

        public void OnStep(TrainingProgress progress) => _last = progress;

        public void OnMetrics(MetricsRecord record)
        {
            if (_last is not null) Console.WriteLine(Line(_last) + (record.ValidNelbo is { } v ? $" valid {ValidName(record)} {v:F4}" : ""));
        }

        public void OnMessage(string message) => Console.WriteLine(message);
    }
}
