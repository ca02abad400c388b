using AnCoder.Anchoring.Runs;
using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using AnCoder.Anchoring.Labels;
using AnCoder.Anchoring.Settings;
using AnCoder.Diffusion.Configuration;
using AnCoder.Diffusion.Runtime;
using AnCoder.Diffusion.Training;
using Spectre.Console;

namespace AnCoder.Cli.Commands;

/// <summary>
/// <c>ancoder train</c>: trains an MDLM or anchored model on shards from <c>ancoder prepare</c>. A JSON config
/// (<c>--config</c>, snake_case fields of <see cref="TrainingConfig"/>) gives the base; flags (one per
/// <see cref="SettingAttribute"/> property) and <c>--set key=value</c> override it. Ctrl+C or
/// SIGTERM finishes the current step, writes a checkpoint and exits 0; <c>--resume</c> continues the run exactly.
/// </summary>
public static class TrainCommand
{
    public static Command Create()
    {
        var configFile = new Option<string?>("--config") { Description = "Training config JSON (snake_case fields, e.g. {\"strategy\": \"mdlm\", \"max_steps\": 1000}); flags override it." };
        var engine = new Option<string?>("--engine") { Description = "csharp (default: TorchSharp, this process) or torch (PyTorch: python/ancoder_torch, DDP; README \"Scaling out\")." };
        var nproc = new Option<int?>("--nproc") { Description = "With --engine torch: local processes (DDP over gloo on CPU, NCCL on CUDA; default 1)." };
        var fsdp = new Option<string?>("--fsdp") { Description = "With --engine torch: auto (default: FSDP for models of >= 300M parameters, e.g. ancoder-809m, with several processes), on or off (DDP)." };
        var resume = new Option<bool>("--resume") { Description = "Continue the run in --out from its newest valid checkpoint (its config.json is the base config)." };
        var set = new Option<string[]>("--set") { Description = "Any config field as snake_key=value (repeatable), e.g. --set beta2=0.98; applied after the flags." };
        var command = new Command("train", "Train a diffusion model (MDLM or anchored) or, with --objective ar, an autoregressive Qwen2 model (docs/recipe.md); AdamW + cosine LR; checkpoints, exact resume, metrics.jsonl.");
        command.Options.Add(configFile);
        // One flag per [Setting] property of TrainingConfig: a new field with the attribute is a new flag.
        var defaults = new TrainingConfig();
        var flags = SettingOverrides.Describe<TrainingConfig>().Where(s => s.Help is not null).Select(setting =>
        {
            object? value = setting.Property.GetValue(defaults);
            string help = setting.Help + (Nullable.GetUnderlyingType(setting.Type) ?? setting.Type) switch
            {
                { IsEnum: true } type => $" One of {string.Join(", ", Enum.GetNames(type).Select(n => n.ToLowerInvariant()))}",
                _ => "",
            } + (value is null or false ? "" : $" (default {JsonSerializer.Serialize(value, SettingsJson.Options).Trim('"')})");
            Option option = setting.Type == typeof(bool) ? new Option<bool>("--" + setting.Flag) { Description = help }
                : new Option<string?>("--" + setting.Flag) { Description = help };
            command.Options.Add(option);
            return (Setting: setting, Option: option);
        }).ToList();
        command.Options.Add(resume);
        command.Options.Add(set);
        command.Options.Add(engine);
        command.Options.Add(nproc);
        command.Options.Add(fsdp);
        command.SetAction(parse =>
        {
            try
            {
                var given = flags.Where(f => parse.GetResult(f.Option) is not null)
                    .Select(f => (f.Setting.Key, Value: f.Option is Option<bool> b ? parse.GetValue(b).ToString().ToLowerInvariant() : parse.GetValue((Option<string?>)f.Option)!))
                    .ToList();
                // --steps and --tokens replace each other (whichever the base config had).
                if (given.Any(g => g.Key == "max_steps") && given.All(g => g.Key != "max_tokens")) given.Add(("max_tokens", "null"));
                if (given.Any(g => g.Key == "max_tokens") && given.All(g => g.Key != "max_steps")) given.Add(("max_steps", "null"));
                given.AddRange((parse.GetValue(set) ?? []).Select(SettingOverrides.ParseAssignment));
                string? outDir = given.LastOrDefault(g => g.Key == "output").Value;
                bool resuming = parse.GetValue(resume);
                if (resuming && outDir is null) throw new ConfigException("--resume needs --out RUN_DIR");
                string? baseFile = parse.GetValue(configFile)
                                   ?? (resuming && File.Exists(Path.Combine(outDir!, TrainingRun.ConfigFileName)) ? Path.Combine(outDir!, TrainingRun.ConfigFileName) : null);
                var config = SettingOverrides.Apply(baseFile is null ? new TrainingConfig() : TrainingConfig.Load(baseFile), given);
                config = config with
                {
                    Data = config.Data ?? (config.Sft ? RepositoryPaths.DefaultSftData : RepositoryPaths.DefaultPreparedData),
                    Output = config.Output ?? Path.Combine("runs", $"{config.RunLabel}-{DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)}"),
                };
                config.Validated(baseFile);
                var torch = TorchEngine.FromOptions(parse.GetValue(engine), parse.GetValue(nproc), parse.GetValue(fsdp), RepositoryPaths.FindRoot());
                return torch is null ? Train(config, resuming) : TrainWithTorch(config, resuming, torch);
            }
            catch (Exception e) when (e is ConfigException or FormatException)
            {
                Console.Error.WriteLine($"ancoder train: {e.Message}");
                return 2;
            }
        });
        return command;
    }

    private static int TrainWithTorch(TrainingConfig config, bool resume, TorchEngineOptions torch)
    {
        try
        {
            return TorchEngine.Run(config, resume, torch);
        }
        catch (TrainingException e)
        {
            Console.Error.WriteLine($"ancoder train: {e.Message}");
            return 2;
        }
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
            var result = AnCoder.Reporting.Plotting.RunPlots.WriteIntoRun(runDirectory);
            foreach (var warning in result.Warnings) Console.Error.WriteLine($"ancoder train: plots: {warning}");
            Console.WriteLine($"plots: {Path.Combine(runDirectory, AnCoder.Reporting.Plotting.RunPlots.RunPlotsFolder)} ({result.Files.Count} files; `ancoder plot` overlays several runs)");
        }
        catch (Exception e) when (e is AnCoder.Reporting.Plotting.PlotException or IOException or UnauthorizedAccessException)
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

    /// <summary>The validation figure: next-token NLL for AR runs (docs/recipe.md §1), the NELBO for diffusion runs.</summary>
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
