using System.Text.Json;
using System.Text.Json.Serialization;
using AnCoder.Anchoring.Labels;
using AnCoder.Diffusion.Configuration;

namespace AnCoder.Diffusion.Training;

/// <summary>
/// Everything a training run needs, saved resolved as <c>config.json</c> in the run folder (snake_case JSON, like
/// <see cref="ModelConfig"/>). CLI flags override fields of a config file. Defaults follow ALGORITHMS.md §10.
/// </summary>
public sealed record TrainingConfig
{
    /// <summary>Model preset name (<c>tiny</c>, <c>small</c>, <c>ancoder-809m</c>); ignored when <see cref="ModelConfigFile"/> is set.</summary>
    public string Model { get; init; } = "tiny";
    /// <summary>A <see cref="ModelConfig"/> JSON file (overrides <see cref="Model"/>).</summary>
    public string? ModelConfigFile { get; init; }
    /// <summary>
    /// <c>diffusion</c> (default: the (A)NELBO of ALGORITHMS.md §5) or <c>ar</c>: a causal Qwen2 model with the
    /// next-token loss, saved as a Hugging Face Qwen2ForCausalLM folder (docs/recipe.md §1; strategy is then ignored).
    /// </summary>
    public string Objective { get; init; } = "diffusion";
    /// <summary><c>mdlm</c> (single network) or <c>null</c>/<c>keyword</c>/<c>identifier</c>/<c>anchortree</c> (anchored).</summary>
    public string Strategy { get; init; } = "anchortree";
    /// <summary>λ, ρ, d0 of γ_i = λ·A_i·ρ^max(0, depth−d0); null = the strategy's default (ALGORITHMS.md §5).</summary>
    public double? AnchorLambda { get; init; }
    public double? AnchorRho { get; init; }
    public int? AnchorD0 { get; init; }
    /// <summary>Noise schedule (ALGORITHMS.md §2).</summary>
    public string Schedule { get; init; } = "cosine2";
    /// <summary><c>all</c> or <c>masked</c>: where the anchor term applies.</summary>
    public string AnchorLossOn { get; init; } = "all";
    /// <summary>ADLM's γ warm-up γ_eff = min(λ, step/max_steps).</summary>
    public bool AnchorWarmup { get; init; }

    /// <summary>Folder written by <c>ancoder prepare</c> (manifest.json + shards).</summary>
    public string? Data { get; init; }
    public string TrainSplit { get; init; } = "train";
    public string ValidSplit { get; init; } = "valid";
    /// <summary><c>pack</c> (concatenate samples with end-of-text) or <c>truncate</c> (one sample per row).</summary>
    public string Packing { get; init; } = "pack";
    public int ContextLength { get; init; } = 256;
    public int MicroBatch { get; init; } = 8;
    public int GradientAccumulation { get; init; } = 1;
    /// <summary>Optimizer steps; or give <see cref="MaxTokens"/> (steps = ⌈tokens / (micro_batch·accumulation·context)⌉).</summary>
    public long? MaxSteps { get; init; }
    public long? MaxTokens { get; init; }

    public double LearningRate { get; init; } = 3e-4;
    public double WarmupRatio { get; init; } = 0.01;
    /// <summary>The cosine decays to learning_rate × this ratio at the last step.</summary>
    public double MinLrRatio { get; init; } = 0.1;
    public double WeightDecay { get; init; } = 0.0;
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.999;
    public double AdamEpsilon { get; init; } = 1e-8;
    /// <summary>Global L2 norm clip; 0 disables clipping.</summary>
    public double GradClip { get; init; } = 1.0;
    /// <summary><c>fp32</c> or <c>bf16</c> (bf16 activations and matmuls, fp32 master weights and optimizer state).</summary>
    public string Precision { get; init; } = "fp32";
    /// <summary>Exponential moving average of the weights (e.g. 0.999); null = off.</summary>
    public double? EmaDecay { get; init; }
    public int Seed { get; init; }
    /// <summary>Torch intra-op threads; 0 = all cores.</summary>
    public int Threads { get; init; }

    public int LogInterval { get; init; } = 10;
    /// <summary>Validation NELBO every this many steps (0 = only at the end).</summary>
    public int ValidationInterval { get; init; } = 200;
    public int ValidationBatches { get; init; } = 8;
    public int CheckpointInterval { get; init; } = 500;
    public int KeepLast { get; init; } = 3;
    /// <summary>Run folder: config.json, metrics.jsonl, checkpoints/, final model/.</summary>
    public string? Output { get; init; }

    /// <summary>Initialise from one of our checkpoints (a model folder or a run's checkpoint folder).</summary>
    public string? Init { get; init; }
    /// <summary>Initialise from a Hugging Face Qwen2 folder (the paper's start; also our <c>ar</c> runs' model folders).</summary>
    public string? InitQwen { get; init; }

    // Adaptation switches (docs/recipe.md §3). Null/false/default keeps the preset's or the imported model's choice.
    /// <summary>ψ's depth N_d; from a Qwen2 folder ψ copies its first N_d layers (null: the preset's, or half of Qwen's layers).</summary>
    public int? DenoiserLayers { get; init; }
    /// <summary>Dream-style shift: position i's logits come from position i−1 (keeps an AR head's meaning).</summary>
    public bool Shift { get; init; }
    /// <summary>How ψ reads φ: <c>softmax</c> (default), <c>logits</c>, <c>linear</c> or <c>softmax+embed</c> (our variant).</summary>
    public string DenoiserInput { get; init; } = "softmax";
    /// <summary>
    /// <c>copy</c> (default: ψ as initialised, e.g. the AR model's first N_d layers) or <c>identity</c>: ψ's residual
    /// output projections (o_proj, down_proj) zeroed, so at step 0 ψ's layers pass their input through.
    /// </summary>
    public string DenoiserInit { get; init; } = "copy";
    /// <summary>
    /// Peak learning rate of the parameters copied from a pretrained model (<c>init</c>/<c>init_qwen</c>); the fresh ones
    /// (ψ's zeroed projections under <c>identity</c>, the linear denoiser input) keep <see cref="LearningRate"/>.
    /// Null: every parameter uses <see cref="LearningRate"/>.
    /// </summary>
    public double? PretrainedLearningRate { get; init; }

    public static readonly string[] Precisions = ["fp32", "bf16"];
    public static readonly string[] Objectives = ["diffusion", "ar"];
    public static readonly string[] DenoiserInits = ["copy", "identity"];

    /// <summary>True for the autoregressive objective.</summary>
    [JsonIgnore] public bool Autoregressive => Objective == "ar";

    /// <summary>What metrics and checkpoints record as the run's kind: <c>ar</c>, or the strategy.</summary>
    [JsonIgnore] public string RunLabel => Autoregressive ? "ar" : Strategy;
    public static readonly string[] PackingModes = ["pack", "truncate"];

    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>Parses a config; a bad or unknown field gives a <see cref="ConfigException"/> naming the file and field.</summary>
    public static TrainingConfig FromJson(string json, string source = "training config")
    {
        TrainingConfig? config;
        try
        {
            config = JsonSerializer.Deserialize<TrainingConfig>(json, JsonOptions);
        }
        catch (JsonException e)
        {
            throw new ConfigException($"{source}: {e.Message}");
        }
        return config ?? throw new ConfigException($"{source}: empty config");
    }

    public static TrainingConfig Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException($"{path}: cannot read ({e.Message})");
        }
        return FromJson(text, path);
    }

    /// <summary>The strategy as the loader's enum (valid only after <see cref="Validate"/> passed).</summary>
    [JsonIgnore] public AnchorStrategy AnchorStrategy => AnchorWeightOptions.Parse(Strategy);

    /// <summary>λ, ρ, d0 with the strategy's defaults filled in.</summary>
    [JsonIgnore] public AnchorWeightOptions AnchorWeights => AnchorWeightOptions.Defaults(AnchorStrategy, AnchorLambda, AnchorRho, AnchorD0);

    [JsonIgnore] public long TokensPerStep => (long)MicroBatch * GradientAccumulation * ContextLength;

    /// <summary>Total optimizer steps: <see cref="MaxSteps"/>, or <see cref="MaxTokens"/> divided by tokens per step (rounded up).</summary>
    [JsonIgnore] public long TotalSteps => MaxSteps ?? (MaxTokens is { } tokens ? (tokens + TokensPerStep - 1) / TokensPerStep : 0);

    /// <summary>Problems with this config, each naming its field; empty when it is usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        void Positive(string name, double value) { if (!(value > 0)) problems.Add($"{name} must be positive (got {value})"); }
        void NonNegative(string name, double value) { if (!(value >= 0)) problems.Add($"{name} must be >= 0 (got {value})"); }
        void OneOf(string name, string value, IReadOnlyCollection<string> allowed)
        {
            if (!allowed.Contains(value)) problems.Add($"{name} '{value}' is not one of {string.Join(", ", allowed)}");
        }

        if (ModelConfigFile is null && Init is null && InitQwen is null && !ModelPresets.All.ContainsKey(Model))
            problems.Add($"model '{Model}' is not a preset ({string.Join(", ", ModelPresets.All.Keys)}); give model_config_file for a config file");
        OneOf("objective", Objective, Objectives);
        OneOf("strategy", Strategy, DiffusionSettings.Strategies);
        OneOf("denoiser_input", DenoiserInput, Configuration.DenoiserInputs.Names);
        OneOf("denoiser_init", DenoiserInit, DenoiserInits);
        if (DenoiserLayers is { } layers) Positive("denoiser_layers", layers);
        if (PretrainedLearningRate is { } pretrainedLr) Positive("pretrained_learning_rate", pretrainedLr);
        bool anchored = !Autoregressive && Strategy != "mdlm";
        if (DenoiserInit == "identity" && !anchored) problems.Add("denoiser_init 'identity' needs an anchored model (a strategy other than mdlm, objective diffusion)");
        if (Autoregressive && Shift) problems.Add("shift applies to diffusion models, not to objective 'ar'");
        OneOf("schedule", Schedule, DiffusionSettings.Schedules);
        OneOf("anchor_loss_on", AnchorLossOn, ["all", "masked"]);
        OneOf("precision", Precision, Precisions);
        OneOf("packing", Packing, PackingModes);
        if (AnchorLambda is { } lambda) NonNegative("anchor_lambda", lambda);
        if (AnchorRho is { } rho && !(rho > 0 && rho <= 1)) problems.Add($"anchor_rho must be in (0, 1] (got {rho})");
        if (AnchorD0 is { } d0) NonNegative("anchor_d0", d0);
        if (string.IsNullOrWhiteSpace(Data)) problems.Add("data must name a folder written by `ancoder prepare`");
        if (string.IsNullOrWhiteSpace(Output)) problems.Add("output must name the run folder");
        Positive("context_length", ContextLength);
        Positive("micro_batch", MicroBatch);
        Positive("gradient_accumulation", GradientAccumulation);
        if (MaxSteps is null && MaxTokens is null) problems.Add("max_steps or max_tokens must be given");
        if (MaxSteps is not null && MaxTokens is not null) problems.Add("give only one of max_steps and max_tokens");
        if (MaxSteps is { } steps) Positive("max_steps", steps);
        if (MaxTokens is { } tokens) Positive("max_tokens", tokens);
        Positive("learning_rate", LearningRate);
        if (!(WarmupRatio >= 0 && WarmupRatio < 1)) problems.Add($"warmup_ratio must be in [0, 1) (got {WarmupRatio})");
        if (!(MinLrRatio >= 0 && MinLrRatio <= 1)) problems.Add($"min_lr_ratio must be in [0, 1] (got {MinLrRatio})");
        NonNegative("weight_decay", WeightDecay);
        if (!(Beta1 >= 0 && Beta1 < 1)) problems.Add($"beta1 must be in [0, 1) (got {Beta1})");
        if (!(Beta2 >= 0 && Beta2 < 1)) problems.Add($"beta2 must be in [0, 1) (got {Beta2})");
        Positive("adam_epsilon", AdamEpsilon);
        NonNegative("grad_clip", GradClip);
        if (EmaDecay is { } ema && !(ema > 0 && ema < 1)) problems.Add($"ema_decay must be in (0, 1) (got {ema})");
        NonNegative("threads", Threads);
        Positive("log_interval", LogInterval);
        NonNegative("validation_interval", ValidationInterval);
        NonNegative("validation_batches", ValidationBatches);
        NonNegative("checkpoint_interval", CheckpointInterval);
        Positive("keep_last", KeepLast);
        if (Init is not null && InitQwen is not null) problems.Add("give only one of init and init_qwen");
        return problems;
    }

    /// <summary>Throws a <see cref="ConfigException"/> listing every problem (prefixed with <paramref name="source"/> when given).</summary>
    public TrainingConfig Validated(string? source = null)
    {
        var problems = Validate();
        if (problems.Count > 0) throw new ConfigException((source is null ? "" : $"{source}: ") + string.Join("; ", problems));
        return this;
    }
}
