using AnCoder.Evaluation.Scoring;
using AnCoder.Experiments.Statistics;

namespace AnCoder.Experiments.Repro;

/// <summary>pass@k over seeds for the report (mean, standard error and the rest: <see cref="SampleStatistics"/>).</summary>
public static class ReproStatistics
{
    /// <summary>
    /// pass@k across seeds: each seed's pass@k is the mean over its problems of the unbiased estimator
    /// (docs/algorithms.md §9) on that seed's (n, c); the seeds are then averaged, with the standard error over seeds.
    /// A seed whose problems do not all have n ≥ k is left out.
    /// </summary>
    public static MeanWithError PassAtKOverSeeds(IReadOnlyList<IReadOnlyList<(int N, int C)>> seeds, int k) =>
        SampleStatistics.Summarize(seeds.Select(problems => PassAtK.Mean(problems, k) ?? double.NaN));

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
}
