using ScottPlot;
using SkiaSharp;

namespace AnCoder.Reporting.Plotting;

/// <summary>One reveal order's curve in a probe panel: mean and standard error against the number of revealed hints.</summary>
public sealed record ProbeCurve(string Order, double[] Hints, double[] Mean, double[] StandardError);

/// <summary>One panel of the probe figure (one noise level t).</summary>
public sealed record ProbePanel(string Title, string YLabel, IReadOnlyList<ProbeCurve> Curves);

/// <summary>
/// The probe figure (the paper's Figure 5): one panel per t, side by side, a line per reveal order with a ±1.96·SE
/// band, x = hints revealed. Panels are rendered with <see cref="FigureRenderer"/>'s style and joined into one PNG.
/// </summary>
public static class ProbePlot
{
    public const double Z95 = 1.96;

    public static Plot ToPlot(ProbePanel panel)
    {
        var lines = panel.Curves.Select((curve, i) => new SeriesModel(i, curve.Order, curve.Order, curve.Hints, curve.Mean, LineStyle.Solid, false, true)).ToList();
        var plot = FigureRenderer.ToPlot(new FigureModel(panel.Title, panel.Title, "hints revealed (k)", panel.YLabel, false, lines));
        var palette = new ScottPlot.Palettes.Category10();
        foreach (var (curve, i) in panel.Curves.Select((c, i) => (c, i)))
        {
            var (lower, upper) = Band(curve);
            var fill = plot.Add.FillY(curve.Hints, lower, upper);
            fill.FillColor = palette.GetColor(i).WithAlpha(0.2);
            fill.LineColor = Colors.Transparent;
        }
        // Hints are whole numbers: one labelled tick per k.
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        foreach (double k in panel.Curves.SelectMany(c => c.Hints).Distinct().Order())
            ticks.AddMajor(k, k.ToString(System.Globalization.CultureInfo.InvariantCulture));
        plot.Axes.Bottom.TickGenerator = ticks;
        return plot;
    }

    /// <summary>mean ∓ 1.96·SE (an undefined SE, n &lt; 2, gives a band of zero width).</summary>
    public static (double[] Lower, double[] Upper) Band(ProbeCurve curve)
    {
        var lower = new double[curve.Mean.Length];
        var upper = new double[curve.Mean.Length];
        for (int i = 0; i < lower.Length; i++)
        {
            double half = double.IsFinite(curve.StandardError[i]) ? Z95 * curve.StandardError[i] : 0;
            lower[i] = curve.Mean[i] - half;
            upper[i] = curve.Mean[i] + half;
        }
        return (lower, upper);
    }

    /// <summary>Renders the panels side by side into one PNG (each panel <paramref name="panelWidth"/> × <paramref name="height"/>).</summary>
    public static byte[] RenderPng(IReadOnlyList<ProbePanel> panels, int panelWidth, int height)
    {
        var info = new SKImageInfo(panelWidth * Math.Max(1, panels.Count), height);
        using var surface = SKSurface.Create(info);
        surface.Canvas.Clear(SKColors.White);
        for (int p = 0; p < panels.Count; p++)
        {
            using var bitmap = SKBitmap.Decode(ToPlot(panels[p]).GetImageBytes(panelWidth, height, ImageFormat.Png));
            surface.Canvas.DrawBitmap(bitmap, p * panelWidth, 0);
        }
        using var image = surface.Snapshot();
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }
}
