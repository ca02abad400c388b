using ScottPlot;

namespace AnCoder.Cli.Plotting;

/// <summary>Draws a <see cref="FigureModel"/> with ScottPlot (SkiaSharp, headless: no display needed).</summary>
public static class FigureRenderer
{
    public static Plot ToPlot(FigureModel figure)
    {
        var plot = new Plot();
        plot.Font.Set(Fonts.Sans);
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
            if (series.Markers)
            {
                scatter.MarkerShape = MarkerShape.FilledCircle;
                scatter.MarkerSize = 6;
            }
            if (series.Label != null) scatter.LegendText = series.Label;
        }
        if (figure.LogY)
        {
            // ScottPlot has no log axis: the data are log10'd above and the ticks relabelled (its documented recipe).
            plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
            {
                MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
                LabelFormatter = y => Math.Pow(10, y).ToString("G3", System.Globalization.CultureInfo.InvariantCulture),
            };
        }
        plot.Title(figure.Title);
        plot.XLabel(figure.XLabel);
        plot.YLabel(figure.YLabel);
        if (figure.LabelledSeries.Any()) plot.ShowLegend(Alignment.UpperRight);
        return plot;
    }

    /// <summary>The figure as PNG bytes of the given size.</summary>
    public static byte[] RenderPng(FigureModel figure, int width, int height) =>
        ToPlot(figure).GetImageBytes(width, height, ImageFormat.Png);
}
