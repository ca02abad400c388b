using System.Text.Json;
using System.Text.Json.Serialization;
using AnCoder.Anchoring.Labels;
using AnCoder.Anchoring.Settings;

namespace AnCoder.Diffusion.Configuration;

/// <summary>Which network layout a model has (docs/algorithms.md §4).</summary>
public enum Architecture
{
    /// <summary>One network: embedding → layers → norm → tied output (the MDLM baseline).</summary>
    Mdlm,
    /// <summary>Anchor network φ, then denoiser ψ that sees z_t only through φ's logits (ADLM/AnCoder).</summary>
    Anchored,
    /// <summary>
    /// An autoregressive (causal) Qwen2 language model, the recipe's stage 0 (docs/recipe.md): one network with the
    /// causal mask, next-token loss; saved as a Hugging Face <c>Qwen2ForCausalLM</c> folder.
    /// </summary>
    Causal,
}

/// <summary>How ψ turns φ's logits a into its first hidden state g⁰ (docs/algorithms.md §4).</summary>
public enum DenoiserInput
{
    /// <summary>g⁰ = softmax(a)·E_ψ, the expected embedding (default).</summary>
    Softmax,
    /// <summary>g⁰ = a·E_ψ.</summary>
    Logits,
    /// <summary>g⁰ = Linear(V, d, bias)(a), as ADLM.</summary>
    Linear,
    /// <summary>
    /// g⁰ = softmax(a)·E_ψ + E_ψ[z_t]: ψ also sees the noisy tokens themselves (our variant, not the paper's;
    /// docs/recipe.md §3). Spelled <c>softmaxembed</c> in config files and on the command line.
    /// </summary>
    SoftmaxEmbed,
}

/// <summary>
/// A model's shape and switches, saved as <c>config.json</c> beside its weights (Hugging Face style, snake_case).
/// For <see cref="Architecture.Mdlm"/> <see cref="NumHiddenLayers"/> is the one network's depth; for
/// <see cref="Architecture.Anchored"/> it is φ's depth and <see cref="DenoiserLayers"/> is ψ's.
/// </summary>
public sealed record ModelConfig
{
    public Architecture Architecture { get; init; } = Architecture.Anchored;
    public int VocabSize { get; init; } = 8192;
    public int MaskTokenId { get; init; } = 1;
    public int PadTokenId { get; init; } = 2;
    public int EosTokenId { get; init; } = 0;
    public int HiddenSize { get; init; } = 128;
    public int IntermediateSize { get; init; } = 352;
    public int NumHiddenLayers { get; init; } = 2;
    public int DenoiserLayers { get; init; } = 2;
    public int NumAttentionHeads { get; init; } = 4;
    public int NumKeyValueHeads { get; init; } = 2;
    /// <summary>0 means HiddenSize / NumAttentionHeads.</summary>
    public int HeadDim { get; init; }
    public double RopeTheta { get; init; } = 10000.0;
    public double RmsNormEps { get; init; } = 1e-6;
    public int MaxPositionEmbeddings { get; init; } = 1024;
    public DenoiserInput DenoiserInput { get; init; } = DenoiserInput.Softmax;
    /// <summary>Dream-style right shift: position i's logits come from position i−1 (for AR-initialised models).</summary>
    public bool Shift { get; init; }
    /// <summary>Diffusion and anchoring settings the model was trained with (docs/algorithms.md §1–5).</summary>
    public DiffusionSettings Diffusion { get; init; } = new();

    [JsonIgnore] public int ResolvedHeadDim => HeadDim > 0 ? HeadDim : HiddenSize / NumAttentionHeads;

    /// <summary>
    /// Parameters of one Qwen2 decoder layer: q (with bias), k and v (grouped, with bias), o (no bias), the three
    /// SwiGLU matrices and the two RMSNorm weights.
    /// </summary>
    public long LayerParameterCount()
    {
        long d = HiddenSize, queryWidth = (long)NumAttentionHeads * ResolvedHeadDim, kvWidth = (long)NumKeyValueHeads * ResolvedHeadDim;
        long attention = d * queryWidth + queryWidth + 2 * (d * kvWidth + kvWidth) + queryWidth * d;
        long mlp = 3 * d * IntermediateSize;
        return attention + mlp + 2 * d;
    }

    /// <summary>One network with a tied embedding: E [V, d], the layers, the final norm.</summary>
    public long NetworkParameterCount(int layers) => (long)VocabSize * HiddenSize + layers * LayerParameterCount() + HiddenSize;

    /// <summary>
    /// The model's parameter count, computed from the shape alone (no allocation): MDLM = one network; anchored =
    /// φ + ψ (+ the V→d linear of the <c>linear</c> denoiser input). ancoder-809m: 494M + 315M.
    /// </summary>
    public long ParameterCount() => Architecture switch
    {
        Architecture.Mdlm or Architecture.Causal => NetworkParameterCount(NumHiddenLayers),
        _ => NetworkParameterCount(NumHiddenLayers) + NetworkParameterCount(DenoiserLayers)
             + (DenoiserInput == DenoiserInput.Linear ? (long)VocabSize * HiddenSize + HiddenSize : 0),
    };

    /// <summary>
    /// Forward FLOPs per token for sequences of <paramref name="length"/> (multiply-add = 2 FLOPs): 2 × the weights
    /// used in matmuls (every layer's projections; each network's tied output h·Eᵀ; ψ's input softmax(a)·E_ψ or
    /// the linear V→d) plus attention's QKᵀ and AV, 4·L·heads·head_dim per layer. Training (forward + backward)
    /// is 3× this. Norms, RoPE, softmaxes and the loss are not counted.
    /// </summary>
    public double ForwardFlopsPerToken(int length)
    {
        long layerMatmulWeights = LayerParameterCount() - 2L * HiddenSize
            - (long)(NumAttentionHeads + 2 * NumKeyValueHeads) * ResolvedHeadDim; // minus norms and biases
        long embedding = (long)VocabSize * HiddenSize;
        bool oneNetwork = Architecture != Architecture.Anchored;
        int layers = oneNetwork ? NumHiddenLayers : NumHiddenLayers + DenoiserLayers;
        long matmulWeights = layers * layerMatmulWeights + embedding
            + (oneNetwork ? 0 : 2 * embedding); // ψ's input and ψ's output
        double attention = 4.0 * length * NumAttentionHeads * ResolvedHeadDim * layers;
        return 2.0 * matmulWeights + attention;
    }

    /// <summary>Problems with this config, each naming the field; empty when it is usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        void Positive(string name, double value) { if (value <= 0) problems.Add($"{name} must be positive (got {value})"); }
        Positive("vocab_size", VocabSize);
        Positive("hidden_size", HiddenSize);
        Positive("intermediate_size", IntermediateSize);
        Positive("num_hidden_layers", NumHiddenLayers);
        Positive("num_attention_heads", NumAttentionHeads);
        Positive("num_key_value_heads", NumKeyValueHeads);
        Positive("max_position_embeddings", MaxPositionEmbeddings);
        Positive("rope_theta", RopeTheta);
        Positive("rms_norm_eps", RmsNormEps);
        if (Architecture == Architecture.Anchored) Positive("denoiser_layers", DenoiserLayers);
        if (NumAttentionHeads > 0 && NumKeyValueHeads > 0 && NumAttentionHeads % NumKeyValueHeads != 0)
            problems.Add($"num_attention_heads ({NumAttentionHeads}) must be a multiple of num_key_value_heads ({NumKeyValueHeads})");
        if (HeadDim == 0 && NumAttentionHeads > 0 && HiddenSize % NumAttentionHeads != 0)
            problems.Add($"hidden_size ({HiddenSize}) must be a multiple of num_attention_heads ({NumAttentionHeads}) unless head_dim is set");
        if (ResolvedHeadDim % 2 != 0) problems.Add($"head_dim ({ResolvedHeadDim}) must be even for rotary embeddings");
        foreach (var (name, id) in new[] { ("mask_token_id", MaskTokenId), ("pad_token_id", PadTokenId), ("eos_token_id", EosTokenId) })
            if (id < 0 || id >= VocabSize) problems.Add($"{name} ({id}) must be in [0, vocab_size={VocabSize})");
        problems.AddRange(Diffusion.Validate());
        return problems;
    }

    public static JsonSerializerOptions JsonOptions => SettingsJson.Options;

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>Parses a config; a bad field gives a <see cref="ConfigException"/> naming the file and the path.</summary>
    public static ModelConfig FromJson(string json, string source = "config.json")
    {
        ModelConfig config;
        try
        {
            config = SettingsJson.Parse<ModelConfig>(json, source);
        }
        catch (FormatException e)
        {
            throw new ConfigException(e.Message);
        }
        var problems = config.Validate();
        if (problems.Count > 0) throw new ConfigException($"{source}: " + string.Join("; ", problems));
        return config;
    }

    public static ModelConfig Load(string path) => FromJson(ConfigException.ReadFile(path), path);
}

/// <summary>Noise schedule, loss and anchoring switches (docs/algorithms.md §1–5); names match the doc's.</summary>
public sealed record DiffusionSettings
{
    public ScheduleKind Schedule { get; init; } = ScheduleKind.Cosine2;
    public double ScheduleEpsilon { get; init; } = 1e-3;
    /// <summary>Lower bound of sampled training times t (t = ε + (1 − ε)·e).</summary>
    public double TimeEpsilon { get; init; } = 1e-3;
    public AnchorStrategy Strategy { get; init; } = AnchorStrategy.AnchorTree;
    /// <summary>λ, ρ, d0 of γ_i = λ·A_i·ρ^max(0, depth−d0); the defaults are AnchorTree's (one table:
    /// <see cref="AnchorWeightOptions.Defaults"/>).</summary>
    public double AnchorLambda { get; init; } = AnchorWeightOptions.Defaults(AnchorStrategy.AnchorTree).Lambda;
    public double AnchorRho { get; init; } = AnchorWeightOptions.Defaults(AnchorStrategy.AnchorTree).Rho;
    public int AnchorD0 { get; init; } = AnchorWeightOptions.Defaults(AnchorStrategy.AnchorTree).D0;
    public AnchorLossOn AnchorLossOn { get; init; } = AnchorLossOn.All;
    /// <summary>ADLM's warm-up: γ_eff = min(λ, step / max_steps).</summary>
    public bool AnchorWarmup { get; init; }
    /// <summary>Fraction of training rows on the left-to-right (suffix) process (our variant; docs/recipe.md §10).</summary>
    public double LeftToRightFraction { get; init; }
    /// <summary>Masked positions after the cut whose loss counts in a left-to-right row.</summary>
    public int LeftToRightBlock { get; init; } = 1;

    [JsonIgnore] public AnchorWeightOptions AnchorWeights => new(Strategy, AnchorLambda, AnchorRho, AnchorD0);

    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (ScheduleEpsilon is <= 0 or >= 0.5) problems.Add($"diffusion.schedule_epsilon ({ScheduleEpsilon}) must be in (0, 0.5)");
        if (TimeEpsilon is < 0 or >= 1) problems.Add($"diffusion.time_epsilon ({TimeEpsilon}) must be in [0, 1)");
        if (AnchorLambda < 0) problems.Add($"diffusion.anchor_lambda ({AnchorLambda}) must be >= 0");
        if (AnchorRho is <= 0 or > 1) problems.Add($"diffusion.anchor_rho ({AnchorRho}) must be in (0, 1]");
        if (AnchorD0 < 0) problems.Add($"diffusion.anchor_d0 ({AnchorD0}) must be >= 0");
        if (!(LeftToRightFraction >= 0 && LeftToRightFraction <= 1))
            problems.Add($"diffusion.left_to_right_fraction ({LeftToRightFraction}) must be in [0, 1]");
        if (LeftToRightBlock < 1) problems.Add($"diffusion.left_to_right_block ({LeftToRightBlock}) must be >= 1");
        return problems;
    }
}

/// <summary>A config that cannot be used; the message names the file and field.</summary>
public sealed class ConfigException(string message) : Exception(message)
{
    /// <summary>The text of a config file; an unreadable file is a <see cref="ConfigException"/> naming it.</summary>
    public static string ReadFile(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException($"{path}: cannot read ({e.Message})");
        }
    }
}
