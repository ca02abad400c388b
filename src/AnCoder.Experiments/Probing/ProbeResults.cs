using System.Globalization;
using System.Text;
using AnCoder.Diffusion.Probing;
using AnCoder.Experiments.Statistics;

namespace AnCoder.Experiments.Probing;

/// <summary>One line of probe.csv: the mean and standard error of probability and accuracy for (t, order, k).</summary>
public sealed record ProbeRow(double T, RevealOrder Order, int Hints, int N, double MeanProbability, double ProbabilityError,
    double Accuracy, double AccuracyError);

/// <summary>
/// A paired comparison at (t, k): the mean over noise draws of p(target | order A, k hints) − p(target | order B, k
/// hints), both measured on the same draw, with its standard error (much smaller than the per-order bands when the
/// draws vary a lot, since the draw's difficulty cancels).
/// </summary>
public sealed record ProbeDifference(double T, int Hints, RevealOrder Better, RevealOrder Worse, int N, double MeanDifference, double StandardError);

/// <summary>The probe's aggregation of <see cref="ProbeObservation"/>s and the owner of probe.csv and probe-paired.csv.</summary>
public static class ProbeResults
{
    public const string PairedCsvHeader = "t,k,order_a,order_b,n,mean_p_a_minus_p_b,se";

    /// <summary>in-out − out-in and out-in − random, per (t, k = 1..K), paired by (sample, t).</summary>
    public static List<ProbeDifference> PairedDifferences(IReadOnlyList<ProbeObservation> observations, IReadOnlyList<double> timeGrid, int k)
    {
        var byKey = observations.Where(o => o.Order is not null)
            .ToDictionary(o => (o.Sample, o.TimeIndex, o.Order!.Value, o.Hints), o => o.Probability);
        var differences = new List<ProbeDifference>();
        foreach (var (better, worse) in new[] { (RevealOrder.InOut, RevealOrder.OutIn), (RevealOrder.OutIn, RevealOrder.Random) })
            for (int ti = 0; ti < timeGrid.Count; ti++)
                for (int hints = 1; hints <= k; hints++)
                {
                    var values = new List<double>();
                    foreach (var ((sample, time, order, h), probability) in byKey)
                        if (time == ti && h == hints && order == better && byKey.TryGetValue((sample, ti, worse, hints), out double other))
                            values.Add(probability - other);
                    differences.Add(new ProbeDifference(timeGrid[ti], hints, better, worse, values.Count,
                        SampleStatistics.Mean(values), SampleStatistics.StandardError(values)));
                }
        return differences;
    }

    public static string ToPairedCsv(IEnumerable<ProbeDifference> differences)
    {
        var text = new StringBuilder(PairedCsvHeader).Append('\n');
        foreach (var d in differences)
            text.Append(string.Join(',', Format(d.T), d.Hints.ToString(CultureInfo.InvariantCulture), ProbeSelection.Name(d.Better),
                ProbeSelection.Name(d.Worse), d.N.ToString(CultureInfo.InvariantCulture), Format(d.MeanDifference), Format(d.StandardError))).Append('\n');
        return text.ToString();
    }

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
                        SampleStatistics.Mean(probabilities), SampleStatistics.StandardError(probabilities),
                        SampleStatistics.Mean(correct), SampleStatistics.StandardError(correct)));
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
