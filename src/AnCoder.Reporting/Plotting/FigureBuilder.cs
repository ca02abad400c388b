using AnCoder.Anchoring.Runs;
namespace AnCoder.Reporting.Plotting;

/// <summary>Turns runs into figure models: one figure per metric, every run overlaid in it with its own colour.</summary>
public static class FigureBuilder
{
    private sealed record MetricSpec(string Key, string Name, Func<MetricsRecord, double> Value, LineStyle Style);

    private static readonly MetricSpec Loss = new("loss", "training loss", r => r.Loss, LineStyle.Solid);
    private static readonly MetricSpec Denoiser = new("denoiser_nll", "denoiser NLL", r => r.DenoiserNll, LineStyle.Dashed);
    private static readonly MetricSpec Anchor = new("anchor_nll", "anchor NLL", r => r.AnchorNll, LineStyle.Dotted);
    private static readonly MetricSpec Valid = new("valid_nelbo", "validation NELBO", r => r.ValidNelbo ?? double.NaN, LineStyle.Solid);
    private static readonly MetricSpec LearningRate = new("lr", "learning rate", r => r.Lr, LineStyle.Solid);
    private static readonly MetricSpec GradNorm = new("grad_norm", "gradient norm", r => r.GradNorm, LineStyle.Solid);

    /// <summary>The figures for these runs: "loss" (training loss, dashed denoiser part, dotted anchor part),
    /// "valid_nelbo", "lr" and "grad_norm". A figure no run has data for is left out (e.g. no validation yet).</summary>
    public static IReadOnlyList<FigureModel> Build(IReadOnlyList<RunData> runs, PlotOptions options)
    {
        var axis = XAxisScale.For(runs, options.X);
        bool several = runs.Count > 1;
        var figures = new List<FigureModel>();
        void Add(string name, string title, string yLabel, IReadOnlyList<MetricSpec> metrics, bool smooth, bool markers, bool logY)
        {
            var series = new List<SeriesModel>();
            for (int run = 0; run < runs.Count; run++)
                foreach (var metric in metrics)
                    series.AddRange(SeriesFor(runs[run], run, metric, axis, several, metrics.Count > 1, smooth ? options.Smooth : 1, markers, logY));
            if (series.Count > 0)
                figures.Add(new FigureModel(name, title, axis.Label, yLabel + (logY ? " (log scale)" : ""), logY, series));
        }
        string smoothing = options.Smooth > 1 ? $", moving average of {options.Smooth}" : "";
        string single = several ? "" : $" — {runs[0].Label}";
        Add("loss", $"Training loss{single}{smoothing}", "loss", [Loss, Denoiser, Anchor], smooth: true, markers: false, options.LogY);
        Add("valid_nelbo", $"Validation NELBO{single}", "NELBO", [Valid], smooth: false, markers: true, options.LogY);
        Add("lr", $"Learning rate{single}", "learning rate", [LearningRate], smooth: false, markers: false, options.LogY);
        Add("grad_norm", $"Gradient norm{single}{smoothing}", "gradient norm", [GradNorm], smooth: true, markers: false, options.LogY);
        return figures;
    }

    private static bool SameValue(double a, double b) => Math.Abs(a - b) <= 1e-9 * Math.Max(1, Math.Abs(b));

    private static IEnumerable<SeriesModel> SeriesFor(RunData run, int runIndex, MetricSpec metric, XAxisScale axis, bool severalRuns,
        bool severalMetrics, int window, bool markers, bool logY)
    {
        var xs = new List<double>();
        var ys = new List<double>();
        foreach (var record in run.Records)
        {
            double xValue = axis.Value(record), yValue = metric.Value(record);
            if (!double.IsFinite(xValue) || !double.IsFinite(yValue) || (logY && yValue <= 0)) continue;
            xs.Add(xValue);
            ys.Add(yValue);
        }
        // An MDLM run logs anchor_nll = 0 (there is no anchor network) and so denoiser_nll = loss: those curves would
        // only add clutter (a flat zero, a copy of the loss).
        if (xs.Count == 0 || (metric.Key == Anchor.Key && ys.All(y => y == 0))) yield break;
        if (metric.Key == Denoiser.Key && run.Records.All(r => !double.IsFinite(r.DenoiserNll) || SameValue(r.DenoiserNll, r.Loss))) yield break;
        string label = (severalRuns, severalMetrics) switch
        {
            (true, true) => $"{run.Label}: {metric.Name}",
            (true, false) => run.Label,
            (false, true) => metric.Name,
            _ => run.Label,
        };
        double[] x = xs.ToArray(), y = ys.ToArray();
        if (window > 1 && y.Length > 1)
        {
            double[] smoothed = Smoothing.MovingAverage(y, window);
            yield return new SeriesModel(runIndex, metric.Key, null, x, y, metric.Style, Faint: true, markers);
            yield return new SeriesModel(runIndex, metric.Key, label, x, smoothed, metric.Style, Faint: false, markers);
        }
        else
        {
            yield return new SeriesModel(runIndex, metric.Key, label, x, y, metric.Style, Faint: false, markers);
        }
    }
}

/// <summary>The x axis: which field, in which unit (steps; tokens in K/M/B; seconds, minutes or hours), chosen from
/// the largest value over all runs so that overlaid runs share one scale.</summary>
public sealed record XAxisScale(XAxis Axis, double Divisor, string Label)
{
    public double Value(MetricsRecord record) => Raw(Axis, record) / Divisor;

    private static double Raw(XAxis axis, MetricsRecord record) => axis switch
    {
        XAxis.Step => record.Step,
        XAxis.Tokens => record.Tokens,
        _ => record.WallSeconds,
    };

    public static XAxisScale For(IReadOnlyList<RunData> runs, XAxis axis)
    {
        double max = runs.SelectMany(r => r.Records).Select(r => Raw(axis, r)).Where(double.IsFinite).DefaultIfEmpty(0).Max();
        return axis switch
        {
            XAxis.Step => new XAxisScale(axis, 1, "step"),
            XAxis.Tokens when max >= 1e9 => new XAxisScale(axis, 1e9, "training tokens (billions)"),
            XAxis.Tokens when max >= 1e6 => new XAxisScale(axis, 1e6, "training tokens (millions)"),
            XAxis.Tokens when max >= 1e4 => new XAxisScale(axis, 1e3, "training tokens (thousands)"),
            XAxis.Tokens => new XAxisScale(axis, 1, "training tokens"),
            XAxis.Time when max >= 3 * 3600 => new XAxisScale(axis, 3600, "wall-clock time (hours)"),
            XAxis.Time when max >= 180 => new XAxisScale(axis, 60, "wall-clock time (minutes)"),
            _ => new XAxisScale(axis, 1, "wall-clock time (seconds)"),
        };
    }
}
