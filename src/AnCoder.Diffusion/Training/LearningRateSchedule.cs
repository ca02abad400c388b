namespace AnCoder.Diffusion.Training;

/// <summary>
/// Linear warm-up then cosine decay (docs/algorithms.md §10: warm-up ratio 0.01), as a pure function of the step.
/// Step k (0-based, the k-th optimizer update of <c>total</c>) uses:
/// k &lt; W: peak·(k+1)/W with W = ⌈ratio·total⌉; then floor + (peak − floor)·½(1 + cos(π·p)),
/// p = (k − W)/(total − W − 1) ∈ [0, 1], floor = peak·min_lr_ratio. The first step after warm-up runs at the peak,
/// the last one at the floor.
/// </summary>
public static class LearningRateSchedule
{
    public static long WarmupSteps(long totalSteps, double warmupRatio) =>
        warmupRatio <= 0 ? 0 : Math.Min(totalSteps, (long)Math.Ceiling(warmupRatio * totalSteps - 1e-9));

    public static double At(long step, long totalSteps, double peak, double warmupRatio, double minLrRatio)
    {
        if (totalSteps <= 0) throw new ArgumentOutOfRangeException(nameof(totalSteps), "total steps must be positive");
        step = Math.Clamp(step, 0, totalSteps - 1);
        long warmup = WarmupSteps(totalSteps, warmupRatio);
        if (step < warmup) return peak * (step + 1) / warmup;
        long decaySteps = totalSteps - warmup - 1;
        double progress = decaySteps <= 0 ? 0 : (double)(step - warmup) / decaySteps;
        double floor = peak * minLrRatio;
        return floor + (peak - floor) * 0.5 * (1 + Math.Cos(Math.PI * progress));
    }
}
