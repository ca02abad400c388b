using System.CommandLine;
using AnCoder.Experiments.Generation;
using AnCoder.Experiments.Repro;
using AnCoder.Diffusion.Configuration;
using AnCoder.Diffusion.Runtime;
using AnCoder.Diffusion.Training;
using AnCoder.Evaluation.Execution;
using Spectre.Console;

namespace AnCoder.Cli.Commands;

/// <summary>
/// <c>ancoder repro [--budget MINUTES] [--seeds K] [--out DIR] [--config FILE]</c>: the paper's comparison at CPU
/// scale (MDLM against the anchored variants, equal compute and data order, K seeds), T-scaling, the λ ablation and
/// the AnchorTree ρ/d0 sweep, evaluated on HumanEval/MBPP, written up as OUT/REPORT.md. Resumable: run the same
/// command again after an interruption.
/// </summary>
public static class ReproCommand
{
    public static Command Create()
    {
        var budget = new Option<double?>("--budget") { Description = "Wall-clock budget in minutes; the training share (train_share, default 0.6) is split evenly over the runs after timing a few steps (default 120)." };
        var seeds = new Option<int?>("--seeds") { Description = "Seeds per variant (default 3)." };
        var output = new Option<string>("--out") { Description = "Experiment folder: config.json, plan.json, runs/, results.json, plots/, REPORT.md.", DefaultValueFactory = _ => "repro" };
        var config = new Option<string?>("--config") { Description = "Experiment config JSON (snake_case fields: preset, variants, steps, eval problems and n, t_scaling, lambda_ablation, rho_d0_sweep, ...; see docs in README); flags override it." };
        var steps = new Option<long?>("--steps") { Description = "Steps per training run (instead of deriving them from --budget)." };
        var data = new Option<string?>("--data") { Description = "Prepared corpus folder (default: the config's, else <repo>/data/prepared)." };
        var benchmarkData = new Option<string?>("--benchmark-data") { Description = "HumanEval/MBPP folder (default: $ANCODER_DATA, else shared/datasets beside the repository)." };
        var workers = new Option<int>("--workers") { Description = "Worker processes sharing a recipe experiment (config \"recipe\"; docs/recipe.md §4): each claims stages and evaluations with lock files, torch threads 1 unless training.threads says otherwise; helpers log to OUT/logs/.", DefaultValueFactory = _ => 1 };
        var engine = new Option<string?>("--engine") { Description = "Engine of the training stages: csharp (default) or torch (PyTorch, as `train --engine torch`; evaluation, probing and the report stay in .NET)." };
        var nproc = new Option<int?>("--nproc") { Description = "With --engine torch: local processes per training stage (DDP; default 1)." };
        var fsdp = new Option<string?>("--fsdp") { Description = "With --engine torch: auto (default; FSDP for models of >= 300M parameters with several processes), on or off." };
        var helper = new Option<bool>(ReproWorkers.HelperFlag) { Description = "Run as a helper of --workers: claim work, leave REPORT.md to the parent (set by --workers itself)." };
        var command = new Command("repro", "Reproduce the paper's findings at CPU scale: train MDLM and the anchored variants with equal compute over K seeds, ablations, evaluate on HumanEval/MBPP, write REPORT.md; with a \"recipe\" config section, the paper's recipe (AR base, adaptation, SFT) and its Table 1.");
        foreach (var option in new Option[] { budget, seeds, output, config, steps, data, benchmarkData, workers, helper, engine, nproc, fsdp }) command.Options.Add(option);
        command.SetAction(parse =>
        {
            ReproConfig experiment;
            TorchEngineOptions? torch;
            try
            {
                experiment = parse.GetValue(config) is { } file ? ReproConfig.Load(file) : new ReproConfig();
                experiment = experiment with
                {
                    BudgetMinutes = parse.GetValue(budget) ?? experiment.BudgetMinutes,
                    Seeds = parse.GetValue(seeds) ?? experiment.Seeds,
                    Steps = parse.GetValue(steps) ?? experiment.Steps,
                    Training = experiment.Training with { Data = parse.GetValue(data) ?? experiment.Training.Data,
                        Threads = experiment.Training.Threads == 0 && (parse.GetValue(workers) > 1 || parse.GetValue(helper)) ? 1 : experiment.Training.Threads },
                };
                torch = TorchEngine.FromOptions(parse.GetValue(engine), parse.GetValue(nproc), parse.GetValue(fsdp), RepositoryPaths.FindRoot());
                var problems = experiment.Validate();
                if (problems.Count > 0) throw new ConfigException((parse.GetValue(config) is { } f ? $"{f}: " : "") + string.Join("; ", problems));
            }
            catch (ConfigException e)
            {
                Console.Error.WriteLine($"ancoder repro: {e.Message}");
                return 2;
            }
            string commandLine = "ancoder " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1).Select(Quote));
            if (parse.GetValue(workers) is < 1 or > 16) { Console.Error.WriteLine("ancoder repro: --workers must be in 1..16"); return 2; }
            using var helpers = parse.GetValue(workers) > 1 && experiment.Recipe is not null ? ReproWorkers.Start(parse.GetValue(workers) - 1, parse.GetValue(output)!) : null;
            return Run(experiment, parse.GetValue(output)!, commandLine, parse.GetValue(benchmarkData), new RecipeWorkerOptions { WriteReport = !parse.GetValue(helper) }, torch);
        });
        return command;
    }

    private static int Run(ReproConfig config, string output, string commandLine, string? benchmarkData, RecipeWorkerOptions worker, TorchEngineOptions? torch)
    {
        try
        {
            TorchRuntime.Initialize();
        }
        catch (TorchUnavailableException e)
        {
            Console.Error.WriteLine($"ancoder repro: {e.Message}");
            return 1;
        }
        using var stopSignals = StopSignals.Listen();
        var cancellation = stopSignals.Source;
        try
        {
            ReproOutcome outcome = ReproOutcome.Completed;
            if (Console.IsOutputRedirected)
                outcome = ReproRunner.Run(config, output, commandLine, new PlainProgress(), cancellation.Token, benchmarkData, worker, torch);
            else
                AnsiConsole.Progress().AutoClear(true).HideCompleted(true)
                    .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                    .Start(context => outcome = ReproRunner.Run(config, output, commandLine, new BarProgress(context), cancellation.Token, benchmarkData, worker, torch));
            if (outcome == ReproOutcome.Interrupted)
            {
                Console.WriteLine($"interrupted: run the same command again to continue ({output})");
                return 0;
            }
            Console.WriteLine(worker.WriteReport ? $"report: {Path.Combine(output, ReproReport.FileName)}" : "no work left (the parent writes the report)");
            return 0;
        }
        catch (Exception e) when (e is ConfigException or TrainingException or ModelEvalException or SandboxUnavailableException or IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"ancoder repro: {e.Message}");
            return 2;
        }
    }

    private static string Quote(string argument) =>
        argument.Length > 0 && argument.All(c => char.IsLetterOrDigit(c) || "-_./=:,".Contains(c)) ? argument : "'" + argument.Replace("'", "'\\''") + "'";

    private sealed class BarProgress(ProgressContext context) : IReproProgress
    {
        private ProgressTask? _task;

        public void Message(string line) => AnsiConsole.MarkupLine(Markup.Escape(line));
        public void Begin(string description, long total) => _task = context.AddTask(Markup.Escape(description), maxValue: Math.Max(1, total));
        public void Advance(long done) { if (_task is not null) _task.Value = done; }
        public void End()
        {
            if (_task is null) return;
            _task.Value = _task.MaxValue;
            _task.StopTask();
            _task = null;
        }
    }

    /// <summary>Output redirected (a log file): one line per phase and message.</summary>
    private sealed class PlainProgress : IReproProgress
    {
        private string? _phase;
        private DateTime _started;

        public void Message(string line) => Console.WriteLine(line);
        public void Begin(string description, long total)
        {
            (_phase, _started) = (description, DateTime.UtcNow);
            Console.WriteLine($"{description} ({total})");
        }
        public void Advance(long done) { }
        public void End()
        {
            if (_phase is not null) Console.WriteLine($"{_phase}: done in {(DateTime.UtcNow - _started).TotalSeconds:F0} s");
            _phase = null;
        }
    }
}
