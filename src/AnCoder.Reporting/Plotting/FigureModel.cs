namespace AnCoder.Reporting.Plotting;

public enum LineStyle { Solid, Dashed, Dotted }

/// <summary>One curve of a figure, in plot coordinates (x already scaled to the axis unit).</summary>
/// <param name="Run">Index of the run in the order given (selects the colour).</param>
/// <param name="Metric">The metrics.jsonl key drawn, e.g. "loss".</param>
/// <param name="Label">Legend text; null for curves left out of the legend (the faint raw curve behind a smoothed one).</param>
/// <param name="Faint">Drawn thin and translucent (raw data behind its smoothed curve).</param>
/// <param name="Markers">Points marked (sparse series such as validation).</param>
public sealed record SeriesModel(int Run, string Metric, string? Label, double[] X, double[] Y, LineStyle Style, bool Faint, bool Markers);

/// <summary>Everything a figure shows, built before any rendering so it can be checked without looking at pixels.</summary>
/// <param name="Name">File stem: the PNG is written as Name + ".png".</param>
public sealed record FigureModel(string Name, string Title, string XLabel, string YLabel, bool LogY, IReadOnlyList<SeriesModel> Series)
{
    /// <summary>The curves that have a legend entry.</summary>
    public IEnumerable<SeriesModel> LabelledSeries => Series.Where(s => s.Label != null);
}
