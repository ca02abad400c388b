using AnCoder.Anchoring.Labels;
using AnCoder.Anchoring.Shards;
using AnCoder.Diffusion.Losses;
using AnCoder.Diffusion.Schedules;
using TorchSharp;
using static TorchSharp.torch;

namespace AnCoder.Diffusion.Tests.Losses;

/// <summary>
/// <c>train --sft</c> end to end on one row, against hand computation: a shard pair (prompt 3 tokens, completion 2)
/// becomes the loader row [p p p c c eos eos eos] (SFT packing), whose prompt is never masked and carries no loss;
/// the NELBO averages over the completion and the end-of-text filling only. Vocabulary 8: eos 0, mask 1, pad 2.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class SftLossTests : IDisposable
{
    private const int MaskId = 1, EosId = 0, PadId = 2, Vocabulary = 8;
    private const double Epsilon = 1e-3;
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "ancoder-sft-loss-" + Guid.NewGuid().ToString("N"));

    public SftLossTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private Batch LoaderRow()
    {
        string path = Path.Combine(_dir, "sft" + ShardFormat.Extension);
        ShardFormat.Write(path, [new ShardSample([5, 6, 7, 3, 4], [1, 2, 2, 1, 3], Enumerable.Repeat(TokenFlags.Parsed | TokenFlags.Identifier, 5).ToArray(), 3)], Vocabulary);
        using var reader = new ShardReader(path);
        var loader = new DataLoader([reader], 8, 1, 0, AnchorWeightOptions.Defaults(AnchorStrategy.Identifier, 0.1), EosId, PadId, PackingMode.Sft);
        return loader.Row(0);
    }

    // cosine2's w(t) = −α'/(1−α), α = ε + (1−ε)cos²(πt/2), by hand.
    private static double W(double t)
    {
        double c = Math.Cos(Math.PI * t / 2), s = Math.Sin(Math.PI * t / 2);
        return (1 - Epsilon) * Math.PI * c * s / (1 - (Epsilon + (1 - Epsilon) * c * c));
    }

    [Fact]
    public void Loss_covers_the_completion_and_its_end_of_text_only()
    {
        var row = LoaderRow();
        Assert.Equal([5, 6, 7, 3, 4, 0, 0, 0], row.Ids);
        using var scope = NewDisposeScope();
        var batch = DiffusionBatch.FromLoaderBatch(row);
        // Logits: the clean token gets a_i, every other column 0; at the prompt the clean token gets −50 (a model
        // that is badly wrong there must not matter: the prompt carries no loss).
        float[] a = [-50, -50, -50, 1.0f, 2.0f, 0.5f, 3.0f, -1.0f];
        var logits = new float[8 * Vocabulary];
        for (int i = 0; i < 8; i++) logits[i * Vocabulary + row.Ids[i]] = a[i];
        // z_t: everything after the prompt masked (as a draw at t → 1 gives).
        var noisy = tensor(new long[] { 5, 6, 7, MaskId, MaskId, MaskId, MaskId, MaskId }, [1, 8]);
        const double t = 0.5;
        var options = new LossOptions { Schedule = NoiseSchedules.Create("cosine2", Epsilon) };
        var parts = DiffusionLoss.FromLogits(tensor(logits, [1, 8, Vocabulary]), null, batch, noisy, tensor(new[] { (float)t }), options, MaskId);

        // −log softmax over the 7 non-mask columns: −(a − log(e^a + 6)).
        double Nll(double value) => -(value - Math.Log(Math.Exp(value) + 6));
        double expected = W(t) * (Nll(1.0) + Nll(2.0) + Nll(0.5) + Nll(3.0) + Nll(-1.0)) / 5;
        Assert.Equal(5, parts.ValidTokens);
        Assert.Equal(5, parts.MaskedTokens);
        Assert.True(Math.Abs(parts.Loss.item<float>() - expected) <= 2e-6 * Math.Abs(expected), $"expected {expected:R}, got {parts.Loss.item<float>():R}");
    }

    [Fact]
    public void The_forward_process_never_masks_the_prompt_of_an_sft_row()
    {
        using var scope = NewDisposeScope();
        var batch = DiffusionBatch.FromLoaderBatch(LoaderRow());
        using var generator = new Generator(5);
        for (int draw = 0; draw < 50; draw++)
        {
            var (noisy, _) = ForwardProcess.Mask(batch.Ids, full([1], 0.999f), NoiseSchedules.Create("cosine2"), batch.Conditioning, MaskId, generator);
            Assert.Equal([5L, 6L, 7L], noisy.data<long>().ToArray()[..3]);
        }
    }
}
