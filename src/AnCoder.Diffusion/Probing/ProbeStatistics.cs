namespace AnCoder.Diffusion.Probing;

/// <summary>Mean and standard error of the mean (sample standard deviation with n − 1, over √n).</summary>
public static class ProbeStatistics
{
    public static double Mean(IReadOnlyList<double> values) =>
        values.Count == 0 ? double.NaN : values.Sum() / values.Count;

    /// <summary>s / √n with s² = Σ(x − x̄)² / (n − 1); NaN for fewer than two values (undefined).</summary>
    public static double StandardError(IReadOnlyList<double> values)
    {
        int n = values.Count;
        if (n < 2) return double.NaN;
        double mean = Mean(values);
        double squares = 0;
        foreach (double value in values) squares += (value - mean) * (value - mean);
        return Math.Sqrt(squares / (n - 1) / n);
    }
}
