using static TorchSharp.torch;

namespace AnCoder.Diffusion.Schedules;

/// <summary>Training times t (docs/algorithms.md §1).</summary>
public static class TimeSampling
{
    /// <summary>
    /// Stratified (antithetic) times, fp32 [B]: t_b = ε + (1 − ε)·(u_b + b)/B with u_b ~ U[0, 1), so row b lies in
    /// its own stratum [ε + (1−ε)b/B, ε + (1−ε)(b+1)/B) and the batch covers [ε, 1) evenly. One uniform per row, as
    /// MDLM's <c>_sample_t</c> ((u/B + b/B) mod 1 never wraps for u &lt; 1). Computed in float64; the fp32 result is
    /// kept strictly below 1.
    /// </summary>
    public static Tensor Stratified(long batch, double timeEpsilon, Generator? generator = null)
    {
        if (batch <= 0) throw new ArgumentOutOfRangeException(nameof(batch), batch, "batch must be positive");
        if (!(timeEpsilon >= 0 && timeEpsilon < 1))
            throw new ArgumentOutOfRangeException(nameof(timeEpsilon), timeEpsilon, "time epsilon must be in [0, 1)");
        using var scope = NewDisposeScope();
        var u = rand([batch], dtype: ScalarType.Float64, generator: generator);
        var strata = arange(batch, dtype: ScalarType.Float64);
        var e = u.add_(strata).div_(batch);
        var t = e.mul_(1 - timeEpsilon).add_(timeEpsilon).to(ScalarType.Float32);
        return t.clamp_max_(LargestFloatBelowOne).MoveToOuterDisposeScope();
    }

    internal static readonly float LargestFloatBelowOne = MathF.BitDecrement(1f);
}
