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
        var model = new Option<string>("--model") { Description = "Model folder (config.json + model.safetensors [+ tokenizer.json]): a diffusion model, or an autoregressive one (`train --objective ar`: sampled left to right with a KV cache); random:<preset> / random-ar:<preset> = untrained diffusion / autoregressive weights (for tests and timing).", Required = true };
        var prompt = new Option<string[]>("--prompt") { Description = "Prompt text; repeat for a batch of different prompts. <|mask:N|> anywhere = N tokens to infill (then no tokens are appended).", AllowMultipleArgumentsPerToken = false };
        var promptFile = new Option<string[]>("--prompt-file") { Description = "Read a prompt (or infilling template) from a file; repeatable." };
        var n = new Option<int>("--n") { Description = "Samples per prompt.", DefaultValueFactory = _ => 1 };
        var steps = new Option<int>("--steps") { Description = "Reverse steps T.", DefaultValueFactory = _ => 128 };
        var length = new Option<int>("--length") { Description = "Generation length G: masked tokens appended to a prompt without placeholders (AR models: most new tokens).", DefaultValueFactory = _ => 128 };
        var temperature = new Option<double>("--temperature") { Description = "Sampling temperature τ (0 = greedy).", DefaultValueFactory = _ => 0.8 };
        var remask = new Option<string?>("--remask") { Description = "Remasking: none, cap:η, rescale:η, conf, loop:η[:t_on:t_off:α_on]. Default: cap:0.1 for anchored models, none for MDLM." };
        var order = new Option<string>("--order") { Description = "Which masked positions a step unmasks: random (paper), confidence, margin, entropy.", DefaultValueFactory = _ => "random" };
        order.AcceptOnlyFromAmong("random", "confidence", "margin", "entropy");
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
        foreach (var option in new Option[] { model, prompt, promptFile, n, steps, length, temperature, remask, order, seed, topP, batch, precision, stop, noCache, trace, threads })
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
            if (loaded.Model is CausalLmModel)
                return SampleAutoregressive(loaded, prompts, new AutoregressiveOptions
                {
                    Temperature = parse.GetValue(temperature), TopP = parse.GetValue(topP), MaxNewTokens = parse.GetValue(length),
                    StopSequences = parse.GetValue(stop) ?? [],
                }, parse.GetValue(n), parse.GetValue(batch), parse.GetValue(seed));
            SamplerOptions options;
            try
            {
                options = loaded.DefaultOptions(parse.GetValue(remask)) with
                {
                    Steps = parse.GetValue(steps), Temperature = parse.GetValue(temperature), TopP = parse.GetValue(topP),
                    Order = Enum.Parse<UnmaskOrder>(parse.GetValue(order)!, ignoreCase: true), Caching = !parse.GetValue(noCache),
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

    /// <summary>
    /// An autoregressive model (docs/recipe.md §2): --length new tokens at most, temperature, top-p, stop sequences;
    /// a prompt's samples run together in batches of --batch with a KV cache. Sample j of prompt i uses the seed
    /// derived from (seed, i·n + j), as for diffusion models.
    /// </summary>
    private static int SampleAutoregressive(LoadedModel loaded, IReadOnlyList<string> prompts, AutoregressiveOptions options, int n, int batch, int seed)
    {
        var problems = options.Validate();
        if (problems.Count > 0) return Fail(string.Join("; ", problems));
        var sampler = new AutoregressiveSampler((CausalLmModel)loaded.Model, loaded.Tokenizer);
        double seconds = 0, network = 0;
        long tokens = 0;
        int count = 0;
        try
        {
            for (int p = 0; p < prompts.Count; p++)
            {
                if (prompts[p].Contains("<|mask:", StringComparison.Ordinal))
                    return Fail($"prompt {p}: <|mask:N|> infilling needs a diffusion model; an autoregressive model only completes prompts");
                var ids = loaded.Tokenizer.EncodeToIds(System.Text.Encoding.UTF8.GetBytes(prompts[p]));
                for (int start = 0; start < n; start += batch)
                {
                    var seeds = Enumerable.Range(start, Math.Min(batch, n - start)).Select(j => SampleSeeds.Derive(seed, p * n + j)).ToList();
                    var samples = sampler.Sample(ids, seeds, options);
                    for (int k = 0; k < samples.Count; k++)
                    {
                        AnsiConsole.MarkupLine($"[grey]── prompt {p}, sample {start + k} ──[/]");
                        Console.WriteLine(prompts[p] + samples[k].Completion);
                    }
                    var run = sampler.LastRun!;
                    seconds += run.TotalSeconds;
                    network += run.NetworkSeconds;
                    tokens += run.GeneratedTokens;
                    count += samples.Count;
                }
            }
        }
        catch (ArgumentException e)
        {
            return Fail(e.Message);
        }
        Console.Error.WriteLine($"{count} samples in {seconds:F2} s ({tokens / Math.Max(seconds, 1e-9):F0} generated tokens/s, KV cache); "
            + $"{100 * (1 - network / Math.Max(seconds, 1e-9)):F1}% of the time outside the network");
        return 0;
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
    /// default tokenizer; a Hugging Face Qwen2 config.json loads the autoregressive model) or <c>random:&lt;preset&gt;</c>
    /// (<c>random-ar:&lt;preset&gt;</c>: the causal model of that shape). Errors come back as one line naming the file.
    /// </summary>
    public static bool TryLoad(string source, string precision, out LoadedModel? loaded, out string? error)
    {
        loaded = null;
        error = null;
        try
        {
            DiffusionModel model;
            ByteLevelBpe tokenizer;
            if (source.StartsWith("random:", StringComparison.Ordinal) || source.StartsWith("random-ar:", StringComparison.Ordinal))
            {
                torch.manual_seed(0);
                var preset = ModelPresets.Get(source[(source.IndexOf(':') + 1)..]);
                model = DiffusionModel.Create(source.StartsWith("random-ar:", StringComparison.Ordinal) ? preset with { Architecture = Architecture.Causal } : preset);
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

    /// <summary>Defaults: cap η = 0.1 for anchored models, no remasking for MDLM (ALGORITHMS.md §7); the model's schedule.</summary>
    public SamplerOptions DefaultOptions(string? remask) => new()
    {
        Remask = remask is not null ? RemaskOptions.Parse(remask)
            : Config.Architecture != Architecture.Anchored ? RemaskOptions.None : RemaskOptions.PaperDefault,
        Schedule = Config.Diffusion.Schedule,
        ScheduleEpsilon = Config.Diffusion.ScheduleEpsilon,
    };

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
        string settings = $"T={options.Steps} τ={options.Temperature} top-p={options.TopP} remask={options.Remask} order={options.Order.ToString().ToLowerInvariant()} schedule={options.Schedule}";
        return new TraceDocument(Name, settings, $"{AnchorWeightOptions.Name(anchors.Strategy)} λ={anchors.Lambda} ρ={anchors.Rho} d0={anchors.D0}", traces);
    }
}
