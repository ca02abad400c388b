namespace AnCoder.Evaluation.Scoring;

/// <summary>The unbiased pass@k estimator of Chen et al. 2021.</summary>
public static class PassAtK
{
    /// <summary>
    /// 1 − C(n−c, k)/C(n, k) for one problem with n samples of which c passed, computed as
    /// 1 − Π_{j=n−c+1..n}(1 − k/j) (docs/algorithms.md §9), which never forms the large binomials.
    /// </summary>
    public static double Estimate(int n, int c, int k)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(c);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(c, n);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(k, n);
        if (n - c < k)
            return 1.0;
        var product = 1.0;
        for (var j = n - c + 1; j <= n; j++)
            product *= 1.0 - (double)k / j;
        return 1.0 - product;
    }

    /// <summary>The mean over problems; null when some problem has fewer than k samples.</summary>
    public static double? Mean(IEnumerable<(int N, int C)> problems, int k)
    {
        var sum = 0.0;
        var count = 0;
        foreach (var (n, c) in problems)
        {
            if (n < k)
                return null;
            sum += Estimate(n, c, k);
            count++;
        }
        return count == 0 ? null : sum / count;
    }
}
