namespace AnCoder.Reporting.Plotting;

public static class Smoothing
{
    /// <summary>Trailing moving average: point i is the mean of values[max(0, i−window+1)..i] (fewer points at the
    /// start, so the curve starts where the data starts and never looks ahead). Window 1 returns a copy.</summary>
    public static double[] MovingAverage(IReadOnlyList<double> values, int window)
    {
        if (window < 1) throw new ArgumentOutOfRangeException(nameof(window), window, "the smoothing window must be at least 1");
        var result = new double[values.Count];
        double sum = 0;
        for (int i = 0; i < values.Count; i++)
        {
            sum += values[i];
            if (i >= window) sum -= values[i - window];
            result[i] = sum / Math.Min(i + 1, window);
        }
        return result;
    }
}
