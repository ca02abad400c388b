using System.CommandLine;
using System.Text.Json;
using AnCoder.Anchoring.Labels;
using AnCoder.Anchoring.Tokenization;
using AnCoder.Experiments.Traces;
using AnCoder.Diffusion.Configuration;
using AnCoder.Diffusion.Model;
using AnCoder.Diffusion.Runtime;
using AnCoder.Diffusion.Sampling;
using Spectre.Console;
using TorchSharp;

namespace AnCoder.Cli.Commands;

/// <summary>
/// <c>ancoder sample --model DIR --prompt TEXT</c>: the reverse process of docs/algorithms.md §7 on prompts (completion)
/// or templates with <c>&lt;|mask:N|&gt;</c> placeholders (infilling); prints the completions; <c>--trace</c> writes
/// every step as JSON or a self-contained HTML replay.
/// </summary>
public static class SampleCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model folder (config.json + model.safetensors [+ tokenizer.json]): a diffusion model, or an autoregressive one (train --objective ar: sampled left to right with a KV cache); random:<preset> / random-ar:<preset> = untrained weights (for tests and timing).", Required = true };
        var prompt = new Option<string[]>("--prompt") { Description = "Prompt text; repeat for a batch of different prompts. <|mask:N|> anywhere = N tokens to infill (then no tokens are appended).", AllowMultipleArgumentsPerToken = false };
        var promptFile = new Option<string[]>("--prompt-file") { Description = "Read a prompt (or infilling template) from a file; repeatable." };
        var n = new Option<int>("--n") { Description = "Samples per prompt.", DefaultValueFactory = _ => 1 };
        var steps = new Option<int>("--steps") { Description = "Reverse steps T.", DefaultValueFactory = _ => 128 };
        var length = new Option<int>("--length") { Description = "Generation length G: masked tokens appended to a prompt without placeholders (AR models: most new tokens).", DefaultValueFactory = _ => 128 };
        var temperature = new Option<double>("--temperature") { Description = "Sampling temperature τ (0 = greedy).", DefaultValueFactory = _ => 0.8 };
        var remask = new Option<string?>("--remask") { Description = "Remasking: none, cap:η, rescale:η, conf, loop:η[:t_on:t_off:α_on]. Default: cap:0.1 for anchored models, none for MDLM." };
        var order = SettingOption.Create("--order", "Which masked positions a step unmasks (random is the paper's; anchor: positions whose prediction is a keyword or identifier first; anchordepth: those weighted by estimated depth, outer levels first; lefttoright: the leftmost masked positions, semi-autoregressive):", UnmaskOrder.Random);
        var parallel = new Option<double?>("--parallel") { Description = LoadedModel.ParallelHelp };
        var repair = new Option<int>("--repair") { Description = LoadedModel.RepairHelp, DefaultValueFactory = _ => 0 };
        var guard = SettingOption.Create("--guard", LoadedModel.GuardHelp, DecodingGuard.None);
        var repetitionPenalty = new Option<double>("--repetition-penalty") { Description = LoadedModel.RepetitionPenaltyHelp, DefaultValueFactory = _ => 1.0 };
        var frequencyPenalty = new Option<double>("--frequency-penalty") { Description = LoadedModel.FrequencyPenaltyHelp, DefaultValueFactory = _ => 0.0 };
        var seed = new Option<int>("--seed") { Description = "Seed: sample j of prompt i always uses the stream derived from (seed, i·n + j).", DefaultValueFactory = _ => 0 };
        var topP = new Option<double>("--top-p") { Description = "Nucleus sampling threshold (1 = off).", DefaultValueFactory = _ => 1.0 };
        var batch = new Option<int>("--batch") { Description = "Canvases per forward pass.", DefaultValueFactory = _ => 20 };
        var precision = SettingOption.Create("--precision", "Activation dtype:", Precision.Fp32);
        var stop = new Option<string[]>("--stop") { Description = "Stop sequence that ends a completion (repeatable), e.g. --stop $'\\ndef '." };
        var noCache = new Option<bool>("--no-cache") { Description = "Run the networks every step even when the previous step changed nothing." };
        var trace = new Option<string?>("--trace") { Description = "Write every step to OUT.html (self-contained replay) or OUT.json." };
        var threads = new Option<int>("--threads") { Description = "Torch threads (0 = torch's default).", DefaultValueFactory = _ => 0 };
        var command = new Command("sample", "Generate code with a diffusion model: completion or infilling, batches, remasking, traces.");
        foreach (var option in new Option[] { model, prompt, promptFile, n, steps, length, temperature, remask, order, parallel, repair, guard, repetitionPenalty, frequencyPenalty, seed, topP, batch, precision, stop, noCache, trace, threads })
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
            if (!LoadedModel.TryLoad(parse.GetValue(model)!, parse.GetValue(precision), out var loaded, out string? error)) return Fail(error!);
            using var _ = loaded!.Model;
            if (loaded.Model is CausalLmModel)
            {
                try { loaded.WriteAutoregressive(prompts, new AutoregressiveOptions { Temperature = parse.GetValue(temperature), TopP = parse.GetValue(topP),
                    MaxNewTokens = parse.GetValue(length), StopSequences = parse.GetValue(stop) ?? [],
                    RepetitionPenalty = parse.GetValue(repetitionPenalty), FrequencyPenalty = parse.GetValue(frequencyPenalty), Guard = parse.GetValue(guard) }, parse.GetValue(n), parse.GetValue(batch), parse.GetValue(seed), Console.Out, Console.Error); }
                catch (ArgumentException e) { return Fail(e.Message); }
                return 0;
            }
            SamplerOptions options;
            try
            {
                options = loaded.DefaultOptions(parse.GetValue(remask), parse.GetValue(parallel)) with
                {
                    Steps = parse.GetValue(steps), Temperature = parse.GetValue(temperature), TopP = parse.GetValue(topP),
                    Order = parse.GetValue(order), Caching = !parse.GetValue(noCache), RepairRounds = parse.GetValue(repair), Guard = parse.GetValue(guard),
                    RepetitionPenalty = parse.GetValue(repetitionPenalty), FrequencyPenalty = parse.GetValue(frequencyPenalty),
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
                var sampler = loaded.CreateSampler(options);
                samples = GenerateWithProgress(sampler, prompts, generation);
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

    /// <summary>Generates, with a progress bar when the work takes more than one batch.</summary>
    internal static List<GeneratedSample> GenerateWithProgress(PromptSampler sampler, IReadOnlyList<string> prompts, GenerationOptions generation)
    {
        if (prompts.Count * generation.SamplesPerPrompt <= generation.BatchSize) return sampler.Generate(prompts, generation);
        List<GeneratedSample>? result = null;
        AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(context =>
            {
                var task = context.AddTask("sampling", maxValue: prompts.Count * generation.SamplesPerPrompt);
                result = sampler.Generate(prompts, generation, (done, _) => task.Value = done);
            });
        return result!;
    }

    internal static string Totals(IReadOnlyList<SamplingStatistics> runs, IReadOnlyList<GeneratedSample> samples)
    {
        double seconds = runs.Sum(r => r.TotalSeconds), network = runs.Sum(r => r.NetworkSeconds);
        long generated = samples.Sum(s => s.Canvas.Frozen.Count(f => !f));
        return $"{samples.Count} samples in {seconds:F2} s ({samples.Count / Math.Max(seconds, 1e-9):F2} samples/s, {generated / Math.Max(seconds, 1e-9):F0} generated tokens/s); "
            + $"{runs.Sum(r => r.NetworkCalls)} network calls, {100 * (1 - network / Math.Max(seconds, 1e-9)):F1}% of the time outside them"
            + (runs.Any(r => r.Guard is not null) && runs.Aggregate(default(GuardCounts), (a, r) => a + r.GuardTotals) is var g
                ? $"; guard: {g.Checks} checks, {g.Resamples} resamples, {g.Failures} failures" : "");
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine($"ancoder sample: {message}");
        return 2;
    }
}
