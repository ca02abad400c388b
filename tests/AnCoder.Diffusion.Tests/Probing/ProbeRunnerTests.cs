using AnCoder.Diffusion.Configuration;
using AnCoder.Diffusion.Model;
using AnCoder.Diffusion.Probing;
using TorchSharp;
using static TorchSharp.torch;

namespace AnCoder.Diffusion.Tests.Probing;

[Collection(TorchCollection.Name)]
public sealed class ProbeRunnerTests
{
    // Plan → runner → probe.csv on two snippets: tests/AnCoder.Experiments.Tests/ProbeResultsTests.cs.

    [Fact]
    public void The_probability_is_the_softmax_without_the_mask_column_at_the_target()
    {
        torch.manual_seed(1);
        using var model = DiffusionModel.Create(ModelPresets.Tiny);
        model.eval();
        int mask = model.Config.MaskTokenId;
        // Two queries of different lengths (the shorter is padded and its padding not attended).
        var queries = new[]
        {
            new ProbeQuery(0, 0, null, 0, [40, mask, 41, mask, 42], 1, 77),
            new ProbeQuery(1, 0, null, 0, [50, 51, mask], 2, 88),
        };
        var (probabilities, predicted) = ProbeRunner.PredictTargets(model, queries, mask, model.Config.PadTokenId);
        for (int q = 0; q < queries.Length; q++)
        {
            // Reference: the query alone (no padding), plain softmax over the vocabulary with the mask id left out.
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var ids = tensor(queries[q].NoisyIds.Select(i => (long)i).ToArray(), [1, queries[q].NoisyIds.Length]);
            float[] row = model.Forward(ids).DenoiserLogits[0, queries[q].Target].data<float>().ToArray();
            double max = row.Where((_, v) => v != mask).Max();
            double total = row.Select((l, v) => v == mask ? 0 : Math.Exp(l - max)).Sum();
            Assert.Equal(Math.Exp(row[queries[q].TrueId] - max) / total, probabilities[q], 5);
            int argmax = Enumerable.Range(0, row.Length).Where(v => v != mask).MaxBy(v => row[v]);
            Assert.Equal(argmax, predicted[q]);
        }
    }
}
