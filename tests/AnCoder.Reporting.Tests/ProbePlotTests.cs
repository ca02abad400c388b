using AnCoder.Reporting.Plotting;

namespace AnCoder.Reporting.Tests;

public sealed class ProbePlotTests
{
    [Fact]
    public void Band_is_mean_plus_minus_1_96_standard_errors()
    {
        var curve = new ProbeCurve("in-out", [0, 1], [0.5, 0.2], [0.1, double.NaN]);
        var (lower, upper) = ProbePlot.Band(curve);
        Assert.Equal(0.5 - 0.196, lower[0], 12);
        Assert.Equal(0.5 + 0.196, upper[0], 12);
        Assert.Equal([0.2], lower[1..]); // undefined SE (n < 2): no band
        Assert.Equal([0.2], upper[1..]);
    }

    [Fact]
    public void Panels_render_side_by_side_into_one_png()
    {
        var panel = new ProbePanel("t = 0.5", "p", [new ProbeCurve("in-out", [0, 1, 2], [0.1, 0.2, 0.3], [0.01, 0.01, 0.01])]);
        byte[] png = ProbePlot.RenderPng([panel, panel], 300, 200);
        using var bitmap = SkiaSharp.SKBitmap.Decode(png);
        Assert.Equal(600, bitmap.Width);
        Assert.Equal(200, bitmap.Height);
    }
}
