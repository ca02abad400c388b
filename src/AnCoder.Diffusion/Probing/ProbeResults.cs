using System.Globalization;
using System.Text;

namespace AnCoder.Diffusion.Probing;

/// <summary>The model's answer to one query: p(true token at i0) and whether the argmax is the true token.</summary>
public sealed record ProbeObservation(int TimeIndex, RevealOrder? Order, int Hints, double Probability, bool Correct);

/// <summary>One line of probe.csv: the mean and standard error of probability and accuracy for (t, order, k).</summary>
public sealed record ProbeRow(double T, RevealOrder Order, int Hints, int N, double MeanProbability, double ProbabilityError,
    double Accuracy, double AccuracyError);

public static class ProbeResults
{
    public const string CsvHeader = "t,order,k,n,mean_probability,se_probability,accuracy,se_accuracy";

    /// <summary>Rows for every (t, order, k = 0..K); a k = 0 observation (order null) counts for every order.</summary>
    public static List<ProbeRow> Aggregate(IReadOnlyList<ProbeObservation> observations, IReadOnlyList<double> timeGrid, int k)
    {
        var rows = new List<ProbeRow>();
        for (int ti = 0; ti < timeGrid.Count; ti++)
            foreach (var order in ProbeSelection.Orders)
                for (int hints = 0; hints <= k; hints++)
                {
                    var matching = observations.Where(o => o.TimeIndex == ti && o.Hints == hints && (o.Order is null || o.Order == order)).ToList();
                    var probabilities = matching.Select(o => o.Probability).ToList();
                    var correct = matching.Select(o => o.Correct ? 1.0 : 0.0).ToList();
                    rows.Add(new ProbeRow(timeGrid[ti], order, hints, matching.Count,
                        ProbeStatistics.Mean(probabilities), ProbeStatistics.StandardError(probabilities),
                        ProbeStatistics.Mean(correct), ProbeStatistics.StandardError(correct)));
                }
        return rows;
    }

    public static string ToCsv(IEnumerable<ProbeRow> rows)
    {
        var text = new StringBuilder(CsvHeader).Append('\n');
        foreach (var row in rows)
        {
            text.Append(string.Join(',', Format(row.T), ProbeSelection.Name(row.Order), row.Hints.ToString(CultureInfo.InvariantCulture),
                row.N.ToString(CultureInfo.InvariantCulture), Format(row.MeanProbability), Format(row.ProbabilityError),
                Format(row.Accuracy), Format(row.AccuracyError))).Append('\n');
        }
        return text.ToString();
    }

    private static string Format(double value) => value.ToString("G6", CultureInfo.InvariantCulture);
}
