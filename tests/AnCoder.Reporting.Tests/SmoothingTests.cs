using AnCoder.Reporting.Plotting;

namespace AnCoder.Reporting.Tests;

public sealed class SmoothingTests
{
    [Fact]
    public void TrailingMovingAverageOfHandValues()
    {
        double[] values = [4, 8, 6, 2, 10];
        // Window 2: 4, (4+8)/2, (8+6)/2, (6+2)/2, (2+10)/2.
        Assert.Equal([4, 6, 7, 4, 6], Smoothing.MovingAverage(values, 2));
        // Window 3: 4, (4+8)/2, (4+8+6)/3, (8+6+2)/3, (6+2+10)/3.
        Assert.Equal([4, 6, 6, 16.0 / 3, 6], Smoothing.MovingAverage(values, 3), new ToleranceComparer(1e-12));
    }

    [Fact]
    public void WindowOneIsTheIdentityAndAWideWindowIsTheRunningMean()
    {
        double[] values = [1, 3, 5, 7];
        Assert.Equal(values, Smoothing.MovingAverage(values, 1));
        Assert.Equal([1, 2, 3, 4], Smoothing.MovingAverage(values, 100));
        Assert.Empty(Smoothing.MovingAverage([], 5));
    }

    [Fact]
    public void WindowBelowOneIsRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Smoothing.MovingAverage([1.0], 0));
    }

    private sealed class ToleranceComparer(double tolerance) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= tolerance;
        public int GetHashCode(double obj) => 0;
    }
}

public sealed class LogTickTests
{
    [Fact]
    public void LabelsOneTwoFivePerDecadeOverAShortRange()
    {
        var ticks = FigureRenderer.LogTicks(0.12, 8);
        Assert.Equal(["0.1", "0.2", "0.5", "1", "2", "5", "10", "20", "50"], ticks.Where(t => t.Label != null).Select(t => t.Label));
        Assert.Equal(27, ticks.Count); // 1..9 × 10^-1, 10^0, 10^1
    }

    [Fact]
    public void LabelsOnlyPowersOfTenOverManyDecadesInExponentForm()
    {
        var ticks = FigureRenderer.LogTicks(2e-6, 3e-2);
        Assert.Equal(["1e-6", "1e-5", "1e-4", "0.001", "0.01", "0.1"], ticks.Where(t => t.Label != null).Select(t => t.Label));
    }
}
