using AnCoder.Experiments.Repro;

namespace AnCoder.Experiments.Tests;

/// <summary>The report's statistics on made-up numbers, every expected value worked out by hand in the comments.</summary>
public sealed class ReproStatisticsTests
{
    [Fact]
    public void Mean_and_standard_error_use_n_minus_one()
    {
        // mean 5; squared deviations 9+1+1+1+0+0+4+16 = 32; s = √(32/7); se = s/√8 = √(4/7) = 0.7559289.
        double[] values = [2, 4, 4, 4, 5, 5, 7, 9];
        Assert.Equal(5.0, ReproStatistics.Mean(values), 12);
        Assert.Equal(Math.Sqrt(32.0 / 7), ReproStatistics.SampleStandardDeviation(values)!.Value, 12);
        Assert.Equal(0.7559289460184544, ReproStatistics.StandardError(values)!.Value, 12);
    }

    [Fact]
    public void Two_seeds_give_half_their_distance_as_standard_error()
    {
        // 0.5 and 0.7: s = √((0.1² + 0.1²)/1) = √0.02; se = √0.02/√2 = 0.1.
        var summary = ReproStatistics.Summarize([0.5, 0.7]);
        Assert.Equal(0.6, summary.Mean, 12);
        Assert.Equal(0.1, summary.StandardError!.Value, 12);
        Assert.Equal(2, summary.Count);
    }

    [Fact]
    public void One_value_has_no_error_bar_and_missing_values_are_left_out()
    {
        var one = ReproStatistics.Summarize([0.25, double.NaN]);
        Assert.Equal(0.25, one.Mean, 12);
        Assert.Null(one.StandardError);
        Assert.Equal(1, one.Count);
        var none = ReproStatistics.Summarize([]);
        Assert.Equal(0, none.Count);
        Assert.Equal("–", none.Format(100));
    }

    [Fact]
    public void Format_scales_to_percent()
    {
        Assert.Equal("12.34 ± 0.56", new MeanWithError(0.1234, 0.0056, 3).Format(100));
        Assert.Equal("9.5835", new MeanWithError(9.58349, null, 1).Format(1, 4));
    }

    [Fact]
    public void Pass_at_k_is_averaged_per_seed_then_over_seeds()
    {
        // Seed A: problems (n 2, c 1) and (2, 0): pass@1 = (1/2 + 0)/2 = 0.25.
        // Seed B: (2, 2) and (2, 1): pass@1 = (1 + 1/2)/2 = 0.75. Mean 0.5; se = √((0.25² + 0.25²)/1)/√2 = 0.25.
        IReadOnlyList<(int N, int C)> a = [(2, 1), (2, 0)], b = [(2, 2), (2, 1)];
        var pass1 = ReproStatistics.PassAtKOverSeeds([a, b], 1);
        Assert.Equal(0.5, pass1.Mean, 12);
        Assert.Equal(0.25, pass1.StandardError!.Value, 12);
        // pass@2 with n = 2: a problem passes when any sample passed. A: (1 + 0)/2 = 0.5; B: (1 + 1)/2 = 1.
        var pass2 = ReproStatistics.PassAtKOverSeeds([a, b], 2);
        Assert.Equal(0.75, pass2.Mean, 12);
        Assert.Equal(0.25, pass2.StandardError!.Value, 12);
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

    [Fact]
    public void Difference_error_adds_in_quadrature()
    {
        // √(0.3² + 0.4²) = 0.5.
        Assert.Equal(0.5, ReproStatistics.DifferenceError(new MeanWithError(1, 0.3, 2), new MeanWithError(0, 0.4, 2))!.Value, 12);
        Assert.Null(ReproStatistics.DifferenceError(new MeanWithError(1, null, 1), new MeanWithError(0, 0.4, 2)));
    }

    [Fact]
    public void Slope_is_least_squares()
    {
        Assert.Equal(2.0, ReproStatistics.Slope([1, 2, 3], [2, 4, 6]), 12);
        // x̄ = ȳ = 1.5; Σ(x−x̄)(y−ȳ) = 0.75 + 0.25 + 0.25 + 0.75 = 2; Σ(x−x̄)² = 5; slope 0.4.
        Assert.Equal(0.4, ReproStatistics.Slope([0, 1, 2, 3], [1, 1, 2, 2]), 12);
        Assert.True(double.IsNaN(ReproStatistics.Slope([1, 1], [0, 5])));
    }
}
