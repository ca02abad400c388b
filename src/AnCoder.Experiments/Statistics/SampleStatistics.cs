using System.Globalization;

namespace AnCoder.Experiments.Statistics;

/// <summary>A mean with its standard error (NaN when fewer than two values) over <see cref="Count"/> values.</summary>
public sealed record MeanWithError(double Mean, double StandardError, int Count)
{
    public static readonly MeanWithError None = new(double.NaN, double.NaN, 0);

    /// <summary>"12.34 ± 0.56" (values scaled by <paramref name="scale"/>, e.g. 100 for percentages); "–" when empty.</summary>
    public string Format(double scale = 1, int decimals = 2)
    {
        if (Count == 0 || !double.IsFinite(Mean)) return "–";
        string format = "F" + decimals.ToString(CultureInfo.InvariantCulture);
        string mean = (Mean * scale).ToString(format, CultureInfo.InvariantCulture);
        return double.IsFinite(StandardError) ? $"{mean} ± {(StandardError * scale).ToString(format, CultureInfo.InvariantCulture)}" : mean;
    }
}

/// <summary>
/// The statistics of the probe and the repro report: small pure functions, tested on hand-computed numbers. One
/// convention: a statistic that is undefined (the mean of nothing, the spread of one value, the slope over one x)
/// is NaN, as in the CSV files and plots that carry them.
/// </summary>
public static class SampleStatistics
{
    /// <summary>Arithmetic mean; NaN for no values.</summary>
    public static double Mean(IReadOnlyList<double> values) => values.Count == 0 ? double.NaN : values.Sum() / values.Count;

    /// <summary>Sample standard deviation s with s² = Σ(x − x̄)² / (n − 1); NaN for fewer than two values.</summary>
    public static double SampleStandardDeviation(IReadOnlyList<double> values)
    {
        if (values.Count < 2) return double.NaN;
        double mean = Mean(values);
        return Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1));
    }

    /// <summary>Standard error of the mean, s / √n; NaN for fewer than two values.</summary>
    public static double StandardError(IReadOnlyList<double> values) => SampleStandardDeviation(values) / Math.Sqrt(values.Count);

    /// <summary>Mean ± standard error of the finite values (non-finite ones, e.g. a missing NELBO, are left out).</summary>
    public static MeanWithError Summarize(IEnumerable<double> values)
    {
        var finite = values.Where(double.IsFinite).ToList();
        return new MeanWithError(Mean(finite), StandardError(finite), finite.Count);
    }

    /// <summary>Standard error of a difference of two independent means: √(se_a² + se_b²); NaN when either is.</summary>
    public static double DifferenceError(MeanWithError a, MeanWithError b) =>
        Math.Sqrt(a.StandardError * a.StandardError + b.StandardError * b.StandardError);

    /// <summary>
    /// Training tokens at which a log-linear fit y = a + b·log2(tokens) (least squares over the points) reaches
    /// <paramref name="target"/>: an extrapolation of "validity against training tokens". NaN with fewer than two
    /// distinct token counts or a fit that does not rise (b ≤ 0).
    /// </summary>
    public static double TokensToReach(IReadOnlyList<(double Tokens, double Value)> points, double target)
    {
        var usable = points.Where(p => p.Tokens > 0 && double.IsFinite(p.Tokens) && double.IsFinite(p.Value)).ToList();
        var x = usable.Select(p => Math.Log2(p.Tokens)).ToList();
        var y = usable.Select(p => p.Value).ToList();
        double slope = Slope(x, y);
        return slope > 0 ? Math.Pow(2, Mean(x) + (target - Mean(y)) / slope) : double.NaN;
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
