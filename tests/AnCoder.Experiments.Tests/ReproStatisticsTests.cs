using AnCoder.Experiments.Repro;
using AnCoder.Experiments.Statistics;

namespace AnCoder.Experiments.Tests;

/// <summary>pass@k over seeds on made-up numbers, every expected value worked out by hand in the comments.</summary>
public sealed class ReproStatisticsTests
{
    [Fact]
    public void Pass_at_k_is_averaged_per_seed_then_over_seeds()
    {
        // Seed A: problems (n 2, c 1) and (2, 0): pass@1 = (1/2 + 0)/2 = 0.25.
        // Seed B: (2, 2) and (2, 1): pass@1 = (1 + 1/2)/2 = 0.75. Mean 0.5; se = √((0.25² + 0.25²)/1)/√2 = 0.25.
        IReadOnlyList<(int N, int C)> a = [(2, 1), (2, 0)], b = [(2, 2), (2, 1)];
        var pass1 = ReproStatistics.PassAtKOverSeeds([a, b], 1);
        Assert.Equal(0.5, pass1.Mean, 12);
        Assert.Equal(0.25, pass1.StandardError, 12);
        // pass@2 with n = 2: a problem passes when any sample passed. A: (1 + 0)/2 = 0.5; B: (1 + 1)/2 = 1.
        var pass2 = ReproStatistics.PassAtKOverSeeds([a, b], 2);
        Assert.Equal(0.75, pass2.Mean, 12);
        Assert.Equal(0.25, pass2.StandardError, 12);
    }

    [Fact]
    public void A_seed_with_too_few_samples_for_k_is_left_out()
    {
        // k = 2 needs n ≥ 2: seed B (n = 1) is dropped, seed A: (2, 1) → 1 − C(1,2)/C(2,2) = 1.
        IReadOnlyList<(int N, int C)> a = [(2, 1)], b = [(1, 1)];
        var pass2 = ReproStatistics.PassAtKOverSeeds([a, b], 2);
        Assert.Equal(1, pass2.Count);
        Assert.Equal(1.0, pass2.Mean, 12);
    }

    [Fact]
    public void Pooled_pass_at_k_merges_the_seeds_samples_per_problem()
    {
        // t1: (2,1) + (2,2) = (4,3): pass@1 3/4, pass@2 = 1 − C(1,2)/C(4,2) = 1.
        // t2: (2,0) + (2,1) = (4,1): pass@1 1/4, pass@2 = 1 − C(3,2)/C(4,2) = 1 − 3/6 = 0.5.
        IReadOnlyList<(string, int, int)> a = [("t1", 2, 1), ("t2", 2, 0)], b = [("t1", 2, 2), ("t2", 2, 1)];
        Assert.Equal(0.5, ReproStatistics.PooledPassAtK([a, b], 1)!.Value, 12);
        Assert.Equal(0.75, ReproStatistics.PooledPassAtK([a, b], 2)!.Value, 12);
    }

}
