using AnCoder.Anchoring.Labels;
using AnCoder.Diffusion.Configuration;
using System.CommandLine;
using AnCoder.Anchoring.Corpus;
using AnCoder.Anchoring.Tokenization;
using AnCoder.Experiments.Traces;
using AnCoder.Diffusion.Runtime;
using AnCoder.Diffusion.Sampling;
using AnCoder.Diffusion.Training;
using Spectre.Console;

namespace AnCoder.Cli.Commands;

/// <summary>
/// <c>ancoder demo</c>: on a fresh clone, prepares the corpus from python3's standard library, trains a <c>tiny</c>
/// AnchorTree model for a few minutes (reused on later runs), completes the paper's <c>find_max</c> prompt and a few
/// others while printing the denoising, and writes an HTML trace.
/// </summary>
public static class DemoCommand
{
    public static string DefaultDirectory => Environment.GetEnvironmentVariable("ANCODER_DEMO_DIR") is { Length: > 0 } dir ? dir
        : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "ancoder", "demo");

    public static Command Create()
    {
        var directory = new Option<string?>("--dir") { Description = "Demo folder: corpus in data/, training run in run/, model in model/. Default: $ANCODER_DEMO_DIR or ~/.cache/ancoder/demo." };
        var minutes = new Option<double>("--minutes") { Description = "Training time budget when no model exists yet.", DefaultValueFactory = _ => 5.0 };
        var retrain = new Option<bool>("--retrain") { Description = "Train a new model even if the demo folder already holds one." };
        var steps = new Option<int>("--steps") { Description = "Reverse steps T.", DefaultValueFactory = _ => 64 };
        var length = new Option<int>("--length") { Description = "Generated tokens per prompt (G).", DefaultValueFactory = _ => 48 };
        var seed = new Option<int>("--seed") { Description = "Sampling seed.", DefaultValueFactory = _ => 0 };
        var trace = new Option<string?>("--trace") { Description = "HTML trace path. Default: <dir>/demo-trace.html." };
        var order = SettingOption.Create("--order", "For the further prompts: which masked positions a step unmasks (anchor: positions whose prediction is a keyword or identifier first; anchordepth: those weighted by estimated depth, outer levels first; lefttoright: the leftmost masked positions, semi-autoregressive):", UnmaskOrder.Random);
        var parallel = new Option<double?>("--parallel") { Description = "For the further prompts: " + LoadedModel.ParallelHelp };
        var repair = new Option<int>("--repair") { Description = "For the further prompts: " + LoadedModel.RepairHelp, DefaultValueFactory = _ => 0 };
        var guard = SettingOption.Create("--guard", "For the further prompts: " + LoadedModel.GuardHelp, DecodingGuard.None);
        var command = new Command("demo", "Train a tiny AnCoder on python3's stdlib (first run only, a few minutes), then watch it complete find_max and other prompts; writes an HTML trace.");
        foreach (var option in new Option[] { directory, minutes, retrain, steps, length, seed, trace, order, parallel, repair, guard }) command.Options.Add(option);
        command.SetAction(parse =>
        {
            string dir = Path.GetFullPath(parse.GetValue(directory) ?? DefaultDirectory);
            TorchRuntime.Initialize();
            try
            {
                string? model = EnsureModel(dir, parse.GetValue(minutes), parse.GetValue(retrain));
                if (model is null) return 2;
                var further = (Order: parse.GetValue(order), Parallel: parse.GetValue(parallel), Repair: Math.Max(0, parse.GetValue(repair)), Guard: parse.GetValue(guard));
                if (further.Parallel is { } tau && !(tau >= 0 && tau <= 1))
                {
                    Console.Error.WriteLine($"ancoder demo: --parallel {tau} must be in [0, 1]");
                    return 2;
                }
                return Show(model, parse.GetValue(steps), parse.GetValue(length), parse.GetValue(seed), parse.GetValue(trace) ?? Path.Combine(dir, "demo-trace.html"), further);
            }
            catch (Exception e) when (e is TrainingException or IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"ancoder demo: {e.Message}");
                return 2;
            }
        });
        return command;
    }

    /// <summary>The demo model folder: reused when complete, else the corpus is prepared and a model trained.</summary>
    private static string? EnsureModel(string dir, double minutes, bool retrain)
    {
        string modelDir = Path.Combine(dir, "model"), runDir = Path.Combine(dir, "run"), dataDir = Path.Combine(dir, "data");
        if (!retrain && File.Exists(Path.Combine(modelDir, "model.safetensors")) && File.Exists(Path.Combine(modelDir, "config.json")))
        {
            AnsiConsole.MarkupLine($"[green]reusing[/] the demo model in {Markup.Escape(modelDir)} (--retrain trains a new one)");
            return modelDir;
        }
        if (!PrepareCorpus(dataDir)) return null;
        if (Directory.Exists(runDir)) Directory.Delete(runDir, recursive: true);
        var config = new TrainingConfig
        {
            Model = "tiny", Strategy = AnchorStrategy.AnchorTree, Data = dataDir, Output = runDir, ContextLength = 256, MicroBatch = 8,
            // Training stops on the time budget; a long nominal run keeps the learning rate near its peak meanwhile.
            MaxSteps = 100_000, LearningRate = 1e-3, WarmupRatio = 0.0002, ValidationInterval = 0, ValidationBatches = 0,
            CheckpointInterval = 1_000_000, KeepLast = 1, LogInterval = 10, Seed = 0,
        };
        TrainingSummary? summary = null;
        using var budget = new CancellationTokenSource(TimeSpan.FromMinutes(minutes));
        AnsiConsole.MarkupLine($"training a [bold]tiny[/] AnchorTree model for {minutes:0.#} minutes on {Markup.Escape(dataDir)} → {Markup.Escape(runDir)}");
        AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(context =>
            {
                var task = context.AddTask("training", maxValue: minutes * 60);
                summary = TrainingRun.Run(config, new ProgressObserver(task), budget.Token);
                task.Value = task.MaxValue;
            });
        var result = summary!;
        if (result.Status == TrainingStatus.Diverged)
        {
            Console.Error.WriteLine($"ancoder demo: training diverged: {result.Message}");
            return null;
        }
        string source = result.ModelDirectory ?? result.LastCheckpoint
            ?? TrainingCheckpoints.FindLatestValid(runDir)?.Path
            ?? throw new TrainingException($"training stopped without a checkpoint in {runDir}");
        Directory.CreateDirectory(modelDir);
        foreach (var file in new[] { "config.json", "model.safetensors", HfTokenizerFiles.TokenizerJson })
        {
            string from = Path.Combine(source, file);
            if (File.Exists(from)) File.Copy(from, Path.Combine(modelDir, file), overwrite: true);
        }
        AnsiConsole.MarkupLine($"trained {result.Steps} steps ({result.Tokens:N0} tokens) in {result.WallSeconds / 60:F1} min, last loss {result.LastLoss:F2} → {Markup.Escape(modelDir)}");
        return modelDir;
    }

    private static bool PrepareCorpus(string dataDir)
    {
        string? stdlib = RepositoryPaths.PythonStdlib();
        if (stdlib is null)
        {
            Console.Error.WriteLine("ancoder demo: python3's standard library was not found (the demo trains on it)");
            return false;
        }
        var options = new PrepareOptions
        {
            SourceDirectory = stdlib, OutputDirectory = dataDir, Tokenizer = DefaultTokenizer.Load(), TokenizerName = DefaultTokenizer.Name,
            ContextLength = 256,
        };
        var files = CorpusFiles.Enumerate(stdlib);
        if (CorpusBuilder.IsUpToDate(options, files, out _))
        {
            AnsiConsole.MarkupLine($"[green]corpus ready[/] in {Markup.Escape(dataDir)}");
            return true;
        }
        AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(context =>
            {
                var task = context.AddTask($"preparing the corpus from {stdlib}", maxValue: files.Count);
                CorpusBuilder.Build(options with { Force = true }, p => task.Value = p.FilesDone);
            });
        return true;
    }

    private sealed class ProgressObserver(ProgressTask task) : ITrainingObserver
    {
        public void OnStep(TrainingProgress progress)
        {
            task.Value = Math.Min(task.MaxValue, progress.Elapsed.TotalSeconds);
            task.Description = $"training: step {progress.Step}, loss {progress.Loss:F2}, {progress.TokensPerSecond:F0} tokens/s";
        }
    }

    private static int Show(string modelDir, int steps, int length, int seed, string tracePath, (UnmaskOrder Order, double? Parallel, int Repair, DecodingGuard Guard) further)
    {
        if (!LoadedModel.TryLoad(modelDir, Precision.Fp32, out var loaded, out string? error))
        {
            Console.Error.WriteLine($"ancoder demo: {error}");
            return 2;
        }
        using var _ = loaded!.Model;
        var generation = new GenerationOptions { Length = length, Seed = seed, Record = true, StopSequences = ["\ndef ", "\nclass ", "\nif __name__"] };
        var paper = loaded.DefaultOptions(null) with { Steps = steps };
        var confident = paper with { Order = UnmaskOrder.Confidence };
        var anchorFirst = paper with { Order = UnmaskOrder.Anchor };
        var others = loaded.DefaultOptions(null, further.Parallel) with { Steps = steps, Order = further.Order, RepairRounds = further.Repair, Guard = further.Guard };
        var samples = new List<(string Title, SampleTrace Trace)>();
        var allTraces = new List<SampleTrace>();

        void Run(string title, IReadOnlyList<string> prompts, SamplerOptions options)
        {
            var sampler = loaded.CreateSampler(options);
            var generated = SampleCommand.GenerateWithProgress(sampler, prompts, generation);
            var document = loaded.Trace(generated, options);
            foreach (var trace in document.Samples) samples.Add((title, trace));
            allTraces.AddRange(document.Samples);
            AnsiConsole.MarkupLine($"[grey]{Markup.Escape(SampleCommand.Totals(sampler.Runs, generated))}[/]");
        }

        AnsiConsole.Write(new Rule("[bold]find_max[/] — the paper's order (random positions, remask cap 0.1)"));
        Run("find_max, random order", [DemoPrompts.FindMax], paper);
        ShowDenoising(samples[^1].Trace);
        AnsiConsole.Write(new Rule("[bold]find_max[/] — confidence order (most certain positions first)"));
        Run("find_max, confidence order", [DemoPrompts.FindMax], confident);
        ShowDenoising(samples[^1].Trace);
        AnsiConsole.Write(new Rule("[bold]find_max[/] — anchor-first order (keywords and identifiers first: the scaffold, then the rest)"));
        Run("find_max, anchor-first order", [DemoPrompts.FindMax], anchorFirst);
        ShowDenoising(samples[^1].Trace);
        string how = (further.Parallel is { } tau ? FormattableString.Invariant($"confidence-parallel τ = {tau}, ") : "")
            + (further.Repair > 0 ? $"syntax repair {further.Repair} round(s), " : "") + (further.Guard != DecodingGuard.None ? "viable-prefix guard, " : "");
        AnsiConsole.Write(new Rule($"[bold]more prompts[/] ({how}order {further.Order.ToString().ToLowerInvariant()}; the last one infills <|mask:6|>)"));
        Run("others", DemoPrompts.Others, others);
        if (further.Repair > 0)
        {
            AnsiConsole.Write(new Rule($"[bold]syntax repair[/]: return a <|mask:1|> b, {DemoPrompts.RepairSamples} samples"));
            Run(DemoPrompts.RepairTitle, Enumerable.Repeat(DemoPrompts.RepairInfill, DemoPrompts.RepairSamples).ToList(), others);
        }
        foreach (var (title, trace) in samples.Skip(3)) ShowFinal(trace, repairVerdict: title == DemoPrompts.RepairTitle);

        var anchors = TraceFiles.AnchorSummary(samples.Select(s => s.Trace));
        AnsiConsole.MarkupLine($"\nmean reveal time (0 = first step, 1 = last) over all samples: keywords + identifiers {Format(anchors.Anchor)}, other tokens {Format(anchors.Other)}");
        var traceDocument = new TraceDocument(modelDir, $"T={steps} G={length} seed={seed}; samples 0, 1 and 2: find_max in the paper's random order, in confidence order and anchor-first",
            loaded.Trace([], paper).AnchorStrategy, allTraces);
        TraceFiles.Write(tracePath, traceDocument);
        AnsiConsole.MarkupLine($"HTML trace (open in a browser, no network needed): [link]{Markup.Escape(tracePath)}[/]");
        return 0;
    }

    /// <summary>Prints the canvas after ~¼, ½, ¾ of the steps and at the end: masked ░, keywords blue, identifiers yellow.</summary>
    private static void ShowDenoising(SampleTrace trace)
    {
        var tokens = trace.InitialTokens.ToArray();
        int total = trace.Steps.Count;
        var marks = new SortedSet<int> { total / 4, total / 2, 3 * total / 4, total - 1 };
        for (int k = 0; k < total; k++)
        {
            foreach (var change in trace.Steps[k].Changes) tokens[change.Position] = change.Text;
            if (!marks.Contains(k)) continue;
            int masked = tokens.Count(t => t is null);
            AnsiConsole.MarkupLine($"[grey]── step {k + 1}/{total}: {masked} masked ──[/]");
            AnsiConsole.MarkupLine(Render(trace, tokens, final: k == total - 1));
        }
        var s = trace.Summary;
        AnsiConsole.MarkupLine($"[grey]mean reveal time: keywords + identifiers {Format(s.AnchorMeanRevealFraction)} ({s.Anchors}), other tokens {Format(s.OtherMeanRevealFraction)} ({s.Others})"
            + (trace.Parsed ? "" : "; the final text does not parse, so keywords and identifiers are told by the tokenizer alone (no AST depth)") + "[/]");
    }

    private static void ShowFinal(SampleTrace trace, bool repairVerdict)
    {
        string? why = trace.Steps.Select(s => s.Note).LastOrDefault(n => n is not null);
        AnsiConsole.MarkupLine("[grey]──" + (!repairVerdict ? "" : why is null ? " parsed without repair" : Markup.Escape($" repaired ({why}), then {(trace.Parsed ? "parses" : "still does not parse")}")) + "[/]");
        var tokens = trace.InitialTokens.ToArray();
        foreach (var step in trace.Steps) foreach (var change in step.Changes) tokens[change.Position] = change.Text;
        AnsiConsole.MarkupLine(Render(trace, tokens, final: true));
    }

    private static string Format(double value) => double.IsNaN(value) ? "–" : value.ToString("F3", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Tokens dropped by end-of-text handling show grey until the final state, which leaves them out.</summary>
    private static string Render(SampleTrace trace, string?[] tokens, bool final)
    {
        var text = new System.Text.StringBuilder();
        for (int i = 0; i < tokens.Length; i++)
        {
            var position = trace.Positions[i];
            if (tokens[i] is null) { text.Append("[grey]░[/]"); continue; }
            if (!position.Kept && final) continue;
            string escaped = Markup.Escape(tokens[i]!);
            string? style = position.Frozen || !position.Kept ? "grey" : position.Keyword ? "bold blue" : position.Identifier ? "yellow" : null;
            text.Append(style is null ? escaped : $"[{style}]{escaped}[/]");
        }
        return text.ToString();
    }
}
