using System.Globalization;
using AnCoder.Evaluation.Scoring;

namespace AnCoder.Experiments.Repro;

/// <summary>A mean over seeds with its standard error (null when fewer than two values).</summary>
public sealed record MeanWithError(double Mean, double? StandardError, int Count)
{
    /// <summary>"12.34 ± 0.56" (values scaled by <paramref name="scale"/>, e.g. 100 for percentages); "–" when empty.</summary>
    public string Format(double scale = 1, int decimals = 2)
    {
        if (Count == 0 || !double.IsFinite(Mean)) return "–";
        string format = "F" + decimals.ToString(CultureInfo.InvariantCulture);
        string mean = (Mean * scale).ToString(format, CultureInfo.InvariantCulture);
        return StandardError is { } se ? $"{mean} ± {(se * scale).ToString(format, CultureInfo.InvariantCulture)}" : mean;
    }
}

/// <summary>The statistics of the report: small pure functions, tested on hand-computed numbers.</summary>
public static class ReproStatistics
{
    /// <summary>Arithmetic mean; NaN for no values.</summary>
    public static double Mean(IReadOnlyList<double> values) => values.Count == 0 ? double.NaN : values.Sum() / values.Count;

    /// <summary>Sample standard deviation with n − 1 in the denominator; null for fewer than two values.</summary>
    public static double? SampleStandardDeviation(IReadOnlyList<double> values)
    {
        if (values.Count < 2) return null;
        double mean = Mean(values);
        return Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1));
    }

    /// <summary>Standard error of the mean, s/√n with s the n − 1 standard deviation; null for fewer than two values.</summary>
    public static double? StandardError(IReadOnlyList<double> values) =>
        SampleStandardDeviation(values) is { } s ? s / Math.Sqrt(values.Count) : null;

    /// <summary>Mean ± standard error of the finite values (non-finite ones, e.g. a missing NELBO, are left out).</summary>
    public static MeanWithError Summarize(IEnumerable<double> values)
    {
        var finite = values.Where(double.IsFinite).ToList();
        return new MeanWithError(Mean(finite), StandardError(finite), finite.Count);
    }

    /// <summary>
    /// pass@k across seeds: each seed's pass@k is the mean over its problems of the unbiased estimator
    /// (docs/algorithms.md §9) on that seed's (n, c); the seeds are then averaged, with the standard error over seeds.
    /// A seed whose problems do not all have n ≥ k is left out.
    /// </summary>
    public static MeanWithError PassAtKOverSeeds(IReadOnlyList<IReadOnlyList<(int N, int C)>> seeds, int k) =>
        Summarize(seeds.Select(problems => PassAtK.Mean(problems, k) ?? double.NaN));

    /// <summary>
    /// pass@k with every seed's samples of a problem pooled (n = Σ n_s, c = Σ c_s), then averaged over problems: the
    /// estimate a single run with all samples would give (no error bar: seeds are merged).
    /// </summary>
    public static double? PooledPassAtK(IReadOnlyList<IReadOnlyList<(string TaskId, int N, int C)>> seeds, int k)
    {
        var pooled = seeds.SelectMany(s => s).GroupBy(p => p.TaskId, StringComparer.Ordinal)
            .Select(g => (N: g.Sum(p => p.N), C: g.Sum(p => p.C)));
        return PassAtK.Mean(pooled, k);
    }

    /// <summary>Standard error of a difference of two independent means: √(se_a² + se_b²); null when either is unknown.</summary>
    public static double? DifferenceError(MeanWithError a, MeanWithError b) =>
        a.StandardError is { } sa && b.StandardError is { } sb ? Math.Sqrt(sa * sa + sb * sb) : null;

    /// <summary>
    /// Training tokens at which a log-linear fit y = a + b·log2(tokens) (least squares over the points) reaches
    /// <paramref name="target"/>: an extrapolation of "validity against training tokens". Null with fewer than two
    /// distinct token counts or a fit that does not rise (b ≤ 0).
    /// </summary>
    public static double? TokensToReach(IReadOnlyList<(double Tokens, double Value)> points, double target)
    {
        var usable = points.Where(p => p.Tokens > 0 && double.IsFinite(p.Tokens) && double.IsFinite(p.Value)).ToList();
        var x = usable.Select(p => Math.Log2(p.Tokens)).ToList();
        var y = usable.Select(p => p.Value).ToList();
        double slope = Slope(x, y);
        if (!(slope > 0)) return null;
        return Math.Pow(2, Mean(x) + (target - Mean(y)) / slope);
    }

    /// <summary>
    /// Ordinary least-squares slope of y on x (how fast a metric grows with, e.g., log2 T); NaN with fewer than two
    /// distinct x.
    /// </summary>
    public static double Slope(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        if (x.Count != y.Count) throw new ArgumentException("x and y differ in length");
        double mx = Mean(x), my = Mean(y);
        double sxx = x.Sum(v => (v - mx) * (v - mx));
        if (x.Count < 2 || sxx == 0) return double.NaN;
        return x.Zip(y).Sum(p => (p.First - mx) * (p.Second - my)) / sxx;
    }
}
