using AnCoder.Anchoring.Tokenization;
using AnCoder.Diffusion.Configuration;
using AnCoder.Diffusion.Model;
using AnCoder.Diffusion.Probing;
using AnCoder.Diffusion.Schedules;
using AnCoder.Experiments.Probing;
using TorchSharp;

namespace AnCoder.Experiments.Tests;

/// <summary>probe.csv and probe-paired.csv: the aggregation of the probe's observations, on hand-computed values.</summary>
public sealed class ProbeResultsTests
{
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

/// <summary>The whole chain on an untrained model: every (t, order, k) row of probe.csv.</summary>
[Collection(TorchCollection.Name)]
public sealed class ProbeResultsOnAModelTests
{
    private static readonly string[] Snippets = ["if a:\n    b = c + d\n", "def f(x):\n    g(x)\n"];

    [Fact]
    public void An_untrained_tiny_model_over_two_snippets_gives_every_csv_row()
    {
        torch.manual_seed(0);
        using var model = DiffusionModel.Create(ModelPresets.Tiny);
        model.eval();
        var options = new ProbeOptions { K = 2, TimeGrid = [0.9, 1.0], Samples = 10, BatchSize = 5 };
        var samples = ProbeSamples.FromTexts(Snippets, DefaultTokenizer.Load());
        var (queries, summary) = ProbePlan.Build(samples, options, NoiseSchedules.From(model.Config.Diffusion), model.Config.MaskTokenId);
        Assert.Equal(2, summary.SamplesUsed);
        Assert.Equal([0, 0], summary.SkippedDraws);

        var observations = ProbeRunner.Run(model, queries, options.BatchSize);
        Assert.Equal(queries.Count, observations.Count);
        Assert.All(observations, o => Assert.InRange(o.Probability, 0.0, 1.0));

        var rows = ProbeResults.Aggregate(observations, options.TimeGrid, options.K);
        string[] lines = ProbeResults.ToCsv(rows).TrimEnd('\n').Split('\n');
        Assert.Equal(1 + 2 * 3 * 3, lines.Length); // header + t × order × k = 0..2
        Assert.Equal(ProbeResults.CsvHeader, lines[0]);
        Assert.Equal("0.9,in-out,0,2", string.Join(',', lines[1].Split(',')[..4]));
        Assert.Equal("1,random,2,2", string.Join(',', lines[^1].Split(',')[..4]));
        Assert.All(rows, r => Assert.Equal(2, r.N));
        // k = 0 is one query shared by the three orders.
        foreach (var group in rows.Where(r => r.Hints == 0).GroupBy(r => r.T))
            Assert.Single(group.Select(r => r.MeanProbability).Distinct());
    }
}
