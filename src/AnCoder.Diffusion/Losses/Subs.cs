using static TorchSharp.torch;

namespace AnCoder.Diffusion.Losses;

/// <summary>SUBS parametrisation (docs/algorithms.md §3): zero-masking and carry-over unmasking.</summary>
public static class Subs
{
    /// <summary>A finite stand-in for −∞ (−inf would give NaN gradients and 0·∞ in the loss).</summary>
    public const float NegativeInfinity = -1e6f;

    /// <summary>
    /// Log-probabilities fp32 [B, L, V] from raw logits [B, L, V] and z_t [B, L]: the mask column is set to −1e6
    /// before the log-softmax (the mask is never predicted), and each visible position's row becomes 0 at z_t[i] and
    /// −1e6 elsewhere (a visible token is carried over with probability 1, so its loss is 0).
    /// </summary>
    public static Tensor LogProbabilities(Tensor logits, Tensor noisyIds, int maskId)
    {
        using var scope = NewDisposeScope();
        var logProbabilities = MaskedLogSoftmax(logits, maskId);
        var visible = noisyIds.ne(maskId).unsqueeze(-1);
        var carried = noisyIds.to(ScalarType.Int64).unsqueeze(-1);
        var carryOver = full_like(logProbabilities, NegativeInfinity)
            .scatter_(-1, carried, zeros(carried.shape, dtype: ScalarType.Float32));
        return where(visible, carryOver, logProbabilities).MoveToOuterDisposeScope();
    }

    /// <summary>Step (1) of SUBS alone: log-softmax of fp32 logits with the mask column at −1e6.</summary>
    internal static Tensor MaskedLogSoftmax(Tensor logits, int maskId)
    {
        using var scope = NewDisposeScope();
        var maskColumn = tensor(new long[] { maskId });
        var zeroMasked = logits.to(ScalarType.Float32).index_fill(-1, maskColumn, NegativeInfinity);
        return zeroMasked.log_softmax(-1).MoveToOuterDisposeScope();
    }
}
