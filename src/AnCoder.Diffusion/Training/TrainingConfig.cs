using System.Text.Json;
using System.Text.Json.Serialization;
using AnCoder.Anchoring.Labels;
using AnCoder.Anchoring.Settings;
using AnCoder.Anchoring.Shards;
using AnCoder.Diffusion.Configuration;

namespace AnCoder.Diffusion.Training;

/// <summary>
/// Everything a training run needs, saved resolved as <c>config.json</c> in the run folder (snake_case JSON, like
/// <see cref="ModelConfig"/>). CLI flags override fields of a config file: every <see cref="SettingAttribute"/> property is a flag of
/// <c>ancoder train</c>, every property a <c>--set key=value</c>. Defaults follow docs/algorithms.md §10.
/// </summary>
public sealed record TrainingConfig
{
    [Setting("Model preset: tiny, small or ancoder-809m; ignored when model_config_file, init or init_qwen is set.")]
    public string Model { get; init; } = "tiny";
    [Setting("Model config JSON file (overrides --model).", Flag = "model-config")]
    public string? ModelConfigFile { get; init; }
    /// <summary>
    /// <c>diffusion</c> (the (A)NELBO of docs/algorithms.md §5) or <c>ar</c>: a causal Qwen2 model with the next-token
    /// loss, saved as a Hugging Face Qwen2ForCausalLM folder (docs/recipe.md §1; the strategy is then ignored).
    /// </summary>
    [Setting("diffusion (default) or ar: a causal Qwen2 model with the next-token loss, saved as a Hugging Face Qwen2ForCausalLM folder (docs/recipe.md).")]
    public Objective Objective { get; init; } = Objective.Diffusion;
    [Setting("Anchor strategy: mdlm (single network), or null, keyword, identifier, anchortree (anchored).")]
    public AnchorStrategy Strategy { get; init; } = AnchorStrategy.AnchorTree;
    /// <summary>λ, ρ, d0 of γ_i = λ·A_i·ρ^max(0, depth−d0); null = the strategy's default (docs/algorithms.md §5).</summary>
    [Setting("Anchor weight λ (default: the strategy's, docs/algorithms.md §5).", Flag = "lambda")]
    public double? AnchorLambda { get; init; }
    [Setting("AnchorTree depth decay ρ (default: the strategy's).", Flag = "rho")]
    public double? AnchorRho { get; init; }
    [Setting("AnchorTree depth offset d0 (default: the strategy's).", Flag = "d0")]
    public int? AnchorD0 { get; init; }
    [Setting("Noise schedule (docs/algorithms.md §2).")]
    public ScheduleKind Schedule { get; init; } = ScheduleKind.Cosine2;
    [Setting("Where the anchor term applies: all valid positions (as ADLM) or only masked ones.")]
    public AnchorLossOn AnchorLossOn { get; init; } = AnchorLossOn.All;
    [Setting("ADLM's γ warm-up γ_eff = min(λ, step / max_steps).")]
    public bool AnchorWarmup { get; init; }
    [Setting("Fraction of rows trained on the left-to-right process: a clean prefix, the completion masked from a random cut on, loss at the first --left-to-right-block masked positions; the state one-token-per-call left-to-right decoding meets (our variant, docs/recipe.md §10). 0 = the paper's random masking only.", Flag = "left-to-right-rows")]
    public double LeftToRightFraction { get; init; }
    [Setting("Masked positions after the cut whose loss counts in a left-to-right row (1 = exactly the next token).", Flag = "left-to-right-block")]
    public int LeftToRightBlock { get; init; } = 1;

    [Setting("Folder written by `ancoder prepare` (default <repo>/data/prepared; with sft <repo>/data/sft).")]
    public string? Data { get; init; }
    public string TrainSplit { get; init; } = "train";
    public string ValidSplit { get; init; } = "valid";
    [Setting("pack (samples concatenated with end-of-text) or truncate (one sample per row).")]
    public PackingMode Packing { get; init; } = PackingMode.Pack;
    /// <summary>
    /// Supervised fine-tuning on pairs from <c>ancoder prepare --sft</c> (<see cref="PackingMode.Sft"/>; docs/corpus.md):
    /// one pair per row, the prompt conditioning (never masked, no loss), loss on the completion and the end-of-text
    /// tokens that fill the row after it. <see cref="Packing"/> stays <c>pack</c> (it does not apply).
    /// </summary>
    [Setting("Supervised fine-tuning on pairs from `ancoder prepare --sft` (default data <repo>/data/sft): one pair per row, the prompt never masked and without loss, loss on the completion and the end-of-text filling the row (docs/corpus.md).")]
    public bool Sft { get; init; }
    [Setting("Context length in tokens.", Flag = "context")]
    public int ContextLength { get; init; } = 256;
    [Setting("Rows per forward/backward pass.")]
    public int MicroBatch { get; init; } = 8;
    [Setting("Micro-batches per optimizer step (effective batch = micro-batch × accumulation).", Flag = "accumulation")]
    public int GradientAccumulation { get; init; } = 1;
    /// <summary>Optimizer steps; or give <see cref="MaxTokens"/> (steps = ⌈tokens / (micro_batch·accumulation·context)⌉).</summary>
    [Setting("Optimizer steps.", Flag = "steps")]
    public long? MaxSteps { get; init; }
    [Setting("Training tokens instead of --steps (steps = tokens / (micro-batch × accumulation × context), rounded up).", Flag = "tokens")]
    public long? MaxTokens { get; init; }

    [Setting("Peak learning rate (≤ 1e-4 is sensible from Qwen).", Flag = "lr")]
    public double LearningRate { get; init; } = 3e-4;
    [Setting("Fraction of steps of linear warm-up.")]
    public double WarmupRatio { get; init; } = 0.01;
    [Setting("The cosine ends at lr × this ratio at the last step.")]
    public double MinLrRatio { get; init; } = 0.1;
    [Setting("AdamW weight decay (0, as the paper).")]
    public double WeightDecay { get; init; } = 0.0;
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.999;
    public double AdamEpsilon { get; init; } = 1e-8;
    [Setting("Gradient L2-norm clip (0 = off).")]
    public double GradClip { get; init; } = 1.0;
    // fp32 by default: bf16 matmuls only pay on hardware with native bf16 (AMX, AVX512_BF16, a GPU via --engine torch);
    // on an AVX2-only CPU TorchSharp's bf16 trained 5.5× slower than fp32 (README, "ancoder train").
    [Setting("fp32 (the right choice on CPUs without AMX or AVX512_BF16), or bf16 (bf16 activations and matmuls, fp32 master weights and optimizer state; pays only with AMX, AVX512_BF16 or a GPU).")]
    public Precision Precision { get; init; } = Precision.Fp32;
    [Setting("Keep an EMA of the weights with this decay (e.g. 0.999); saved as model-ema/.", Flag = "ema")]
    public double? EmaDecay { get; init; }
    [Setting("Seed of initialisation, data order and masking.")]
    public int Seed { get; init; }
    [Setting("Torch intra-op threads (0 = all cores).")]
    public int Threads { get; init; }

    [Setting("Steps per metrics.jsonl line.")]
    public int LogInterval { get; init; } = 10;
    [Setting("Steps between validation NELBO evaluations (0 = only at the end).", Flag = "valid-interval")]
    public int ValidationInterval { get; init; } = 200;
    [Setting("Micro-batches per validation.", Flag = "valid-batches")]
    public int ValidationBatches { get; init; } = 8;
    [Setting("Steps between checkpoints (one is always written at the end and on interruption).")]
    public int CheckpointInterval { get; init; } = 500;
    [Setting("Checkpoints kept.")]
    public int KeepLast { get; init; } = 3;
    [Setting("Run folder: config.json, metrics.jsonl, checkpoints/, model/ (default runs/<strategy>-<time>).", Flag = "out")]
    public string? Output { get; init; }

    [Setting("Start from one of our checkpoints (a model folder or checkpoints/step-N).")]
    public string? Init { get; init; }
    [Setting("Start from a Hugging Face Qwen2 folder (the paper's start; also an `--objective ar` run's model folder).")]
    public string? InitQwen { get; init; }

    // Adaptation switches (docs/recipe.md §3); the defaults keep the preset's or the imported model's choice.
    [Setting("ψ's depth N_d; from a Qwen2/AR folder ψ copies its first N_d layers (default: the preset's, or half the layers).")]
    public int? DenoiserLayers { get; init; }
    [Setting("Dream-style shift: position i's logits come from i−1 (keeps an AR head's meaning); default off, as ADLM.")]
    public bool Shift { get; init; }
    [Setting("How ψ reads φ: softmax (default), logits, linear, or softmaxembed = softmax(a)·E_ψ + E_ψ[z_t] (our variant, not the paper's).")]
    public DenoiserInput DenoiserInput { get; init; } = DenoiserInput.Softmax;
    [Setting("copy (default: ψ as initialised) or identity: ψ's o_proj/down_proj zeroed, so at step 0 ψ passes φ's prediction through.")]
    public DenoiserInit DenoiserInit { get; init; } = DenoiserInit.Copy;
    /// <summary>
    /// Peak learning rate of the parameters copied from a pretrained model (<c>init</c>/<c>init_qwen</c>); the fresh
    /// ones (ψ's zeroed projections under <c>identity</c>, the linear denoiser input) keep <see cref="LearningRate"/>.
    /// Null: every parameter uses <see cref="LearningRate"/>.
    /// </summary>
    [Setting("Peak LR of the parameters copied from --init/--init-qwen (fresh ones keep --lr), e.g. --lr 3e-4 --pretrained-lr 5e-5.", Flag = "pretrained-lr")]
    public double? PretrainedLearningRate { get; init; }

    /// <summary>True for the autoregressive objective.</summary>
    [JsonIgnore] public bool Autoregressive => Objective == Objective.Ar;

    /// <summary>What metrics and the progress line record as the run's kind: <c>ar</c>, or the strategy's name.</summary>
    [JsonIgnore] public string RunLabel => Autoregressive ? "ar" : AnchorWeightOptions.Name(Strategy);

    public static JsonSerializerOptions JsonOptions => SettingsJson.Options;

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>Parses a config; a bad or unknown field gives a <see cref="ConfigException"/> naming the file and field.</summary>
    public static TrainingConfig FromJson(string json, string source = "training config")
    {
        try
        {
            return SettingsJson.Parse<TrainingConfig>(json, source);
        }
        catch (FormatException e)
        {
            throw new ConfigException(e.Message);
        }
    }

    public static TrainingConfig Load(string path) => FromJson(ConfigException.ReadFile(path), path);

    /// <summary>λ, ρ, d0 with the strategy's defaults filled in.</summary>
    [JsonIgnore] public AnchorWeightOptions AnchorWeights => AnchorWeightOptions.Defaults(Strategy, AnchorLambda, AnchorRho, AnchorD0);

    [JsonIgnore] public long TokensPerStep => (long)MicroBatch * GradientAccumulation * ContextLength;

    /// <summary>Total optimizer steps: <see cref="MaxSteps"/>, or <see cref="MaxTokens"/> divided by tokens per step (rounded up).</summary>
    [JsonIgnore] public long TotalSteps => MaxSteps ?? (MaxTokens is { } tokens ? (tokens + TokensPerStep - 1) / TokensPerStep : 0);

    /// <summary>Problems with this config, each naming its field; empty when it is usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        void Positive(string name, double value) { if (!(value > 0)) problems.Add($"{name} must be positive (got {value})"); }
        void NonNegative(string name, double value) { if (!(value >= 0)) problems.Add($"{name} must be >= 0 (got {value})"); }

        if (ModelConfigFile is null && Init is null && InitQwen is null && !ModelPresets.All.ContainsKey(Model))
            problems.Add($"model '{Model}' is not a preset ({string.Join(", ", ModelPresets.All.Keys)}); give model_config_file for a config file");
        if (DenoiserLayers is { } layers) Positive("denoiser_layers", layers);
        if (PretrainedLearningRate is { } pretrainedLr) Positive("pretrained_learning_rate", pretrainedLr);
        bool anchored = !Autoregressive && Strategy != AnchorStrategy.Mdlm;
        if (DenoiserInit == DenoiserInit.Identity && !anchored)
            problems.Add("denoiser_init 'identity' needs an anchored model (a strategy other than mdlm, objective diffusion)");
        if (Autoregressive && Shift) problems.Add("shift applies to diffusion models, not to objective 'ar'");
        if (Sft && Packing != PackingMode.Pack) problems.Add($"packing '{Packing.ToString().ToLowerInvariant()}' does not apply with sft (one pair per row)");
        if (!Sft && Packing == PackingMode.Sft) problems.Add("packing 'sft' is what sft = true (--sft) sets: give that instead");
        if (AnchorLambda is { } lambda) NonNegative("anchor_lambda", lambda);
        if (AnchorRho is { } rho && !(rho > 0 && rho <= 1)) problems.Add($"anchor_rho must be in (0, 1] (got {rho})");
        if (AnchorD0 is { } d0) NonNegative("anchor_d0", d0);
        if (!(LeftToRightFraction >= 0 && LeftToRightFraction <= 1)) problems.Add($"left_to_right_fraction must be in [0, 1] (got {LeftToRightFraction})");
        if (LeftToRightBlock < 1) problems.Add($"left_to_right_block must be >= 1 (got {LeftToRightBlock})");
        if (LeftToRightFraction > 0 && Autoregressive) problems.Add("left_to_right_fraction applies to diffusion models, not to objective 'ar'");
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
