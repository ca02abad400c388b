using AnCoder.Diffusion.Configuration;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace AnCoder.Diffusion.Model;

// Qwen2-layout building blocks (docs/algorithms.md §4). Field names follow Hugging Face's Qwen2 so that state-dict keys
// (`layers.0.self_attn.q_proj.weight`, ...) line up with theirs. Parameters stay in their own dtype (fp32 master
// weights); every matmul casts the weight to the dtype of its input, so bf16 activations give bf16 compute on AMX
// while the optimizer updates fp32 weights (TorchSharp has no CPU autocast).

/// <summary>y = x·Wᵀ + b with W cast to x's dtype.</summary>
public sealed class CastingLinear : nn.Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly Parameter? bias;

    public CastingLinear(long inFeatures, long outFeatures, bool hasBias, string name = "linear") : base(name)
    {
        weight = new Parameter(empty(outFeatures, inFeatures));
        nn.init.normal_(weight, 0, 0.02);
        if (hasBias) bias = new Parameter(zeros(outFeatures));
        RegisterComponents();
    }

    public Parameter Weight => weight;
    public Parameter? Bias => bias;

    public override Tensor forward(Tensor input) =>
        F.linear(input, weight.to(input.dtype), bias?.to(input.dtype));

    /// <summary>
    /// The linears applied to the same input as one matmul: [x·W₁ᵀ+b₁ | x·W₂ᵀ+b₂ | …] along the last axis. All must
    /// agree on having a bias. Concatenating and casting the (small) weights costs far less than the saved kernels.
    /// </summary>
    public static Tensor Fused(CastingLinear[] linears, Tensor input)
    {
        var weight = cat(linears.Select(l => (Tensor)l.weight).ToArray(), 0).to(input.dtype);
        var bias = linears[0].bias is null ? null : cat(linears.Select(l => (Tensor)l.bias!).ToArray(), 0).to(input.dtype);
        return F.linear(input, weight, bias);
    }
}

/// <summary>RMSNorm computed in fp32 (Qwen2RMSNorm): w · x / sqrt(mean(x²) + eps), returned in x's dtype.</summary>
public sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly double eps;

    public RmsNorm(long size, double eps, string name = "rms_norm") : base(name)
    {
        weight = new Parameter(ones(size));
        this.eps = eps;
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = input.to(ScalarType.Float32);
        var variance = x.pow(2).mean([-1L], keepdim: true);
        x = x * rsqrt(variance + eps);
        return (weight * x).to(input.dtype).MoveToOuterDisposeScope();
    }
}

/// <summary>Rotary position embedding, rotate-half layout: cos/sin tables per position, cached per length and dtype.</summary>
public sealed class RotaryEmbedding
{
    private readonly int headDim;
    private readonly double theta;
    private Tensor? cos, sin;

    public RotaryEmbedding(int headDim, double theta)
    {
        this.headDim = headDim;
        this.theta = theta;
    }

    /// <summary>cos and sin of shape [L, headDim] for positions 0..L−1 (HF: emb = cat(freqs, freqs)).</summary>
    public (Tensor Cos, Tensor Sin) Tables(long length, ScalarType dtype)
    {
        if (cos is null || cos.shape[0] < length || cos.dtype != dtype)
        {
            cos?.Dispose();
            sin?.Dispose();
            using var scope = NewDisposeScope();
            var inverseFrequency = 1.0 / pow(theta, arange(0, headDim, 2, dtype: ScalarType.Float64) / headDim);
            var positions = arange(length, dtype: ScalarType.Float64);
            var frequencies = outer(positions, inverseFrequency);
            var angles = cat([frequencies, frequencies], dim: -1);
            cos = angles.cos().to(dtype).DetachFromDisposeScope();
            sin = angles.sin().to(dtype).DetachFromDisposeScope();
        }
        return (cos[..(int)length], sin![..(int)length]);
    }

    /// <summary>x·cos + rotate_half(x)·sin; x's last axis is headDim and cos/sin [L, (1,) headDim] broadcast.</summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        long half = x.shape[^1] / 2;
        var x1 = x[TensorIndex.Ellipsis, ..(int)half];
        var x2 = x[TensorIndex.Ellipsis, (int)half..];
        var rotated = cat([-x2, x1], dim: -1);
        return x * cos + rotated * sin;
    }
}

/// <summary>
/// Grouped-query self-attention, bidirectional (the diffusion networks) or with the causal mask (<see cref="Causal"/>:
/// the autoregressive model, docs/recipe.md); q/k/v with bias, o without. <see cref="ForwardCached"/> is the
/// causal step with a key/value cache (autoregressive decoding).
/// </summary>
public sealed class Qwen2Attention : nn.Module<Tensor, Tensor?, Tensor>
{
    private readonly CastingLinear q_proj, k_proj, v_proj, o_proj;
    private readonly int heads, kvHeads, headDim;
    private readonly RotaryEmbedding rotary;

    public Qwen2Attention(ModelConfig config, RotaryEmbedding rotary, string name = "self_attn") : base(name)
    {
        heads = config.NumAttentionHeads;
        kvHeads = config.NumKeyValueHeads;
        headDim = config.ResolvedHeadDim;
        q_proj = new CastingLinear(config.HiddenSize, heads * headDim, hasBias: true);
        k_proj = new CastingLinear(config.HiddenSize, kvHeads * headDim, hasBias: true);
        v_proj = new CastingLinear(config.HiddenSize, kvHeads * headDim, hasBias: true);
        o_proj = new CastingLinear(heads * headDim, config.HiddenSize, hasBias: false);
        this.rotary = rotary;
        RegisterComponents();
    }

    /// <summary>Query i attends only keys j ≤ i (Hugging Face's Qwen2ForCausalLM); off for the diffusion networks.</summary>
    public bool Causal { get; set; }

    public CastingLinear OutputProjection => o_proj;

    /// <summary>
    /// The causal mask for the stacked grouped-query layout: bool [groups·queries, keys], row g·queries + i (query i
    /// of group g, at absolute position <paramref name="offset"/> + i) true at keys j ≤ offset + i.
    /// </summary>
    internal static Tensor CausalMask(long queries, long keys, long offset, int groups)
    {
        var mask = ones(queries, keys, dtype: ScalarType.Bool).tril(offset);
        return groups > 1 ? mask.repeat(groups, 1) : mask;
    }

    /// <summary>
    /// softmax(q·kᵀ/√d, masked)·v written out. For bf16 training it beats libtorch's CPU flash attention (measured
    /// here, B 8 × 4 heads × L 256 × 64, forward+backward: 56–75 ms vs 104–139 ms); in fp32 SDPA is faster (105–120
    /// vs 158–183 ms), so fp32 keeps SDPA. The bf16 softmax accumulates in fp32 like Hugging Face's.
    /// </summary>
    internal static Tensor ExplicitAttention(Tensor q, Tensor k, Tensor v, Tensor? keyMask)
    {
        var scores = matmul(q * (1.0 / Math.Sqrt(q.shape[^1])), k.transpose(-2, -1));
        if (keyMask is not null) scores = scores.masked_fill(keyMask.logical_not(), double.NegativeInfinity);
        return matmul(scores.softmax(-1), v);
    }

    /// <param name="hidden">[B, L, d]</param>
    /// <param name="keyMask">optional bool [B, 1, 1, L]: true where a key may be attended (padding excluded)</param>
    public override Tensor forward(Tensor hidden, Tensor? keyMask)
    {
        long batch = hidden.shape[0], length = hidden.shape[1];
        int groups = heads / kvHeads;
        // One matmul for q, k and v (their weights concatenated per call; the parameters stay separate, named as
        // Hugging Face's), then one RoPE over the q and k heads together: fewer, larger kernels.
        var qkv = CastingLinear.Fused([q_proj, k_proj, v_proj], hidden).view(batch, length, heads + 2 * kvHeads, headDim);
        var (cos, sin) = rotary.Tables(length, hidden.dtype);
        var qk = RotaryEmbedding.Apply(qkv[.., .., ..(heads + kvHeads)], cos.unsqueeze(1), sin.unsqueeze(1));
        // Grouped-query attention without repeating k and v: attention rows are independent and there is no causal
        // mask, so the `groups` query heads that share a kv head are stacked along the sequence axis
        // (HF repeat_kv: query head h uses kv head h / groups).
        // With the causal mask the stacked rows get the mask repeated per group (CausalMask).
        var q = qk[.., .., ..heads].transpose(1, 2).reshape(batch, kvHeads, groups * length, headDim);
        var k = qk[.., .., heads..].transpose(1, 2);
        var v = qkv[.., .., (heads + kvHeads)..].transpose(1, 2);
        var mask = keyMask;
        if (Causal)
        {
            var causal = CausalMask(length, length, 0, groups);
            mask = keyMask is null ? causal : causal.logical_and(keyMask);
        }
        return o_proj.call(Attend(q, k, v, mask, batch, length));
    }

    private Tensor Attend(Tensor q, Tensor k, Tensor v, Tensor? mask, long batch, long length)
    {
        var attended = q.dtype == ScalarType.BFloat16
            ? ExplicitAttention(q, k, v, mask)
            : F.scaled_dot_product_attention(q, k, v, attn_mask: mask, is_casual: false);
        return attended.view(batch, heads, length, headDim).transpose(1, 2).reshape(batch, length, heads * headDim);
    }

    /// <summary>
    /// The causal step on new tokens at positions <paramref name="position"/>.. of hidden [B, l, d]: their keys and
    /// values are written into <paramref name="cache"/> (rows position..position+l−1), and each new query attends the
    /// cached keys before it and the new ones up to itself. Equals <see cref="forward"/> with the causal mask on the
    /// whole sequence, at the new positions. <paramref name="qkvWeight"/>/<paramref name="qkvBias"/>: q, k, v
    /// concatenated and cast once per decoding run (see <see cref="Qwen2Network.DecodingWeights"/>).
    /// </summary>
    internal Tensor ForwardCached(Tensor hidden, LayerKvCache cache, long position, Tensor qkvWeight, Tensor qkvBias, Tensor outputWeight)
    {
        long batch = hidden.shape[0], length = hidden.shape[1];
        int groups = heads / kvHeads;
        var qkv = F.linear(hidden, qkvWeight, qkvBias).view(batch, length, heads + 2 * kvHeads, headDim);
        var (cos, sin) = rotary.Tables(position + length, hidden.dtype);
        var qk = RotaryEmbedding.Apply(qkv[.., .., ..(heads + kvHeads)], cos[(int)position..].unsqueeze(1), sin[(int)position..].unsqueeze(1));
        var q = qk[.., .., ..heads].transpose(1, 2).reshape(batch, kvHeads, groups * length, headDim);
        cache.Keys.narrow(2, position, length).copy_(qk[.., .., heads..].transpose(1, 2));
        cache.Values.narrow(2, position, length).copy_(qkv[.., .., (heads + kvHeads)..].transpose(1, 2));
        var k = cache.Keys.narrow(2, 0, position + length);
        var v = cache.Values.narrow(2, 0, position + length);
        var mask = length > 1 ? CausalMask(length, position + length, position, groups) : null; // one query sees every cached key
        return F.linear(Attend(q, k, v, mask, batch, length), outputWeight);
    }

    /// <summary>[W_q; W_k; W_v] and [b_q; b_k; b_v] in <paramref name="dtype"/>, and W_o: the cached step's weights.</summary>
    internal (Tensor QkvWeight, Tensor QkvBias, Tensor OutputWeight) DecodingWeights(ScalarType dtype) =>
        (cat([q_proj.Weight, k_proj.Weight, v_proj.Weight], 0).to(dtype).detach(),
         cat([q_proj.Bias!, k_proj.Bias!, v_proj.Bias!], 0).to(dtype).detach(),
         o_proj.Weight.to(dtype).detach());
}

/// <summary>SwiGLU: down(silu(gate(x)) ⊙ up(x)).</summary>
public sealed class Qwen2Mlp : nn.Module<Tensor, Tensor>
{
    private readonly CastingLinear gate_proj, up_proj, down_proj;

    public Qwen2Mlp(ModelConfig config, string name = "mlp") : base(name)
    {
        gate_proj = new CastingLinear(config.HiddenSize, config.IntermediateSize, hasBias: false);
        up_proj = new CastingLinear(config.HiddenSize, config.IntermediateSize, hasBias: false);
        down_proj = new CastingLinear(config.IntermediateSize, config.HiddenSize, hasBias: false);
        RegisterComponents();
    }

    public CastingLinear DownProjection => down_proj;

    public override Tensor forward(Tensor x)
    {
        var gateUp = CastingLinear.Fused([gate_proj, up_proj], x).chunk(2, -1); // one matmul for gate and up
        return down_proj.call(F.silu(gateUp[0]) * gateUp[1]);
    }

    /// <summary>The same with [W_gate; W_up] and W_down already concatenated and cast (decoding).</summary>
    internal static Tensor Forward(Tensor x, Tensor gateUpWeight, Tensor downWeight)
    {
        var gateUp = F.linear(x, gateUpWeight).chunk(2, -1);
        return F.linear(F.silu(gateUp[0]) * gateUp[1], downWeight);
    }

    internal (Tensor GateUpWeight, Tensor DownWeight) DecodingWeights(ScalarType dtype) =>
        (cat([gate_proj.Weight, up_proj.Weight], 0).to(dtype).detach(), down_proj.Weight.to(dtype).detach());
}

/// <summary>Pre-norm block: x + Attn(RMSNorm(x)), then + MLP(RMSNorm(·)).</summary>
public sealed class Qwen2DecoderLayer : nn.Module<Tensor, Tensor?, Tensor>
{
    private readonly Qwen2Attention self_attn;
    private readonly Qwen2Mlp mlp;
    private readonly RmsNorm input_layernorm, post_attention_layernorm;

    public Qwen2DecoderLayer(ModelConfig config, RotaryEmbedding rotary, string name = "layer") : base(name)
    {
        self_attn = new Qwen2Attention(config, rotary);
        mlp = new Qwen2Mlp(config);
        input_layernorm = new RmsNorm(config.HiddenSize, config.RmsNormEps);
        post_attention_layernorm = new RmsNorm(config.HiddenSize, config.RmsNormEps);
        RegisterComponents();
    }

    public Qwen2Attention Attention => self_attn;
    public Qwen2Mlp Mlp => mlp;

    public override Tensor forward(Tensor x, Tensor? keyMask)
    {
        var h = x + self_attn.call(input_layernorm.call(x), keyMask);
        return h + mlp.call(post_attention_layernorm.call(h));
    }

    internal Tensor ForwardCached(Tensor x, LayerKvCache cache, long position, LayerDecodingWeights w)
    {
        var h = x + self_attn.ForwardCached(input_layernorm.call(x), cache, position, w.QkvWeight, w.QkvBias, w.OutputWeight);
        return h + Qwen2Mlp.Forward(post_attention_layernorm.call(h), w.GateUpWeight, w.DownWeight);
    }

    internal LayerDecodingWeights DecodingWeights(ScalarType dtype)
    {
        var (qkvWeight, qkvBias, outputWeight) = self_attn.DecodingWeights(dtype);
        var (gateUp, down) = mlp.DecodingWeights(dtype);
        return new LayerDecodingWeights(qkvWeight, qkvBias, outputWeight, gateUp, down);
    }
}

/// <summary>One layer's matmul weights fused and cast once for a decoding run (the weights do not change while sampling).</summary>
internal sealed record LayerDecodingWeights(Tensor QkvWeight, Tensor QkvBias, Tensor OutputWeight, Tensor GateUpWeight, Tensor DownWeight) : IDisposable
{
    public void Dispose()
    {
        QkvWeight.Dispose(); QkvBias.Dispose(); OutputWeight.Dispose(); GateUpWeight.Dispose(); DownWeight.Dispose();
    }
}

/// <summary>
/// A Qwen2 stack with a tied embedding: <c>embed_tokens</c>, <c>layers.{i}</c>, <c>norm</c>. Bidirectional unless
/// <see cref="Causal"/> is set (the autoregressive model; or φ with its causal mask back on, as in the tests).
/// </summary>
public sealed class Qwen2Network : nn.Module<Tensor, Tensor?, Tensor>
{
    private readonly Embedding embed_tokens;
    private readonly ModuleList<Qwen2DecoderLayer> layers;
    private readonly RmsNorm norm;

    public Qwen2Network(ModelConfig config, int layerCount, string name = "network") : base(name)
    {
        embed_tokens = nn.Embedding(config.VocabSize, config.HiddenSize);
        nn.init.normal_(embed_tokens.weight!, 0, 0.02);
        var rotary = new RotaryEmbedding(config.ResolvedHeadDim, config.RopeTheta);
        layers = new ModuleList<Qwen2DecoderLayer>();
        for (int i = 0; i < layerCount; i++) layers.Add(new Qwen2DecoderLayer(config, rotary));
        norm = new RmsNorm(config.HiddenSize, config.RmsNormEps);
        RegisterComponents();
    }

    /// <summary>E, the tied [V, d] embedding matrix.</summary>
    public Parameter EmbeddingMatrix => embed_tokens.weight!;
    public int LayerCount => layers.Count;
    public IReadOnlyList<Qwen2DecoderLayer> Layers => layers.ToList();

    /// <summary>The causal mask in every layer's attention.</summary>
    public bool Causal
    {
        get => layers.Count > 0 && layers[0].Attention.Causal;
        set { foreach (var layer in layers) layer.Attention.Causal = value; }
    }

    /// <summary>The layers' weights fused and cast to <paramref name="dtype"/> for <see cref="ForwardCached"/>; dispose them after decoding.</summary>
    internal DecodingWeights DecodingWeights(ScalarType dtype)
    {
        using var noGrad = no_grad();
        return new DecodingWeights(layers.Select(layer => layer.DecodingWeights(dtype)).ToArray(), EmbeddingMatrix.to(dtype).detach());
    }

    /// <summary>
    /// The causal network on new states [B, l, d] at positions <paramref name="position"/>.. with the key/value
    /// cache (no autograd): layers and final norm, as <see cref="forward"/> with the causal mask gives at those positions.
    /// </summary>
    internal Tensor ForwardCached(Tensor states, KvCache cache, long position, DecodingWeights weights)
    {
        var h = states;
        for (int i = 0; i < layers.Count; i++)
        {
            Tensor next;
            using (NewDisposeScope()) next = layers[i].ForwardCached(h, cache.Layers[i], position, weights.Layers[i]).MoveToOuterDisposeScope();
            if (!ReferenceEquals(h, states)) h.Dispose();
            h = next;
        }
        return norm.call(h);
    }

    /// <summary>Rows of E for the ids, in <paramref name="computeType"/>.</summary>
    public Tensor Embed(Tensor ids, ScalarType computeType) => embed_tokens.call(ids).to(computeType);

    /// <summary>Runs the layers and the final norm on input states [B, L, d] (the "body" of the network).</summary>
    public override Tensor forward(Tensor states, Tensor? keyMask)
    {
        var h = states;
        bool inference = !is_grad_enabled();
        foreach (var layer in layers)
        {
            if (!inference)
            {
                h = layer.call(h, keyMask);
                continue;
            }
            // Without autograd nothing refers back to a layer's intermediates: free them as each layer ends
            // (docs/torchsharp.md §5: inference RSS ~1.5 GB → ~0.35 GB). The caller's input stays alive.
            Tensor next;
            using (NewDisposeScope()) next = layer.call(h, keyMask).MoveToOuterDisposeScope();
            if (!ReferenceEquals(h, states)) h.Dispose(); // the previous layer's output, now consumed
            h = next;
        }
        return norm.call(h);
    }

    /// <summary>Tied output projection: h·Eᵀ, [B, L, V], in h's dtype.</summary>
    public Tensor Unembed(Tensor hidden) => Unembed(hidden, EmbeddingMatrix.to(hidden.dtype));

    /// <summary>h·Eᵀ with E already cast to h's dtype (callers that use E twice cast it once).</summary>
    public Tensor Unembed(Tensor hidden, Tensor castEmbedding) => matmul(hidden, castEmbedding.t());
}

/// <summary>A network's decoding weights: per layer (<see cref="LayerDecodingWeights"/>) and the cast embedding.</summary>
internal sealed record DecodingWeights(LayerDecodingWeights[] Layers, Tensor Embedding) : IDisposable
{
    public void Dispose()
    {
        foreach (var layer in Layers) layer.Dispose();
        Embedding.Dispose();
    }
}
