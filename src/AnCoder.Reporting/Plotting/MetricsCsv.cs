using System.Globalization;
using System.Text;

namespace AnCoder.Reporting.Plotting;

/// <summary>metrics.csv: the cleaned records of every run (one row per run and step, repeats resolved, unfinished
/// lines dropped), for spreadsheets and pandas. Absent values are empty cells.</summary>
public static class MetricsCsv
{
    public const string FileName = "metrics.csv";

    public static readonly string[] Columns =
        ["run", "strategy", "step", "tokens", "wall_seconds", "lr", "loss", "denoiser_nll", "anchor_nll", "grad_norm", "tokens_per_second", "valid_nelbo"];

    public static string Format(IReadOnlyList<RunData> runs)
    {
        var csv = new StringBuilder();
        csv.Append(string.Join(',', Columns)).Append('\n');
        foreach (var run in runs)
            foreach (var r in run.Records)
            {
                csv.Append(Escape(run.Name)).Append(',').Append(Escape(run.Strategy)).Append(',').Append(r.Step.ToString(CultureInfo.InvariantCulture));
                foreach (double value in new[] { r.Tokens, r.WallSeconds, r.Lr, r.Loss, r.DenoiserNll, r.AnchorNll, r.GradNorm, r.TokensPerSecond, r.ValidNelbo ?? double.NaN })
                    csv.Append(',').Append(double.IsNaN(value) ? "" : value.ToString("R", CultureInfo.InvariantCulture));
                csv.Append('\n');
            }
        return csv.ToString();
    }

    private static string Escape(string field) =>
        field.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + field.Replace("\"", "\"\"") + "\"" : field;
}
