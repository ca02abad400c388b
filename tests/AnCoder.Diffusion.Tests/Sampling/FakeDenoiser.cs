using AnCoder.Diffusion.Sampling;
using TorchSharp;
using static TorchSharp.torch;

namespace AnCoder.Diffusion.Tests.Sampling;

/// <summary>
/// A denoiser with known output: at position i the clean-token distribution is softmax(Logits[i] + shift·n) over the
/// vocabulary (mask column excluded), where n = the number of attended positions of the row (all, or the key mask's
/// true entries) — so a batch that let padding into attention would give different probabilities than the canvas
/// alone. Visible positions get SUBS's one-hot. Counts its calls and rows.
/// </summary>
internal sealed class FakeDenoiser(double[,] logits, int maskId = 1, double shiftPerAttended = 0.0) : IDenoiser
{
    public int VocabSize => logits.GetLength(1);
    public int MaskId => maskId;
    public int Calls { get; private set; }
    public long Rows { get; private set; }

    /// <summary>The same distribution at every position.</summary>
    public static FakeDenoiser Uniformly(double[] rowLogits, int positions, int maskId = 1)
    {
        var table = new double[positions, rowLogits.Length];
        for (int i = 0; i < positions; i++) for (int v = 0; v < rowLogits.Length; v++) table[i, v] = rowLogits[v];
        return new FakeDenoiser(table, maskId);
    }

    /// <summary>The clean-token probabilities at position i for a row with <paramref name="attended"/> attended keys, temperature τ.</summary>
    public double[] Probabilities(int position, int attended = 0, double temperature = 1)
    {
        int v = VocabSize;
        var p = new double[v];
        double max = double.NegativeInfinity;
        for (int k = 0; k < v; k++) if (k != maskId) max = Math.Max(max, (logits[position, k] + shiftPerAttended * attended * k) / temperature);
        double total = 0;
        for (int k = 0; k < v; k++) total += p[k] = k == maskId ? 0 : Math.Exp((logits[position, k] + shiftPerAttended * attended * k) / temperature - max);
        for (int k = 0; k < v; k++) p[k] /= total;
        return p;
    }

    /// <summary>The logitsFrom of every call (the sampler skips the positions frozen in every canvas).</summary>
    public List<long> Windows { get; } = [];

    public DenoiserOutput Predict(Tensor noisyIds, Tensor? keyMask, long logitsFrom = 0)
    {
        Windows.Add(logitsFrom);
        var full = Full(noisyIds, keyMask);
        if (logitsFrom == 0) return full;
        using var all = full.LogProbabilities;
        return new DenoiserOutput(all[.., (int)logitsFrom..].clone(), null);
    }

    private DenoiserOutput Full(Tensor noisyIds, Tensor? keyMask)
    {
        Calls++;
        long batch = noisyIds.shape[0], length = noisyIds.shape[1];
        Rows += batch;
        var ids = noisyIds.data<long>().ToArray();
        var mask = keyMask?.data<bool>().ToArray();
        int v = VocabSize;
        var output = new float[batch * length * v];
        for (int b = 0; b < batch; b++)
        {
            int attended = mask is null ? (int)length : Enumerable.Range(0, (int)length).Count(i => mask[b * length + i]);
            for (int i = 0; i < length; i++)
            {
                long id = ids[b * length + i];
                long offset = (b * length + i) * v;
                if (id != maskId)
                {
                    for (int k = 0; k < v; k++) output[offset + k] = k == id ? 0f : -1e6f;
                    continue;
                }
                var p = Probabilities(Math.Min(i, logits.GetLength(0) - 1), attended);
                for (int k = 0; k < v; k++) output[offset + k] = k == maskId ? -1e6f : (float)Math.Log(p[k]);
            }
        }
        return new DenoiserOutput(tensor(output, [batch, length, v]), null);
    }
}

/// <summary>Keeps every step record.</summary>
internal sealed class RecordingObserver : ISamplingObserver
{
    public List<StepRecord> Steps { get; } = [];
    public List<Canvas> Start { get; } = [];
    public void OnStart(IReadOnlyList<Canvas> canvases) => Start.AddRange(canvases);
    public void OnStep(StepRecord step) => Steps.Add(step);
}
