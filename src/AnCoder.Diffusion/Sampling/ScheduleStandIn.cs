namespace AnCoder.Diffusion.Sampling;

/// <summary>
/// Private stand-in for <c>Schedules.NoiseSchedules</c> (owned by the losses helper) until it lands on main: α_t of
/// the four schedules of ALGORITHMS.md §2. The sampler only needs α_t.
/// </summary>
internal static class ScheduleStandIn
{
    public static Func<double, double> Alpha(string name, double epsilon = 1e-3) => name switch
    {
        "cosine2" => t => epsilon + (1 - epsilon) * Math.Pow(Math.Cos(Math.PI * t / 2), 2),
        "cosine" => t => epsilon + (1 - epsilon) * Math.Cos(Math.PI * t / 2),
        "md4cosine" => t => (1 - 2 * epsilon) * (1 - Math.Sin(Math.PI * t / 2)) + epsilon,
        "loglinear" => t => 1 - (1 - epsilon) * t,
        _ => throw new ArgumentException($"unknown noise schedule '{name}' (cosine2, cosine, md4cosine, loglinear)"),
    };
}
