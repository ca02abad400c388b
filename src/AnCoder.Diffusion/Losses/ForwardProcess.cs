using AnCoder.Diffusion.Schedules;
using static TorchSharp.torch;

namespace AnCoder.Diffusion.Losses;

/// <summary>The forward (noising) process q(z_t | x) of docs/algorithms.md §1.</summary>
public static class ForwardProcess
{
    /// <summary>
    /// Masks each position of row b independently with probability 1 − α(t_b), except conditioning positions, which
    /// are never masked. <paramref name="ids"/> int64 [B, L], <paramref name="t"/> [B], <paramref name="conditioning"/>
    /// bool [B, L]. Returns z_t (int64 [B, L], <paramref name="maskId"/> where masked) and the mask (bool [B, L]).
    /// </summary>
    public static (Tensor Noisy, Tensor Masked) Mask(Tensor ids, Tensor t, INoiseSchedule schedule, Tensor conditioning,
        int maskId, Generator? generator = null)
    {
        if (ids.dim() != 2) throw new ArgumentException($"ids must be [B, L], got [{string.Join(", ", ids.shape)}]");
        if (t.dim() != 1 || t.shape[0] != ids.shape[0])
            throw new ArgumentException($"t must be [B] with B = {ids.shape[0]}, got [{string.Join(", ", t.shape)}]");
        using var scope = NewDisposeScope();
        var maskProbability = schedule.Alpha(t.to(ScalarType.Float64)).neg_().add_(1).unsqueeze(1);
        var draws = rand(ids.shape, dtype: ScalarType.Float64, generator: generator);
        var masked = draws.lt(maskProbability).logical_and_(conditioning.logical_not());
        var noisy = ids.masked_fill(masked, maskId);
        return (noisy.MoveToOuterDisposeScope(), masked.MoveToOuterDisposeScope());
    }
}
