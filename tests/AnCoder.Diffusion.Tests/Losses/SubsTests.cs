using AnCoder.Diffusion.Losses;
using TorchSharp;
using static TorchSharp.torch;

namespace AnCoder.Diffusion.Tests.Losses;

[Collection(TorchCollection.Name)]
public sealed class SubsTests
{
    private const int B = 2, L = 6, V = 7, MaskId = 1;

    private static (float[] Logits, long[] Noisy) Case()
    {
        var random = new Random(5);
        var logits = Enumerable.Range(0, B * L * V).Select(_ => (float)(random.NextDouble() * 8 - 4)).ToArray();
        // The mask column is the largest raw logit everywhere: SUBS must still never predict it.
        for (int row = 0; row < B * L; row++) logits[row * V + MaskId] = 20f;
        long[] noisy = [MaskId, 3, MaskId, 0, 6, MaskId, 2, MaskId, MaskId, 5, 4, MaskId];
        return (logits, noisy);
    }

    [Fact]
    public void Masked_rows_are_the_log_softmax_over_the_non_mask_columns()
    {
        using var scope = NewDisposeScope();
        var (logits, noisy) = Case();
        var result = Subs.LogProbabilities(tensor(logits, [B, L, V]), tensor(noisy, [B, L]), MaskId);
        Assert.Equal(ScalarType.Float32, result.dtype);
        Assert.Equal(new long[] { B, L, V }, result.shape);
        var values = result.data<float>().ToArray();
        Assert.All(values, v => Assert.True(float.IsFinite(v)));
        for (int row = 0; row < B * L; row++)
        {
            if (noisy[row] != MaskId) continue;
            double normaliser = Enumerable.Range(0, V).Where(v => v != MaskId).Sum(v => Math.Exp(logits[row * V + v]));
            double probabilityMass = 0;
            for (int v = 0; v < V; v++)
            {
                float value = values[row * V + v];
                if (v == MaskId)
                {
                    Assert.True(value <= -9.9e5f, $"mask column {value}");
                    continue;
                }
                Assert.Equal(logits[row * V + v] - Math.Log(normaliser), value, 5);
                probabilityMass += Math.Exp(value);
            }
            Assert.Equal(1.0, probabilityMass, 5);
            Assert.NotEqual(MaskId, Enumerable.Range(0, V).MaxBy(v => values[row * V + v]));
        }
    }

    [Fact]
    public void Visible_rows_are_one_hot_at_the_carried_token()
    {
        using var scope = NewDisposeScope();
        var (logits, noisy) = Case();
        var values = Subs.LogProbabilities(tensor(logits, [B, L, V]), tensor(noisy, [B, L]), MaskId).data<float>().ToArray();
        for (int row = 0; row < B * L; row++)
        {
            if (noisy[row] == MaskId) continue;
            for (int v = 0; v < V; v++)
                Assert.Equal(v == noisy[row] ? 0f : -1e6f, values[row * V + v]);
        }
    }

    [Fact]
    public void Gradient_reaches_the_logits_of_masked_rows_only()
    {
        using var scope = NewDisposeScope();
        var (logits, noisy) = Case();
        var input = tensor(logits, [B, L, V]).requires_grad_();
        var ids = tensor(noisy, [B, L]);
        var target = full([B, L, 1], 3L, dtype: ScalarType.Int64);
        Subs.LogProbabilities(input, ids, MaskId).gather(-1, target).sum().backward();
        var grad = input.grad!.data<float>().ToArray();
        for (int row = 0; row < B * L; row++)
        {
            var rowGrad = grad.Skip(row * V).Take(V).ToArray();
            if (noisy[row] == MaskId) Assert.Contains(rowGrad, g => Math.Abs(g) > 1e-3);
            else Assert.All(rowGrad, g => Assert.Equal(0f, g));
            Assert.True(float.IsFinite(rowGrad.Sum()));
        }
    }
}
