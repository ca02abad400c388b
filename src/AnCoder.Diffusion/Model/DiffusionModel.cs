using AnCoder.Diffusion.Configuration;
using TorchSharp;
using static TorchSharp.torch;

namespace AnCoder.Diffusion.Model;

/// <summary>
/// Raw network outputs for a noisy input z_t, both fp32 [B, L, V]. <see cref="DenoiserLogits"/> are before SUBS;
/// <see cref="AnchorLogits"/> are φ's logits a (null for MDLM).
/// </summary>
public sealed record ModelOutput(Tensor DenoiserLogits, Tensor? AnchorLogits);

/// <summary>
/// A masked diffusion LM: ids z_t [B, L] (mask id where masked) → <see cref="ModelOutput"/>. Build one with
/// <see cref="Create"/>. Compute runs in <see cref="ComputeType"/> (fp32 or bf16) while parameters keep their dtype.
/// </summary>
public abstract class DiffusionModel : nn.Module<Tensor, Tensor?, ModelOutput>
{
    protected DiffusionModel(ModelConfig config, string name) : base(name) => Config = config;

    public ModelConfig Config { get; }

    /// <summary>Activation dtype: Float32 (default) or BFloat16 (AMX matmuls; norms and losses stay fp32).</summary>
    public ScalarType ComputeType { get; set; } = ScalarType.Float32;

    /// <summary>Runs the model. <paramref name="keyMask"/>: optional bool [B, L], true at positions that may be attended.</summary>
    public ModelOutput Forward(Tensor noisyIds, Tensor? keyMask = null) => call(noisyIds, keyMask);

    /// <summary>
    /// The same with the denoiser logits of positions <paramref name="logitsFrom"/>.. only ([B, L − from, V]; the anchor
    /// logits stay [B, L, V]): sampling reads no prediction at a frozen prompt position, and the unembedding of every
    /// position (h·Eᵀ over an 8,192-token vocabulary) costs as much as the rest of a small network. Equals
    /// <c>Forward(...).DenoiserLogits[.., from..]</c> (the shift included: position i still takes the logits computed at i−1).
    /// </summary>
    public ModelOutput ForwardFrom(Tensor noisyIds, Tensor? keyMask, long logitsFrom)
    {
        if (logitsFrom < 0 || logitsFrom >= noisyIds.shape[1])
            throw new ArgumentOutOfRangeException(nameof(logitsFrom), $"logitsFrom {logitsFrom} is outside the {noisyIds.shape[1]} positions");
        return logitsFrom == 0 ? Forward(noisyIds, keyMask) : WindowedForward(noisyIds, keyMask, logitsFrom);
    }

    /// <summary><see cref="ForwardFrom"/> for a window that starts after position 0: by default the full forward, cut.</summary>
    protected virtual ModelOutput WindowedForward(Tensor noisyIds, Tensor? keyMask, long logitsFrom)
    {
        var full = Forward(noisyIds, keyMask);
        return full with { DenoiserLogits = full.DenoiserLogits[.., (int)logitsFrom..] };
    }

    /// <summary>
    /// The final hidden states whose unembedding gives the logits of positions from.. : with <c>shift</c>, position
    /// i's come from i−1 (<see cref="MaybeShift"/>), so the window starts one earlier and drops the last position.
    /// </summary>
    protected Tensor WindowOfHidden(Tensor hidden, long logitsFrom) =>
        Config.Shift ? hidden[.., (int)(logitsFrom - 1)..^1] : hidden[.., (int)logitsFrom..];

    /// <summary>fp32 logits of positions <paramref name="logitsFrom"/>.. from the final hidden states: every position
    /// shifted as ever (0), or the window's (<see cref="WindowOfHidden"/>).</summary>
    protected Tensor LogitsFrom(Tensor hidden, long logitsFrom, Func<Tensor, Tensor> unembed) => logitsFrom == 0
        ? MaybeShift(unembed(hidden).to(ScalarType.Float32))
        : unembed(WindowOfHidden(hidden, logitsFrom)).to(ScalarType.Float32);

    public static DiffusionModel Create(ModelConfig config)
    {
        var problems = config.Validate();
        if (problems.Count > 0) throw new ConfigException(string.Join("; ", problems));
        return config.Architecture switch
        {
            Architecture.Mdlm => new MdlmModel(config),
            Architecture.Anchored => new AnchoredModel(config),
            Architecture.Causal => new CausalLmModel(config),
            _ => throw new ConfigException($"unknown architecture {config.Architecture}"),
        };
    }

    public long ParameterCount() => parameters().Sum(p => p.numel());

    /// <summary>[B, L] bool → [B, 1, 1, L] for scaled-dot-product attention.</summary>
    protected static Tensor? AttentionMask(Tensor? keyMask) => keyMask?.unsqueeze(1).unsqueeze(1);

    /// <summary>
    /// The `shift` switch: position i takes the logits computed at i−1 (position 0 keeps its own), as for models
    /// adapted from autoregressive weights. In the anchored model ψ reads φ's unshifted logits; both outputs shift.
    /// </summary>
    protected Tensor MaybeShift(Tensor logits) =>
        Config.Shift ? cat([logits[.., ..1], logits[.., ..^1]], dim: 1) : logits;
}

/// <summary>MDLM baseline: E → N layers → RMSNorm → Eᵀ (tied). Parameters under <c>model.</c>.</summary>
public sealed class MdlmModel : DiffusionModel
{
    private readonly Qwen2Network model;

    public MdlmModel(ModelConfig config) : base(config, "mdlm")
    {
        model = new Qwen2Network(config, config.NumHiddenLayers);
        RegisterComponents();
    }

    public Qwen2Network Network => model;

    public override ModelOutput forward(Tensor noisyIds, Tensor? keyMask) => Run(noisyIds, keyMask, 0);

    protected override ModelOutput WindowedForward(Tensor noisyIds, Tensor? keyMask, long logitsFrom) => Run(noisyIds, keyMask, logitsFrom);

    private ModelOutput Run(Tensor noisyIds, Tensor? keyMask, long logitsFrom)
    {
        var hidden = model.call(model.Embed(noisyIds, ComputeType), AttentionMask(keyMask));
        return new ModelOutput(LogitsFrom(hidden, logitsFrom, model.Unembed), null);
    }
}

/// <summary>
/// Anchored model (docs/algorithms.md §4): φ (<c>anchor.</c>) gives anchor logits a; ψ (<c>denoiser.</c>) sees z_t only
/// through a: g⁰ = softmax(a)·E_ψ (or a·E_ψ, or <c>denoiser_input</c>(a)), N_d layers, RMSNorm, ℓ = g·E_ψᵀ.
/// </summary>
public sealed class AnchoredModel : DiffusionModel
{
    private readonly Qwen2Network anchor;
    private readonly Qwen2Network denoiser;
    private readonly CastingLinear? denoiser_input;

    public AnchoredModel(ModelConfig config) : base(config, "anchored")
    {
        anchor = new Qwen2Network(config, config.NumHiddenLayers);
        denoiser = new Qwen2Network(config, config.DenoiserLayers);
        if (config.DenoiserInput == DenoiserInput.Linear)
            denoiser_input = new CastingLinear(config.VocabSize, config.HiddenSize, hasBias: true);
        RegisterComponents();
    }

    public Qwen2Network Anchor => anchor;
    public Qwen2Network Denoiser => denoiser;

    public override ModelOutput forward(Tensor noisyIds, Tensor? keyMask) => Run(noisyIds, keyMask, 0);

    protected override ModelOutput WindowedForward(Tensor noisyIds, Tensor? keyMask, long logitsFrom) => Run(noisyIds, keyMask, logitsFrom);

    /// <summary>φ over every position (ψ reads all of a), ψ's unembedding from <paramref name="logitsFrom"/> on (0: all, shifted as ever).</summary>
    private ModelOutput Run(Tensor noisyIds, Tensor? keyMask, long logitsFrom)
    {
        var mask = AttentionMask(keyMask);
        var anchorHidden = anchor.call(anchor.Embed(noisyIds, ComputeType), mask);
        // a in the compute dtype feeds ψ directly: in bf16 it comes out of a bf16 matmul, so a round trip through
        // fp32 would add nothing but two casts of a [B, L, V] tensor (the bf16 softmax accumulates in fp32).
        var anchorRaw = anchor.Unembed(anchorHidden);
        var anchorLogits = anchorRaw.to(ScalarType.Float32);

        var denoiserEmbedding = denoiser.EmbeddingMatrix.to(ComputeType); // cast once, used for ψ's input and output
        var firstState = Config.DenoiserInput switch
        {
            DenoiserInput.Softmax => matmul(anchorRaw.softmax(-1), denoiserEmbedding),
            DenoiserInput.Logits => matmul(anchorRaw, denoiserEmbedding),
            // Our variant (docs/recipe.md): ψ also reads z_t itself, E_ψ[z_t], beside φ's expected embedding.
            DenoiserInput.SoftmaxEmbed => matmul(anchorRaw.softmax(-1), denoiserEmbedding) + denoiser.Embed(noisyIds, ComputeType),
            _ => denoiser_input!.call(anchorRaw),
        };
        var hidden = denoiser.call(firstState, mask);
        return new ModelOutput(LogitsFrom(hidden, logitsFrom, h => denoiser.Unembed(h, denoiserEmbedding)), MaybeShift(anchorLogits));
    }
}

/// <summary>
/// The autoregressive model of the recipe (docs/recipe.md §1): E → N causal Qwen2 layers → RMSNorm → Eᵀ (tied),
/// parameters under <c>model.</c> exactly as Hugging Face's <c>Qwen2ForCausalLM</c> names them (no <c>lm_head</c>:
/// tied). <see cref="ModelOutput.DenoiserLogits"/> at position i are the logits of token i+1.
/// </summary>
public sealed class CausalLmModel : DiffusionModel
{
    private readonly Qwen2Network model;

    public CausalLmModel(ModelConfig config) : base(config, "causal")
    {
        model = new Qwen2Network(config, config.NumHiddenLayers);
        RegisterComponents();
        model.Causal = true;
    }

    public Qwen2Network Network => model;

    public override ModelOutput forward(Tensor ids, Tensor? keyMask)
    {
        var hidden = model.call(model.Embed(ids, ComputeType), AttentionMask(keyMask));
        return new ModelOutput(model.Unembed(hidden).to(ScalarType.Float32), null);
    }

    /// <summary>
    /// Starts incremental decoding of <paramref name="batch"/> sequences of at most <paramref name="capacity"/>
    /// tokens: a key/value cache and the weights fused and cast once to <see cref="DiffusionModel.ComputeType"/>.
    /// </summary>
    public DecodingSession StartDecoding(long batch, long capacity) => new(this, batch, capacity);

    /// <summary>Incremental causal decoding with a key/value cache (no autograd). Dispose it when done.</summary>
    public sealed class DecodingSession : IDisposable
    {
        private readonly CausalLmModel owner;
        private readonly KvCache cache;
        private readonly DecodingWeights weights;

        internal DecodingSession(CausalLmModel owner, long batch, long capacity)
        {
            this.owner = owner;
            cache = new KvCache(owner.Config, batch, capacity, owner.ComputeType);
            weights = owner.model.DecodingWeights(owner.ComputeType);
        }

        /// <summary>Positions consumed so far.</summary>
        public long Length => cache.Length;
        public long Capacity => cache.Capacity;
        public long Batch => cache.Batch;

        /// <summary>
        /// Feeds new tokens <paramref name="ids"/> [B, l] (the prompt, then one sampled token per step) and returns the
        /// fp32 logits [B, V] at the last of them: the distribution of the next token.
        /// </summary>
        public Tensor Step(Tensor ids)
        {
            long length = ids.shape[1];
            if (cache.Length + length > cache.Capacity)
                throw new InvalidOperationException($"decoding past the cache capacity ({cache.Capacity} positions)");
            using var noGrad = no_grad();
            using var scope = NewDisposeScope();
            var states = weights.Embedding.index_select(0, ids.reshape(-1)).view(ids.shape[0], ids.shape[1], -1);
            var hidden = owner.model.ForwardCached(states, cache, cache.Length, weights);
            var last = hidden[.., -1];
            cache.Length += length;
            return matmul(last, weights.Embedding.t()).to(ScalarType.Float32).MoveToOuterDisposeScope();
        }

        /// <summary>Keeps only the given batch rows (int64 indices) in the cache, e.g. when the other rows finished.</summary>
        public void KeepRows(Tensor rows) => cache.KeepRows(rows);

        public void Dispose()
        {
            cache.Dispose();
            weights.Dispose();
        }
    }
}
