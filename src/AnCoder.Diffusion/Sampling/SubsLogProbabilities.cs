using static TorchSharp.torch;

namespace AnCoder.Diffusion.Sampling;

/// <summary>
/// Private stand-in for <c>Losses.Subs.LogProbabilities</c> (owned by the losses helper) until it lands on main:
/// ALGORITHMS.md §3 — mask column −1e6, log-softmax, visible rows −1e6 except 0 at their own token.
/// </summary>
internal static class SubsLogProbabilities
{
    private const float Minus = -1e6f;

    public static Tensor Compute(Tensor logits, Tensor noisyIds, int maskId)
    {
        var masked = logits.clone();
        masked[.., .., maskId] = Minus;
        var logProbs = masked.log_softmax(-1);
        var visible = noisyIds.ne(maskId);
        var oneHot = full_like(logProbs, Minus).scatter_(-1, noisyIds.unsqueeze(-1), zeros_like(logProbs[.., .., ..1]));
        return where(visible.unsqueeze(-1), oneHot, logProbs);
    }
}
