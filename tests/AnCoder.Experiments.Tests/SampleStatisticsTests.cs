using AnCoder.Experiments.Statistics;

namespace AnCoder.Experiments.Tests;

/// <summary>
/// The one owner of mean and standard error (probe and repro report) on made-up numbers, every expected value worked
/// out by hand in the comments; undefined values are NaN.
/// </summary>
public sealed class SampleStatisticsTests
{
    [Fact]
    public void Mean_and_standard_error_use_n_minus_one()
    {
        // mean 5; squared deviations 9+1+1+1+0+0+4+16 = 32; s = √(32/7); se = s/√8 = √(4/7) = 0.7559289.
        double[] values = [2, 4, 4, 4, 5, 5, 7, 9];
        Assert.Equal(5.0, SampleStatistics.Mean(values), 12);
        Assert.Equal(Math.Sqrt(32.0 / 7), SampleStatistics.SampleStandardDeviation(values), 12);
        Assert.Equal(0.7559289460184544, SampleStatistics.StandardError(values), 12);
    }

    [Fact]
    public void Two_seeds_give_half_their_distance_as_standard_error()
    {
        // 0.5 and 0.7: s = √((0.1² + 0.1²)/1) = √0.02; se = √0.02/√2 = 0.1.
        var summary = SampleStatistics.Summarize([0.5, 0.7]);
        Assert.Equal(0.6, summary.Mean, 12);
        Assert.Equal(0.1, summary.StandardError, 12);
        Assert.Equal(2, summary.Count);
    }

    [Fact]
    public void One_value_has_no_error_bar_and_missing_values_are_left_out()
    {
        var one = SampleStatistics.Summarize([0.25, double.NaN]);
        Assert.Equal(0.25, one.Mean, 12);
        Assert.True(double.IsNaN(one.StandardError));
        Assert.Equal(1, one.Count);
        var none = SampleStatistics.Summarize([]);
        Assert.Equal(0, none.Count);
        Assert.Equal("–", none.Format(100));
    }

    [Fact]
    public void Format_scales_to_percent()
    {
        Assert.Equal("12.34 ± 0.56", new MeanWithError(0.1234, 0.0056, 3).Format(100));
        Assert.Equal("9.5835", new MeanWithError(9.58349, double.NaN, 1).Format(1, 4));
    }

    [Fact]
    public void Difference_error_adds_in_quadrature()
    {
        // √(0.3² + 0.4²) = 0.5.
        Assert.Equal(0.5, SampleStatistics.DifferenceError(new MeanWithError(1, 0.3, 2), new MeanWithError(0, 0.4, 2)), 12);
        Assert.True(double.IsNaN(SampleStatistics.DifferenceError(new MeanWithError(1, double.NaN, 1), new MeanWithError(0, 0.4, 2))));
    }

    [Fact]
    public void Slope_is_least_squares()
    {
        Assert.Equal(2.0, SampleStatistics.Slope([1, 2, 3], [2, 4, 6]), 12);
        // x̄ = ȳ = 1.5; Σ(x−x̄)(y−ȳ) = 0.75 + 0.25 + 0.25 + 0.75 = 2; Σ(x−x̄)² = 5; slope 0.4.
        Assert.Equal(0.4, SampleStatistics.Slope([0, 1, 2, 3], [1, 1, 2, 2]), 12);
        Assert.True(double.IsNaN(SampleStatistics.Slope([1, 1], [0, 5])));
    }
    [Fact]
    public void Standard_error_of_probe_values_on_hand_computed_numbers()
    {
        // 1, 2, 3, 4: mean 2.5; squared deviations 2.25 + 0.25 + 0.25 + 2.25 = 5; s² = 5/3; SE = √(5/3 / 4) = √(5/12).
        double[] values = [1, 2, 3, 4];
        Assert.Equal(2.5, SampleStatistics.Mean(values), 12);
        Assert.Equal(Math.Sqrt(5.0 / 12.0), SampleStatistics.StandardError(values), 12);
        // Accuracy 0/1 values: 1, 0, 0, 1, 1 → mean 0.6, s² = (3·0.16 + 2·0.36)/4 = 0.3, SE = √(0.3/5).
        Assert.Equal(Math.Sqrt(0.3 / 5), SampleStatistics.StandardError([1.0, 0, 0, 1, 1]), 12);
        Assert.True(double.IsNaN(SampleStatistics.StandardError([0.7])));
        Assert.True(double.IsNaN(SampleStatistics.SampleStandardDeviation([0.7])));
        Assert.True(double.IsNaN(SampleStatistics.Mean([])));
        Assert.True(double.IsNaN(SampleStatistics.StandardError([])));
    }
}
