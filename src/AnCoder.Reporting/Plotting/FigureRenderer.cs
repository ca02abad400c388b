using ScottPlot;

namespace AnCoder.Reporting.Plotting;

/// <summary>Draws a <see cref="FigureModel"/> with ScottPlot (SkiaSharp, headless: no display needed).</summary>
public static class FigureRenderer
{
    public static Plot ToPlot(FigureModel figure)
    {
        var plot = new Plot();
        plot.Font.Set(SansFont.Value);
        var palette = new ScottPlot.Palettes.Category10();
        foreach (var series in figure.Series)
        {
            double[] ys = figure.LogY ? Array.ConvertAll(series.Y, Math.Log10) : series.Y;
            var color = palette.GetColor(series.Run);
            var scatter = plot.Add.ScatterLine(series.X, ys, series.Faint ? color.WithAlpha(0.25) : color);
            scatter.LineWidth = series.Faint ? 1 : 2;
            scatter.LinePattern = series.Style switch
            {
                LineStyle.Dashed => LinePattern.Dashed,
                LineStyle.Dotted => LinePattern.Dotted,
                _ => LinePattern.Solid,
            };
            if (series.Markers || series.X.Length == 1) // a lone point has no line to show it
            {
                scatter.MarkerShape = MarkerShape.FilledCircle;
                scatter.MarkerSize = 6;
            }
            if (series.Label != null) scatter.LegendText = series.Label;
        }
        if (figure.LogY)
        {
            // ScottPlot has no log axis: the data are log10'd above and the ticks placed and labelled here.
            var finite = figure.Series.SelectMany(s => s.Y).Where(y => y > 0 && double.IsFinite(y)).ToList();
            if (finite.Count > 0)
            {
                var ticks = new ScottPlot.TickGenerators.NumericManual();
                foreach (var tick in LogTicks(finite.Min(), finite.Max()))
                {
                    if (tick.Label != null) ticks.AddMajor(Math.Log10(tick.Value), tick.Label);
                    else ticks.AddMinor(Math.Log10(tick.Value));
                }
                plot.Axes.Left.TickGenerator = ticks;
            }
        }
        plot.Title(figure.Title);
        plot.XLabel(figure.XLabel);
        plot.YLabel(figure.YLabel);
        // Outside the data area: a legend inside would hide the curves of short runs and the LR warm-up peak.
        if (figure.LabelledSeries.Any()) plot.ShowLegend(Edge.Bottom);
        return plot;
    }

    /// <summary>Ticks of a log axis covering [min, max] (both > 0): labelled at 1, 2, 5 × 10^k (only 1 × 10^k when the
    /// range spans more than 3 decades), unlabelled minor ticks at the other integers × 10^k.</summary>
    public static IReadOnlyList<(double Value, string? Label)> LogTicks(double min, double max)
    {
        int low = (int)Math.Floor(Math.Log10(min)), high = (int)Math.Ceiling(Math.Log10(max));
        int[] labelled = high - low > 3 ? [1] : [1, 2, 5];
        var ticks = new List<(double, string?)>();
        for (int decade = low; decade <= high; decade++)
            for (int m = 1; m <= 9; m++)
            {
                // Ticks outside the visible (data) range are not drawn, so whole decades can be listed.
                double value = m * Math.Pow(10, decade);
                ticks.Add((value, labelled.Contains(m) ? TickLabel(m, decade) : null));
            }
        return ticks;
    }

    /// <summary>m × 10^decade as "0.02", "500", or "2e-5" / "1e6" outside 1e-3..1e5.</summary>
    private static string TickLabel(int m, int decade) =>
        decade is >= -3 and <= 4
            ? (m * Math.Pow(10, decade)).ToString("0.###", System.Globalization.CultureInfo.InvariantCulture)
            : $"{m}e{decade}";

    private static readonly Lazy<string> SansFont = new(() =>
    {
        // ScottPlot's font detection settles on DejaVu Serif with SkiaSharp's dependency-free Linux build: ask by name.
        var available = SkiaSharp.SKFontManager.Default.FontFamilies.ToHashSet();
        return new[] { "DejaVu Sans", "Liberation Sans", "Noto Sans", "Arial", "Helvetica" }.FirstOrDefault(available.Contains) ?? Fonts.Default;
    });

    /// <summary>The figure as PNG bytes of the given size.</summary>
    public static byte[] RenderPng(FigureModel figure, int width, int height) =>
        ToPlot(figure).GetImageBytes(width, height, ImageFormat.Png);
}
