using AnCoder.Diffusion.Losses;
using AnCoder.Diffusion.Model;
using static TorchSharp.torch;

namespace AnCoder.Diffusion.Probing;

/// <summary>The model's answer to one query: p(true token at i0) and whether the argmax is the true token.</summary>
public sealed record ProbeObservation(int Sample, int TimeIndex, RevealOrder? Order, int Hints, double Probability, bool Correct);

/// <summary>Runs the probe's queries through a model in batches (docs/algorithms.md §8, SUBS of §3).</summary>
public static class ProbeRunner
{
    /// <summary>
    /// One forward pass per batch of queries (padded to the longest with the pad id, padding not attended); the
    /// denoiser's logits at each query's target go through SUBS; records p(true token) and argmax = true token.
    /// <paramref name="progress"/> receives the number of queries done.
    /// </summary>
    public static List<ProbeObservation> Run(DiffusionModel model, IReadOnlyList<ProbeQuery> queries, int batchSize,
        Action<int>? progress = null, CancellationToken cancellation = default)
    {
        var observations = new List<ProbeObservation>(queries.Count);
        var config = model.Config;
        using var noGrad = no_grad();
        for (int start = 0; start < queries.Count; start += batchSize)
        {
            cancellation.ThrowIfCancellationRequested();
            int rows = Math.Min(batchSize, queries.Count - start);
            var batch = Enumerable.Range(start, rows).Select(i => queries[i]).ToList();
            var (probabilities, predicted) = PredictTargets(model, batch, config.MaskTokenId, config.PadTokenId);
            for (int r = 0; r < rows; r++)
            {
                var query = batch[r];
                observations.Add(new ProbeObservation(query.Sample, query.TimeIndex, query.Order, query.Hints, probabilities[r], predicted[r] == query.TrueId));
            }
            progress?.Invoke(start + rows);
        }
        return observations;
    }

    /// <summary>p(true token at the target) under SUBS and the argmax token at the target, per query.</summary>
    internal static (double[] Probabilities, long[] Predicted) PredictTargets(DiffusionModel model, IReadOnlyList<ProbeQuery> batch, int maskId, int padId)
    {
        using var scope = NewDisposeScope();
        int rows = batch.Count, length = batch.Max(q => q.NoisyIds.Length);
        var ids = new long[rows * length];
        var valid = new bool[rows * length];
        bool padded = false;
        for (int r = 0; r < rows; r++)
        {
            int[] noisy = batch[r].NoisyIds;
            for (int i = 0; i < length; i++)
            {
                bool inside = i < noisy.Length;
                ids[r * length + i] = inside ? noisy[i] : padId;
                valid[r * length + i] = inside;
                padded |= !inside;
            }
        }
        var noisyIds = tensor(ids, [rows, length]);
        var keyMask = padded ? tensor(valid, [rows, length]) : null;
        var logits = model.Forward(noisyIds, keyMask).DenoiserLogits; // [B, L, V]
        long vocabulary = logits.shape[2];
        var targetIndex = tensor(batch.Select(q => (long)q.Target).ToArray(), [rows, 1, 1]).expand(rows, 1, vocabulary);
        var targetLogits = logits.gather(1, targetIndex); // [B, 1, V]
        var noisyAtTarget = noisyIds.gather(1, tensor(batch.Select(q => (long)q.Target).ToArray(), [rows, 1]));
        var logProbabilities = Subs.LogProbabilities(targetLogits, noisyAtTarget, maskId).squeeze(1); // [B, V]
        var trueIds = tensor(batch.Select(q => (long)q.TrueId).ToArray(), [rows, 1]);
        var probabilities = logProbabilities.gather(1, trueIds).squeeze(1).to(ScalarType.Float64).exp();
        var predicted = logProbabilities.argmax(1);
        return (probabilities.data<double>().ToArray(), predicted.data<long>().ToArray());
    }
}
