using AnCoder.Diffusion.Configuration;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace AnCoder.Diffusion.Model;

// Qwen2-layout building blocks (ALGORITHMS.md §4). Field names follow Hugging Face's Qwen2 so that state-dict keys
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

    /// <summary>x·cos + rotate_half(x)·sin for x of shape [B, heads, L, headDim].</summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        long half = x.shape[^1] / 2;
        var x1 = x[.., .., .., ..(int)half];
        var x2 = x[.., .., .., (int)half..];
        var rotated = cat([-x2, x1], dim: -1);
        return x * cos + rotated * sin;
    }
}

/// <summary>Grouped-query self-attention without a causal mask; q/k/v with bias, o without.</summary>
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

    /// <param name="hidden">[B, L, d]</param>
    /// <param name="keyMask">optional bool [B, 1, 1, L]: true where a key may be attended (padding excluded)</param>
    public override Tensor forward(Tensor hidden, Tensor? keyMask)
    {
        long batch = hidden.shape[0], length = hidden.shape[1];
        var q = q_proj.call(hidden).view(batch, length, heads, headDim).transpose(1, 2);
        var k = k_proj.call(hidden).view(batch, length, kvHeads, headDim).transpose(1, 2);
        var v = v_proj.call(hidden).view(batch, length, kvHeads, headDim).transpose(1, 2);
        var (cos, sin) = rotary.Tables(length, hidden.dtype);
        q = RotaryEmbedding.Apply(q, cos, sin);
        k = RotaryEmbedding.Apply(k, cos, sin);
        if (heads != kvHeads)
        {
            k = k.repeat_interleave(heads / kvHeads, dim: 1);
            v = v.repeat_interleave(heads / kvHeads, dim: 1);
        }
        var attended = F.scaled_dot_product_attention(q, k, v, attn_mask: keyMask, is_casual: false);
        return o_proj.call(attended.transpose(1, 2).reshape(batch, length, heads * headDim));
    }
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

    public override Tensor forward(Tensor x) => down_proj.call(F.silu(gate_proj.call(x)) * up_proj.call(x));
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

    public override Tensor forward(Tensor x, Tensor? keyMask)
    {
        var h = x + self_attn.call(input_layernorm.call(x), keyMask);
        return h + mlp.call(post_attention_layernorm.call(h));
    }
}

/// <summary>
/// A bidirectional Qwen2 stack with a tied embedding: <c>embed_tokens</c>, <c>layers.{i}</c>, <c>norm</c>.
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

    /// <summary>Rows of E for the ids, in <paramref name="computeType"/>.</summary>
    public Tensor Embed(Tensor ids, ScalarType computeType) => embed_tokens.call(ids).to(computeType);

    /// <summary>Runs the layers and the final norm on input states [B, L, d] (the "body" of the network).</summary>
    public override Tensor forward(Tensor states, Tensor? keyMask)
    {
        var h = states;
        foreach (var layer in layers) h = layer.call(h, keyMask);
        return norm.call(h);
    }

    /// <summary>Tied output projection: h·Eᵀ, [B, L, V], in h's dtype.</summary>
    public Tensor Unembed(Tensor hidden) => matmul(hidden, EmbeddingMatrix.to(hidden.dtype).t());
}
