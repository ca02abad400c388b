using AnCoder.Diffusion.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace AnCoder.Diffusion.Losses;

/// <summary>
/// The autoregressive objective of the recipe's stage 0 (docs/recipe.md §1): the mean next-token cross-entropy
/// L = Σ_{b, i ∈ T} −log softmax(ℓ[b, i−1])[x[b, i]] / |T|, where ℓ[b, i−1] are the causal model's fp32 logits at
/// position i−1 and T = the target positions i ≥ 1 that carry loss (valid, not conditioning, not the mask id) and
/// whose input position i−1 is valid. Position 0 of a row is never a target (nothing precedes it). Packed rows are
/// not split at end-of-text: a document's first token is predicted from the previous document and its end-of-text.
/// </summary>
public static class NextTokenLoss
{
    /// <summary>Runs the causal model on the batch (padding hidden from attention) and returns the loss parts.</summary>
    public static LossParts Compute(DiffusionModel model, DiffusionBatch batch)
    {
        using var scope = NewDisposeScope();
        var output = model.Forward(batch.Ids, DiffusionLoss.KeyMask(batch));
        var parts = FromLogits(output.DenoiserLogits, batch, model.Config.MaskTokenId);
        parts.Loss.MoveToOuterDisposeScope();
        return parts;
    }

    /// <summary>
    /// The loss from the causal logits [B, L, V]: <see cref="LossParts.DenoiserNll"/> is the mean NLL per target token
    /// (nats), <see cref="LossParts.ValidTokens"/> the number of targets |T|; the anchor part is 0.
    /// </summary>
    public static LossParts FromLogits(Tensor logits, DiffusionBatch batch, int maskId)
    {
        using var scope = NewDisposeScope();
        var ids = batch.Ids.to(ScalarType.Int64);
        var targets = Targets(batch, maskId);
        long count = targets.sum().item<long>();
        long vocabulary = logits.shape[^1];
        var predictions = logits[.., ..^1].to(ScalarType.Float32).reshape(-1, vocabulary);
        var index = targets.reshape(-1).nonzero().squeeze(1);
        Tensor sum = count == 0
            ? predictions.sum() * 0 // keeps the graph
            : nn.functional.cross_entropy(predictions.index_select(0, index), ids[.., 1..].reshape(-1).index_select(0, index),
                reduction: nn.Reduction.Sum);
        var loss = sum / Math.Max(count, 1);
        return new LossParts(loss.MoveToOuterDisposeScope(), sum.item<float>() / Math.Max(count, 1), 0, count, 0);
    }

    /// <summary>bool [B, L−1]: entry (b, i−1) is true when token i of row b is a target (see the class summary).</summary>
    public static Tensor Targets(DiffusionBatch batch, int maskId)
    {
        using var scope = NewDisposeScope();
        var ids = batch.Ids.to(ScalarType.Int64);
        var targetCarriesLoss = batch.LossPositions().logical_and(ids.ne(maskId))[.., 1..];
        return targetCarriesLoss.logical_and(batch.Valid[.., ..^1]).MoveToOuterDisposeScope();
    }

    /// <summary>Σ NLL and target count without gradients (validation: the caller sums over batches, then divides).</summary>
    public static (double Sum, long Count) ValidationSums(DiffusionModel model, DiffusionBatch batch)
    {
        using var noGrad = no_grad();
        var parts = Compute(model, batch);
        using var _ = parts.Loss;
        return (parts.DenoiserNll * Math.Max(parts.ValidTokens, 1), parts.ValidTokens);
    }
}
