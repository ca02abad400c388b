using System.Globalization;
using System.Text;

namespace AnCoder.Reporting.Plotting;

/// <summary>One row of the run comparison: where a run got to and its validation NELBO (final and best).
/// NaN / null where the run has no such record.</summary>
public sealed record RunSummary(
    string Run, string Strategy, long LastStep, double Tokens, double WallSeconds, double FinalLoss,
    double FinalValidNelbo, long? FinalValidStep, double MinValidNelbo, long? MinValidStep);

/// <summary>The table of <c>ancoder plot --compare</c>: final and minimum validation NELBO per run, also written as
/// compare.md (reused by the experiments report). Columns: run folder, strategy, last step, training tokens, wall time,
/// final training loss, final validation NELBO, minimum validation NELBO and the step where it was reached.</summary>
public static class RunComparison
{
    public const string FileName = "compare.md";

    public static readonly string[] Headers =
        ["run", "strategy", "step", "tokens", "time", "train loss", "valid NELBO", "min valid", "min at"];

    public static RunSummary Summarize(RunData run)
    {
        var records = run.Records;
        var last = records[^1];
        var validation = records.Where(r => r.ValidNelbo is { } v && double.IsFinite(v)).ToList();
        var finalValid = validation.LastOrDefault();
        // Ties go to the earliest step: it reached that value first.
        var minValid = validation.Count == 0 ? null : validation.MinBy(r => r.ValidNelbo);
        double finalLoss = records.Select(r => r.Loss).LastOrDefault(double.IsFinite, double.NaN);
        return new RunSummary(run.Name, run.Strategy, last.Step, last.Tokens, last.WallSeconds, finalLoss,
            finalValid?.ValidNelbo ?? double.NaN, finalValid?.Step, minValid?.ValidNelbo ?? double.NaN, minValid?.Step);
    }

    /// <summary>The cells of a row, formatted as shown in the terminal and in markdown.</summary>
    public static string[] Cells(RunSummary s) =>
    [
        s.Run, s.Strategy, s.LastStep.ToString(CultureInfo.InvariantCulture), Tokens(s.Tokens), Duration(s.WallSeconds),
        Value(s.FinalLoss), Value(s.FinalValidNelbo), Value(s.MinValidNelbo),
        s.MinValidStep?.ToString(CultureInfo.InvariantCulture) ?? "–",
    ];

    public static string Markdown(IReadOnlyList<RunSummary> rows)
    {
        var md = new StringBuilder();
        md.Append("| ").Append(string.Join(" | ", Headers)).Append(" |\n");
        md.Append('|').Append(string.Concat(Headers.Select((_, i) => i < 2 ? "---|" : "---:|"))).Append('\n');
        foreach (var row in rows)
            md.Append("| ").Append(string.Join(" | ", Cells(row).Select(c => c.Replace("|", "\\|")))).Append(" |\n");
        return md.ToString();
    }

    private static string Value(double v) => double.IsFinite(v) ? v.ToString("F4", CultureInfo.InvariantCulture) : "–";

    private static string Tokens(double tokens) => !double.IsFinite(tokens) ? "–" : tokens switch
    {
        >= 1e9 => (tokens / 1e9).ToString("F2", CultureInfo.InvariantCulture) + " B",
        >= 1e6 => (tokens / 1e6).ToString("F1", CultureInfo.InvariantCulture) + " M",
        >= 1e3 => (tokens / 1e3).ToString("F1", CultureInfo.InvariantCulture) + " K",
        _ => tokens.ToString("F0", CultureInfo.InvariantCulture),
    };

    private static string Duration(double seconds)
    {
        if (!double.IsFinite(seconds)) return "–";
        var t = TimeSpan.FromSeconds(seconds);
        return t.TotalHours >= 1 ? $"{(int)t.TotalHours}h{t.Minutes:00}m" : t.TotalMinutes >= 1 ? $"{t.Minutes}m{t.Seconds:00}s" : $"{seconds:F0}s";
    }
}
