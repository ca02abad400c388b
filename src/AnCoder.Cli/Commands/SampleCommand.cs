using System.CommandLine;
using System.Text.Json;
using AnCoder.Anchoring.Labels;
using AnCoder.Anchoring.Tokenization;
using AnCoder.Cli.Traces;
using AnCoder.Diffusion.Configuration;
using AnCoder.Diffusion.Model;
using AnCoder.Diffusion.Runtime;
using AnCoder.Diffusion.Sampling;
using Spectre.Console;
using TorchSharp;

namespace AnCoder.Cli.Commands;

/// <summary>
/// <c>ancoder sample --model DIR --prompt TEXT</c>: the reverse process of ALGORITHMS.md §7 on prompts (completion)
/// or templates with <c>&lt;|mask:N|&gt;</c> placeholders (infilling); prints the completions; <c>--trace</c> writes
/// every step as JSON or a self-contained HTML replay.
/// </summary>
public static class SampleCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model folder (config.json + model.safetensors [+ tokenizer.json]); random:<preset> = untrained weights (for tests and timing).", Required = true };
        var prompt = new Option<string[]>("--prompt") { Description = "Prompt text; repeat for a batch of different prompts. <|mask:N|> anywhere = N tokens to infill (then no tokens are appended).", AllowMultipleArgumentsPerToken = false };
        var promptFile = new Option<string[]>("--prompt-file") { Description = "Read a prompt (or infilling template) from a file; repeatable." };
        var n = new Option<int>("--n") { Description = "Samples per prompt.", DefaultValueFactory = _ => 1 };
        var steps = new Option<int>("--steps") { Description = "Reverse steps T.", DefaultValueFactory = _ => 128 };
        var length = new Option<int>("--length") { Description = "Generation length G: masked tokens appended to a prompt without placeholders.", DefaultValueFactory = _ => 128 };
        var temperature = new Option<double>("--temperature") { Description = "Sampling temperature τ (0 = greedy).", DefaultValueFactory = _ => 0.8 };
        var remask = new Option<string?>("--remask") { Description = "Remasking: none, cap:η, rescale:η, conf, loop:η[:t_on:t_off:α_on]. Default: cap:0.1 for anchored models, none for MDLM." };
        var order = new Option<string>("--order") { Description = LoadedModel.OrderHelp, DefaultValueFactory = _ => "random" };
        order.AcceptOnlyFromAmong(LoadedModel.OrderNames);
        var parallel = new Option<double?>("--parallel") { Description = LoadedModel.ParallelHelp };
        var repair = new Option<int>("--repair") { Description = LoadedModel.RepairHelp, DefaultValueFactory = _ => 0 };
        var seed = new Option<int>("--seed") { Description = "Seed: sample j of prompt i always uses the stream derived from (seed, i·n + j).", DefaultValueFactory = _ => 0 };
        var topP = new Option<double>("--top-p") { Description = "Nucleus sampling threshold (1 = off).", DefaultValueFactory = _ => 1.0 };
        var batch = new Option<int>("--batch") { Description = "Canvases per forward pass.", DefaultValueFactory = _ => 20 };
        var precision = new Option<string>("--precision") { Description = "Activation dtype: fp32 or bf16.", DefaultValueFactory = _ => "fp32" };
        precision.AcceptOnlyFromAmong("fp32", "bf16");
        var stop = new Option<string[]>("--stop") { Description = "Stop sequence that ends a completion (repeatable), e.g. --stop $'\\ndef '." };
        var noCache = new Option<bool>("--no-cache") { Description = "Run the networks every step even when the previous step changed nothing." };
        var trace = new Option<string?>("--trace") { Description = "Write every step to OUT.html (self-contained replay) or OUT.json." };
        var threads = new Option<int>("--threads") { Description = "Torch threads (0 = torch's default).", DefaultValueFactory = _ => 0 };
        var command = new Command("sample", "Generate code with a diffusion model: completion or infilling, batches, remasking, traces.");
        foreach (var option in new Option[] { model, prompt, promptFile, n, steps, length, temperature, remask, order, parallel, repair, seed, topP, batch, precision, stop, noCache, trace, threads })
            command.Options.Add(option);
        command.SetAction(parse =>
        {
            var prompts = new List<string>(parse.GetValue(prompt) ?? []);
            foreach (var file in parse.GetValue(promptFile) ?? [])
            {
                if (!File.Exists(file)) return Fail($"--prompt-file {file}: no such file");
                prompts.Add(File.ReadAllText(file));
            }
            if (prompts.Count == 0) return Fail("give --prompt TEXT or --prompt-file FILE");
            if (parse.GetValue(n) < 1) return Fail("--n must be at least 1");
            if (parse.GetValue(length) < 0) return Fail("--length must be >= 0");
            if (parse.GetValue(batch) < 1) return Fail("--batch must be at least 1");
            TorchRuntime.Initialize();
            if (parse.GetValue(threads) > 0) torch.set_num_threads(parse.GetValue(threads));
            if (!LoadedModel.TryLoad(parse.GetValue(model)!, parse.GetValue(precision)!, out var loaded, out string? error)) return Fail(error!);
            using var _ = loaded!.Model;
            SamplerOptions options;
            try
            {
                options = loaded.DefaultOptions(parse.GetValue(remask), parse.GetValue(parallel)) with
                {
                    Steps = parse.GetValue(steps), Temperature = parse.GetValue(temperature), TopP = parse.GetValue(topP),
                    Order = Enum.Parse<UnmaskOrder>(parse.GetValue(order)!, ignoreCase: true), Caching = !parse.GetValue(noCache),
                    RepairRounds = parse.GetValue(repair),
                };
            }
            catch (FormatException e)
            {
                return Fail(e.Message);
            }
            var problems = options.Validate();
            if (problems.Count > 0) return Fail(string.Join("; ", problems));
            var generation = new GenerationOptions
            {
                Length = parse.GetValue(length), SamplesPerPrompt = parse.GetValue(n), BatchSize = parse.GetValue(batch),
                Seed = parse.GetValue(seed), StopSequences = parse.GetValue(stop) ?? [], Record = parse.GetValue(trace) is not null,
            };
            List<GeneratedSample> samples;
            try
            {
                samples = loaded.Generate(prompts, options, generation, out var sampler);
                var totals = Totals(sampler.Runs, samples);
                foreach (var sample in samples)
                {
                    AnsiConsole.MarkupLine($"[grey]── prompt {sample.PromptIndex}, sample {sample.SampleIndex} ──[/]");
                    Console.WriteLine(sample.Text.Text);
                }
                Console.Error.WriteLine(totals);
                if (parse.GetValue(trace) is string tracePath)
                {
                    TraceFiles.Write(tracePath, loaded.Trace(samples, options));
                    Console.Error.WriteLine($"trace: {tracePath}");
                }
            }
            catch (FormatException e)
            {
                return Fail(e.Message);
            }
            catch (ArgumentException e)
            {
                return Fail(e.Message);
            }
            return 0;
        });
        return command;
    }

    internal static string Totals(IReadOnlyList<SamplingStatistics> runs, IReadOnlyList<GeneratedSample> samples)
    {
        double seconds = runs.Sum(r => r.TotalSeconds), network = runs.Sum(r => r.NetworkSeconds);
        long generated = samples.Sum(s => s.Canvas.Frozen.Count(f => !f));
        return $"{samples.Count} samples in {seconds:F2} s ({samples.Count / Math.Max(seconds, 1e-9):F2} samples/s, {generated / Math.Max(seconds, 1e-9):F0} generated tokens/s); "
            + $"{runs.Sum(r => r.NetworkCalls)} network calls, {100 * (1 - network / Math.Max(seconds, 1e-9)):F1}% of the time outside them";
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine($"ancoder sample: {message}");
        return 2;
    }
}

/// <summary>A model ready to sample: weights, tokenizer and the anchor strategy it was trained with.</summary>
internal sealed class LoadedModel
{
    public required DiffusionModel Model { get; init; }
    public required ByteLevelBpe Tokenizer { get; init; }
    public required string Name { get; init; }

    public ModelConfig Config => Model.Config;

    /// <summary>
    /// Loads DIR (config.json + model.safetensors, tokenizer.json or vocab.json+merges.txt beside them, else the
    /// default tokenizer) or <c>random:&lt;preset&gt;</c>. Errors come back as one line naming the file.
    /// </summary>
    public static bool TryLoad(string source, string precision, out LoadedModel? loaded, out string? error)
    {
        loaded = null;
        error = null;
        try
        {
            DiffusionModel model;
            ByteLevelBpe tokenizer;
            if (source.StartsWith("random:", StringComparison.Ordinal))
            {
                torch.manual_seed(0);
                model = DiffusionModel.Create(ModelPresets.Get(source["random:".Length..]));
                tokenizer = DefaultTokenizer.Load();
            }
            else
            {
                if (!Directory.Exists(source)) { error = $"--model {source}: no such folder"; return false; }
                foreach (var file in new[] { "config.json", "model.safetensors" })
                    if (!File.Exists(Path.Combine(source, file))) { error = $"--model {source}: {file} is missing"; return false; }
                model = AnCoder.Diffusion.Checkpoints.ModelCheckpoint.Load(source);
                bool hasTokenizer = File.Exists(Path.Combine(source, HfTokenizerFiles.TokenizerJson)) || File.Exists(Path.Combine(source, HfTokenizerFiles.VocabJson));
                tokenizer = hasTokenizer ? HfTokenizerFiles.Load(source) : DefaultTokenizer.Load();
            }
            if (tokenizer.VocabSize > model.Config.VocabSize)
            {
                error = $"--model {source}: the tokenizer has {tokenizer.VocabSize} ids but the model only {model.Config.VocabSize} rows";
                return false;
            }
            model.eval();
            model.ComputeType = precision == "bf16" ? torch.ScalarType.BFloat16 : torch.ScalarType.Float32;
            loaded = new LoadedModel { Model = model, Tokenizer = tokenizer, Name = source };
            return true;
        }
        catch (Exception e) when (e is ConfigException or AnCoder.Diffusion.Checkpoints.CheckpointException or IOException or InvalidDataException or JsonException or ArgumentException or InvalidOperationException)
        {
            error = $"--model {source}: {e.Message}";
            return false;
        }
    }

    /// <summary>
    /// Defaults: cap η = 0.1 for anchored models, no remasking for MDLM or with confidence-parallel steps
    /// (<paramref name="parallel"/> = τ; ALGORITHMS.md §7); the model's schedule; the tokenizer's anchor-token table (for
    /// the anchor order).
    /// </summary>
    public SamplerOptions DefaultOptions(string? remask, double? parallel = null) => new()
    {
        Remask = remask is not null ? RemaskOptions.Parse(remask)
            : Config.Architecture == Architecture.Mdlm || parallel is not null ? RemaskOptions.None : RemaskOptions.PaperDefault,
        Schedule = Config.Diffusion.Schedule,
        ScheduleEpsilon = Config.Diffusion.ScheduleEpsilon,
        ParallelThreshold = parallel,
        AnchorTokens = AnchorTokens,
    };

    private bool[]? _anchorTokens;

    /// <summary>Which ids are anchor tokens (<see cref="AnchorTokenTable"/>), built once per model.</summary>
    public bool[] AnchorTokens => _anchorTokens ??= AnchorTokenTable.Build(Tokenizer, [Config.MaskTokenId, Config.EosTokenId, Config.PadTokenId]);

    /// <summary>The text of an --order value.</summary>
    public static readonly string[] OrderNames = ["random", "confidence", "margin", "entropy", "anchor"];

    /// <summary>Help text shared by the commands that take --order and --parallel.</summary>
    public const string OrderHelp = "Which masked positions a step unmasks: random (paper), confidence, margin, entropy, or anchor "
        + "(positions whose current prediction is a keyword or identifier first, then by confidence).";

    public const string RepairHelp = "Syntax-repair rounds R (0 = off): a sample whose text (after end-of-text and --stop) does not parse gets "
        + "the tokens of the line our parser names remasked and a few more reverse steps on them; each further round the enclosing block.";

    public const string ParallelHelp = "Confidence-parallel steps (Fast-dLLM) with threshold τ in [0, 1]: each step reveals every masked "
        + "position whose probability exceeds τ (at least one), until none is left; network calls adapt, --steps is not used, no remasking.";

    public List<GeneratedSample> Generate(IReadOnlyList<string> prompts, SamplerOptions options, GenerationOptions generation, out PromptSampler sampler)
    {
        sampler = new PromptSampler(new ModelDenoiser(Model), Tokenizer, options, Config.EosTokenId, Config.PadTokenId);
        var local = sampler;
        if (prompts.Count * generation.SamplesPerPrompt <= generation.BatchSize) return local.Generate(prompts, generation);
        List<GeneratedSample>? result = null;
        AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(context =>
            {
                var task = context.AddTask("sampling", maxValue: prompts.Count * generation.SamplesPerPrompt);
                result = local.Generate(prompts, generation, (done, _) => task.Value = done);
            });
        return result!;
    }

    /// <summary>
    /// Anchor labels for traces: the model's strategy (its λ, ρ, d0); for MDLM and Null models, AnchorTree's defaults so
    /// the display still shows keywords and identifiers.
    /// </summary>
    public AnchorWeightOptions AnchorOptions()
    {
        var settings = Config.Diffusion;
        var strategy = AnchorWeightOptions.Parse(settings.Strategy);
        return strategy is AnchorStrategy.Mdlm or AnchorStrategy.Null
            ? AnchorWeightOptions.Defaults(AnchorStrategy.AnchorTree)
            : new AnchorWeightOptions(strategy, settings.AnchorLambda, settings.AnchorRho, settings.AnchorD0);
    }

    public TraceDocument Trace(IReadOnlyList<GeneratedSample> samples, SamplerOptions options)
    {
        var anchors = AnchorOptions();
        var traces = samples.Select(s => SamplingTraces.Build(s.Recorder!, s.BatchRow, s.Prompt, s.Text, Tokenizer, anchors, Config.MaskTokenId)).ToList();
        string steps = options.ParallelThreshold is { } threshold ? FormattableString.Invariant($"parallel τ>{threshold}") : $"T={options.Steps}";
        if (options.RepairRounds > 0) steps += $" repair={options.RepairRounds}×{options.RepairSteps}";
        string settings = $"{steps} temperature={options.Temperature} top-p={options.TopP} remask={options.Remask} order={options.Order.ToString().ToLowerInvariant()} schedule={options.Schedule}";
        return new TraceDocument(Name, settings, $"{AnchorWeightOptions.Name(anchors.Strategy)} λ={anchors.Lambda} ρ={anchors.Rho} d0={anchors.D0}", traces);
    }
}
