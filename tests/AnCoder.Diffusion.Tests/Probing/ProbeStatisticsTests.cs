using AnCoder.Diffusion.Probing;

namespace AnCoder.Diffusion.Tests.Probing;

public sealed class ProbeStatisticsTests
{
    [Fact]
    public void Mean_and_standard_error_on_hand_computed_values()
    {
        // 1, 2, 3, 4: mean 2.5; squared deviations 2.25 + 0.25 + 0.25 + 2.25 = 5; s² = 5/3; SE = √(5/3 / 4) = √(5/12).
        double[] values = [1, 2, 3, 4];
        Assert.Equal(2.5, ProbeStatistics.Mean(values), 12);
        Assert.Equal(Math.Sqrt(5.0 / 12.0), ProbeStatistics.StandardError(values), 12);
        // Accuracy 0/1 values: 1, 0, 0, 1, 1 → mean 0.6, s² = (3·0.16 + 2·0.36)/4 = 0.3, SE = √(0.3/5).
        Assert.Equal(Math.Sqrt(0.3 / 5), ProbeStatistics.StandardError([1.0, 0, 0, 1, 1]), 12);
        Assert.True(double.IsNaN(ProbeStatistics.StandardError([0.7])));
        Assert.True(double.IsNaN(ProbeStatistics.Mean([])));
    }

    [Fact]
    public void Aggregate_counts_the_unhinted_query_for_every_order()
    {
        ProbeObservation[] observations =
        [
            new(0, 0, null, 0, 0.2, false), new(1, 0, null, 0, 0.4, true),
            new(0, 0, RevealOrder.InOut, 1, 0.5, true), new(1, 0, RevealOrder.InOut, 1, 0.7, true),
            new(0, 0, RevealOrder.OutIn, 1, 0.3, false), new(1, 0, RevealOrder.OutIn, 1, 0.1, false),
            new(0, 0, RevealOrder.Random, 1, 0.25, true), new(1, 0, RevealOrder.Random, 1, 0.25, false),
        ];
        var rows = ProbeResults.Aggregate(observations, [0.5], k: 1);
        Assert.Equal(6, rows.Count);
        foreach (var row in rows.Where(r => r.Hints == 0))
        {
            Assert.Equal(2, row.N);
            Assert.Equal(0.3, row.MeanProbability, 12);
            Assert.Equal(0.1, row.ProbabilityError, 12); // s² = 0.02, SE = √(0.02/2)
            Assert.Equal(0.5, row.Accuracy, 12);
        }
        var inOut = rows.Single(r => r.Order == RevealOrder.InOut && r.Hints == 1);
        Assert.Equal(0.6, inOut.MeanProbability, 12);
        Assert.Equal(1.0, inOut.Accuracy, 12);
        Assert.Equal(0.0, inOut.AccuracyError, 12);
        var random = rows.Single(r => r.Order == RevealOrder.Random && r.Hints == 1);
        Assert.Equal(0.0, random.ProbabilityError, 12);
        Assert.Equal(0.5, random.AccuracyError, 12); // values 1, 0: s² = 0.5, SE = √(0.5/2)
    }

    [Fact]
    public void Paired_differences_are_taken_within_each_draw()
    {
        // Draw 0: in-out 0.5, out-in 0.3, random 0.25; draw 1: 0.7, 0.1, 0.25.
        // in-out − out-in: 0.2, 0.6 → mean 0.4, s² = 0.08, SE = √(0.08/2) = 0.2.
        // out-in − random: 0.05, −0.15 → mean −0.05, s² = 0.02, SE = 0.1.
        ProbeObservation[] observations =
        [
            new(0, 0, RevealOrder.InOut, 1, 0.5, true), new(1, 0, RevealOrder.InOut, 1, 0.7, true),
            new(0, 0, RevealOrder.OutIn, 1, 0.3, false), new(1, 0, RevealOrder.OutIn, 1, 0.1, false),
            new(0, 0, RevealOrder.Random, 1, 0.25, true), new(1, 0, RevealOrder.Random, 1, 0.25, false),
        ];
        var differences = ProbeResults.PairedDifferences(observations, [0.5], k: 1);
        Assert.Equal(2, differences.Count);
        var first = differences.Single(d => d.Better == RevealOrder.InOut);
        Assert.Equal((RevealOrder.OutIn, 2), (first.Worse, first.N));
        Assert.Equal(0.4, first.MeanDifference, 12);
        Assert.Equal(0.2, first.StandardError, 12);
        var second = differences.Single(d => d.Better == RevealOrder.OutIn);
        Assert.Equal(RevealOrder.Random, second.Worse);
        Assert.Equal(-0.05, second.MeanDifference, 12);
        Assert.Equal(0.1, second.StandardError, 12);
        Assert.StartsWith(ProbeResults.PairedCsvHeader + "\n0.5,1,in-out,out-in,2,0.4,0.2\n", ProbeResults.ToPairedCsv(differences));
    }

    [Fact]
    public void Csv_has_the_header_and_one_line_per_row()
    {
        var csv = ProbeResults.ToCsv([new ProbeRow(0.3, RevealOrder.OutIn, 2, 10, 0.125, 0.5, 0.75, double.NaN)]);
        Assert.Equal("t,order,k,n,mean_probability,se_probability,accuracy,se_accuracy\n0.3,out-in,2,10,0.125,0.5,0.75,NaN\n", csv);
    }
}
