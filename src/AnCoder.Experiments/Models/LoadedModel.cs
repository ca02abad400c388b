using System.Text.Json;
using AnCoder.Anchoring.Labels;
using AnCoder.Anchoring.Settings;
using AnCoder.Anchoring.Tokenization;
using AnCoder.Diffusion.Configuration;
using AnCoder.Diffusion.Model;
using AnCoder.Diffusion.Sampling;
using TorchSharp;

namespace AnCoder.Experiments.Models;

/// <summary>A model ready to sample: weights, tokenizer and the anchor strategy it was trained with.</summary>
public sealed class LoadedModel
{
    public required DiffusionModel Model { get; init; }
    public required ByteLevelBpe Tokenizer { get; init; }
    public required string Name { get; init; }

    public ModelConfig Config => Model.Config;

    /// <summary>
    /// Loads DIR (config.json + model.safetensors, tokenizer.json or vocab.json+merges.txt beside them, else the
    /// default tokenizer; a Hugging Face Qwen2 config.json loads the autoregressive model, docs/recipe.md) or
    /// <c>random:&lt;preset&gt;</c> (<c>random-ar:&lt;preset&gt;</c>: the causal model of that shape). Errors come
    /// back as one line naming the file.
    /// </summary>
    public static bool TryLoad(string source, Precision precision, out LoadedModel? loaded, out string? error)
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
            model.ComputeType = precision.ScalarType();
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
    /// (<paramref name="parallel"/> = τ; docs/algorithms.md §7); the model's schedule; the tokenizer's anchor-token
    /// table (for the anchor order).
    /// </summary>
    public SamplerOptions DefaultOptions(string? remask, double? parallel = null) => new()
    {
        Remask = remask is not null ? RemaskOptions.Parse(remask)
            : Config.Architecture != Architecture.Anchored || parallel is not null ? RemaskOptions.None : RemaskOptions.PaperDefault,
        Schedule = Config.Diffusion.Schedule,
        ScheduleEpsilon = Config.Diffusion.ScheduleEpsilon,
        ParallelThreshold = parallel,
        AnchorTokens = AnchorTokens,
        AnchorDepths = AnchorDepths,
    };

    private AnchorDepthWeights? _anchorDepths;

    /// <summary>
    /// Depth weights for <see cref="UnmaskOrder.AnchorDepth"/>, built once per model: an AnchorTree model's own ρ and d0,
    /// AnchorTree's defaults for every other model (their labels have no depth decay).
    /// </summary>
    public AnchorDepthWeights AnchorDepths => _anchorDepths ??= AnchorDepthWeights.Build(Tokenizer,
        Config.Diffusion.Strategy == AnchorStrategy.AnchorTree ? Config.Diffusion.AnchorWeights : AnchorWeightOptions.Defaults(AnchorStrategy.AnchorTree));

    private bool[]? _anchorTokens;

    /// <summary>Which ids are anchor tokens (<see cref="AnchorTokenTable"/>), built once per model.</summary>
    public bool[] AnchorTokens => _anchorTokens ??= AnchorTokenTable.Build(Tokenizer, [Config.MaskTokenId, Config.EosTokenId, Config.PadTokenId]);

    /// <summary>Help text of --parallel (sample, eval --model, demo).</summary>
    public const string ParallelHelp = "Confidence-parallel steps (Fast-dLLM) with threshold τ in [0, 1]: each step reveals every masked "
        + "position whose probability exceeds τ (at least one), until none is left; network calls adapt, --steps is not used, no remasking.";

    /// <summary>Help text of --guard (sample, eval --model, demo).</summary>
    public const string GuardHelp = "Decoding guard: prefix = a revealed token that would make the decided left-to-right prefix (prompt and the revealed run from its start) "
        + "no longer the start of any valid program (our parser) is redrawn from the rest of its distribution, up to 4 times; none = off:";

    /// <summary>Help text of --repetition-penalty (sample, eval --model).</summary>
    public const string RepetitionPenaltyHelp = "CTRL repetition penalty θ >= 1 over the tokens the sample generated so far (autoregressive models: a logit l becomes l/θ when positive, l·θ otherwise; "
        + "diffusion models: the log-probability of a token already decided in the completion becomes θ·log p); the prompt's tokens are not penalised; 1 = off.";

    /// <summary>Help text of --frequency-penalty (sample, eval --model).</summary>
    public const string FrequencyPenaltyHelp = "Frequency penalty α >= 0: a token the sample generated c times so far loses α·c from its logit (autoregressive) or log-probability (diffusion), after --repetition-penalty "
        + "and before temperature; it grows with every repeat, so it breaks in-line loops (1, 1, 1, …) that θ barely touches; the prompt's tokens are not counted; 0 = off (docs/decoding.md).";

    /// <summary>Help text of --repair (sample, eval --model, demo).</summary>
    public const string RepairHelp = "Syntax-repair rounds R (0 = off): a sample whose text (after end-of-text and the stop sequences) does not parse "
        + "gets the tokens of the line our parser names remasked and a few more reverse steps on them; each further round the enclosing block.";

    /// <summary>
    /// Completions of an autoregressive model (docs/recipe.md §2): a prompt's <paramref name="samplesPerPrompt"/>
    /// samples run together in batches of <paramref name="batchSize"/> with the KV cache; sample j of prompt i uses the
    /// seed derived from (seed, i·n + j), as the diffusion sampler. Returns (prompt, sample, completion) and the runs'
    /// statistics. Infilling templates (<c>&lt;|mask:N|&gt;</c>) need a diffusion model: <see cref="ArgumentException"/>.
    /// </summary>
    public List<(int Prompt, int Sample, string Completion)> GenerateAutoregressive(IReadOnlyList<string> prompts, AutoregressiveOptions options,
        int samplesPerPrompt, int batchSize, int seed, out List<AutoregressiveStatistics> runs)
    {
        if (Model is not CausalLmModel causal) throw new ArgumentException($"{Name} is not an autoregressive model");
        var sampler = new AutoregressiveSampler(causal, Tokenizer);
        var results = new List<(int, int, string)>();
        runs = [];
        for (int p = 0; p < prompts.Count; p++)
        {
            if (prompts[p].Contains("<|mask:", StringComparison.Ordinal))
                throw new ArgumentException($"prompt {p}: <|mask:N|> infilling needs a diffusion model; an autoregressive model only completes prompts");
            var ids = Tokenizer.EncodeToIds(System.Text.Encoding.UTF8.GetBytes(prompts[p]));
            for (int start = 0; start < samplesPerPrompt; start += Math.Max(1, batchSize))
            {
                var seeds = Enumerable.Range(start, Math.Min(Math.Max(1, batchSize), samplesPerPrompt - start))
                    .Select(j => SampleSeeds.Derive(seed, p * samplesPerPrompt + j)).ToList();
                var samples = sampler.Sample(ids, seeds, options);
                for (int k = 0; k < samples.Count; k++) results.Add((p, start + k, samples[k].Completion));
                runs.Add(sampler.LastRun!);
            }
        }
        return results;
    }

    /// <summary>
    /// <c>ancoder sample</c> for an autoregressive model: each prompt + completion (with a "── prompt i, sample j ──"
    /// header) to <paramref name="output"/>, one timing line to <paramref name="log"/>.
    /// </summary>
    public void WriteAutoregressive(IReadOnlyList<string> prompts, AutoregressiveOptions options, int samplesPerPrompt, int batchSize, int seed,
        TextWriter output, TextWriter log)
    {
        var problems = options.Validate();
        if (problems.Count > 0) throw new ArgumentException(string.Join("; ", problems));
        var samples = GenerateAutoregressive(prompts, options, samplesPerPrompt, batchSize, seed, out var runs);
        foreach (var (prompt, sample, completion) in samples)
        {
            output.WriteLine($"── prompt {prompt}, sample {sample} ──");
            output.WriteLine(prompts[prompt] + completion);
        }
        double seconds = runs.Sum(r => r.TotalSeconds), network = runs.Sum(r => r.NetworkSeconds);
        log.WriteLine($"{samples.Count} samples in {seconds:F2} s ({runs.Sum(r => r.GeneratedTokens) / Math.Max(seconds, 1e-9):F0} generated tokens/s, KV cache); "
            + $"{100 * (1 - network / Math.Max(seconds, 1e-9)):F1}% of the time outside the network"
            + (options.Guard == DecodingGuard.Prefix && runs.Aggregate(default(GuardCounts), (a, r) => a + r.GuardTotals) is var g
                ? $"; guard: {g.Checks} checks, {g.Resamples} resamples, {g.Failures} failures" : ""));
    }

    /// <summary>A sampler over this model with the model's special ids.</summary>
    public PromptSampler CreateSampler(SamplerOptions options) =>
        new(new ModelDenoiser(Model), Tokenizer, options, Config.EosTokenId, Config.PadTokenId);

    /// <summary>
    /// Anchor labels for traces: the model's strategy (its λ, ρ, d0); for MDLM and Null models, AnchorTree's defaults so
    /// the display still shows keywords and identifiers.
    /// </summary>
    public AnchorWeightOptions AnchorOptions()
    {
        var settings = Config.Diffusion;
        return settings.Strategy is AnchorStrategy.Mdlm or AnchorStrategy.Null
            ? AnchorWeightOptions.Defaults(AnchorStrategy.AnchorTree)
            : settings.AnchorWeights;
    }

    public TraceDocument Trace(IReadOnlyList<GeneratedSample> samples, SamplerOptions options)
    {
        var anchors = AnchorOptions();
        var traces = samples.Select(s => SamplingTraces.Build(s.Recorder!, s.BatchRow, s.Prompt, s.Text, Tokenizer, anchors, Config.MaskTokenId)).ToList();
        string steps = options.ParallelThreshold is { } threshold ? FormattableString.Invariant($"parallel τ>{threshold}") : $"T={options.Steps}";
        if (options.RepairRounds > 0) steps += $" repair={options.RepairRounds}×{options.RepairSteps}";
        if (options.Guard != DecodingGuard.None) steps += $" guard={SettingNames.Name(options.Guard)}";
        string settings = $"{steps} temperature={options.Temperature} top-p={options.TopP} remask={options.Remask} order={options.Order.ToString().ToLowerInvariant()} schedule={SettingNames.Name(options.Schedule)}";
        return new TraceDocument(Name, settings, $"{AnchorWeightOptions.Name(anchors.Strategy)} λ={anchors.Lambda} ρ={anchors.Rho} d0={anchors.D0}", traces);
    }
}
