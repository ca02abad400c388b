using AnCoder.Diffusion.Configuration;
using AnCoder.Diffusion.Losses;
using AnCoder.Diffusion.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace AnCoder.Diffusion.Tests.Recipe;

/// <summary>The AR loss on hand-computed values, and the adaptation options (docs/recipe.md §1, §3).</summary>
[Collection(TorchCollection.Name)]
public sealed class RecipeLossAndInitTests
{
    private static DiffusionBatch Batch(long[] ids, bool[] conditioning, bool[] valid, int length)
    {
        int rows = ids.Length / length;
        return new DiffusionBatch(tensor(ids, [rows, length]), zeros(rows, length), tensor(conditioning, [rows, length]), tensor(valid, [rows, length]));
    }

    [Fact]
    public void Next_token_loss_is_the_mean_NLL_of_the_targets_that_carry_loss()
    {
        using var scope = NewDisposeScope();
        // One row of 4 tokens, vocabulary 3: logits at position i predict token i+1.
        // Position 0 is a prompt (conditioning) token, position 3 is padding.
        var ids = new long[] { 2, 0, 1, 2 };
        var batch = Batch(ids, [true, false, false, false], [true, true, true, false], 4);
        var logits = tensor(new float[] { 1, 2, 3, /**/ 0, 0, 0, /**/ 2, 0, 0, /**/ 5, 5, 5 }, [1, 4, 3]);
        var parts = NextTokenLoss.FromLogits(logits, batch, maskId: 99);
        // Targets: token 1 (id 0, from logits row 0) and token 2 (id 1, from row 1); token 3 is padding.
        double nll1 = -Math.Log(Math.Exp(1) / (Math.Exp(1) + Math.Exp(2) + Math.Exp(3)));
        double nll2 = -Math.Log(1.0 / 3);
        Assert.Equal(2, parts.ValidTokens);
        Assert.Equal((nll1 + nll2) / 2, parts.Loss.item<float>(), 5);
        Assert.Equal((nll1 + nll2) / 2, parts.DenoiserNll, 5);
        Assert.Equal(0, parts.AnchorNll);

        // A conditioning target (SFT's prompt) and the mask id are never targets.
        var sft = Batch(ids, [true, true, false, false], [true, true, true, true], 4);
        Assert.Equal(new[] { false, true, true }, NextTokenLoss.Targets(sft, maskId: 99).data<bool>().ToArray());
        Assert.Equal(new[] { false, false, true }, NextTokenLoss.Targets(sft, maskId: 1).data<bool>().ToArray());
    }

    private static ModelConfig Small(DenoiserInput input) => new()
    {
        VocabSize = 16, MaskTokenId = 15, PadTokenId = 14, EosTokenId = 0, HiddenSize = 32, IntermediateSize = 48,
        NumHiddenLayers = 2, DenoiserLayers = 2, NumAttentionHeads = 2, NumKeyValueHeads = 1, MaxPositionEmbeddings = 64,
        DenoiserInput = input,
    };

    /// <summary>E_ψ with orthogonal rows of equal norm (V = 16 ≤ d = 32): ⟨E_u, E_v⟩ = s²·[u = v].</summary>
    private static void OrthogonalEmbedding(AnchoredModel model, double scale)
    {
        using var noGrad = no_grad();
        var (q, _) = linalg.qr(randn(32, 16));
        model.Denoiser.EmbeddingMatrix.copy_(q.t() * scale);
    }

    [Fact]
    public void Identity_init_psi_passes_phis_prediction_through_at_step_0()
    {
        manual_seed(4);
        using var model = (AnchoredModel)DiffusionModel.Create(Small(DenoiserInput.Softmax));
        OrthogonalEmbedding(model, 3.0);
        Adaptation.ZeroResidualOutputs(model.Denoiser);
        using var scope = NewDisposeScope();
        var ids = tensor(new long[] { 3, 15, 7, 15, 15, 9, 2, 15 }, [1, 8]);
        var output = model.Forward(ids);
        var p = output.AnchorLogits!.softmax(-1);
        // ψ's layers are the identity: ℓ = RMSNorm(p·E)·Eᵀ = p·s²/rms(p·E), a positive multiple of φ's probabilities.
        var ratio = output.DenoiserLogits / p;
        var spread = (ratio.max(-1).values - ratio.min(-1).values) / ratio.mean([-1L]);
        Assert.True(spread.max().item<float>() < 1e-3, $"ψ's logits are not proportional to φ's probabilities (spread {spread.max().item<float>()})");
        Assert.True(ratio.min().item<float>() > 0);
        Assert.True(output.DenoiserLogits.argmax(-1).eq(output.AnchorLogits!.argmax(-1)).all().item<bool>());

        // Without identity init ψ's layers change the state: the proportionality is gone.
        manual_seed(4);
        using var copied = (AnchoredModel)DiffusionModel.Create(Small(DenoiserInput.Softmax));
        OrthogonalEmbedding(copied, 3.0);
        var other = copied.Forward(ids);
        var otherRatio = other.DenoiserLogits / other.AnchorLogits!.softmax(-1);
        Assert.True(((otherRatio.max(-1).values - otherRatio.min(-1).values) / otherRatio.mean([-1L]).abs()).max().item<float>() > 1e-2);
    }

    [Fact]
    public void Softmax_embed_input_adds_the_noisy_tokens_embedding()
    {
        manual_seed(5);
        using var model = (AnchoredModel)DiffusionModel.Create(Small(DenoiserInput.SoftmaxEmbed));
        Adaptation.ZeroResidualOutputs(model.Denoiser); // ψ's layers = identity: its logits expose g⁰ directly
        using var scope = NewDisposeScope();
        var ids = tensor(new long[] { 3, 15, 7, 15, 9, 2 }, [1, 6]);
        var output = model.Forward(ids);
        var e = model.Denoiser.EmbeddingMatrix.detach();
        var g0 = matmul(output.AnchorLogits!.softmax(-1), e) + e.index_select(0, ids.reshape(-1)).unsqueeze(0);
        var normed = g0 * rsqrt(g0.pow(2).mean([-1L], keepdim: true) + 1e-6);
        var expected = matmul(normed, e.t());
        Assert.True((expected - output.DenoiserLogits).abs().max().item<float>() < 1e-4);
        Assert.Contains("\"denoiser_input\": \"softmaxembed\"", model.Config.ToJson());
        Assert.Equal(DenoiserInput.SoftmaxEmbed, ModelConfig.FromJson(model.Config.ToJson()).DenoiserInput);
    }
}
