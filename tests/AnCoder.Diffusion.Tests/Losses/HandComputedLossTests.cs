using AnCoder.Diffusion.Configuration;
using AnCoder.Diffusion.Losses;
using AnCoder.Diffusion.Schedules;
using static TorchSharp.torch;

namespace AnCoder.Diffusion.Tests.Losses;

/// <summary>
/// NELBO/ANELBO on a 5-token vocabulary (mask id 4), B = 2, L = 3, with fixed logits, t and z_t; every expected
/// value is spelled out with Math.Exp/Math.Log here, independently of the code under test.
/// Row 0: x = [0, 2, 3], z = [m, 2, m], all loss positions. Row 1: x = [1, 3, 2], z = [1, m, m], position 0 is a
/// prompt (conditioning), position 2 is padding (masked, but not valid). Loss positions: (0,0) (0,1) (0,2) (1,1),
/// N = 4; masked ones: (0,0) (0,2) (1,1).
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class HandComputedLossTests
{
    private const int MaskId = 4;
    private const double Epsilon = 1e-3;
    private static readonly double[] Times = [0.25, 0.6];

    private static readonly float[] DenoiserLogits =
    [
        1.0f, -0.5f, 0.3f, 2.0f, 5.0f,   0.2f, 0.1f, 1.5f, -1.0f, 3.0f,   -0.3f, 0.8f, 0.0f, 1.2f, 4.0f,
        9.0f, -9.0f, 0.0f, 0.0f, 0.0f,   0.5f, 0.5f, -0.5f, 2.5f, 7.0f,   3.0f, 3.0f, 3.0f, 3.0f, 3.0f,
    ];

    private static readonly float[] AnchorLogits =
    [
        2.0f, 0.0f, -1.0f, 0.5f, 1.0f,   0.0f, 0.3f, 1.1f, 0.2f, -0.4f,   1.0f, 1.0f, 0.0f, 0.7f, 0.0f,
        -4.0f, 4.0f, 0.0f, 0.0f, 0.0f,   -1.0f, 0.4f, 0.0f, 1.3f, 0.9f,   0.0f, 0.0f, 5.0f, 0.0f, 0.0f,
    ];

    private static readonly float[] Gamma = [0.03f, 0.05f, 0.1f, 0.5f, 0.2f, 0.7f];

    // cosine2 weight −α'/(1−α) with α = ε + (1−ε)cos²(πt/2), written out by hand.
    private static double W(double t)
    {
        double c = Math.Cos(Math.PI * t / 2), s = Math.Sin(Math.PI * t / 2);
        double alpha = Epsilon + (1 - Epsilon) * c * c;
        double alphaPrime = -(1 - Epsilon) * Math.PI * c * s;
        return -alphaPrime / (1 - alpha);
    }

    private static double W0 => W(0.25);
    private static double W1 => W(0.6);

    // Denoiser: −log softmax over the non-mask columns (SUBS sets the mask column to −1e6, e^−1e6 = 0).
    private static double D00 => -(1.0 - Math.Log(Math.Exp(1.0) + Math.Exp(-0.5) + Math.Exp(0.3) + Math.Exp(2.0)));
    private static double D02 => -(1.2 - Math.Log(Math.Exp(-0.3) + Math.Exp(0.8) + Math.Exp(0.0) + Math.Exp(1.2)));
    private static double D11 => -(2.5 - Math.Log(Math.Exp(0.5) + Math.Exp(0.5) + Math.Exp(-0.5) + Math.Exp(2.5)));
    private static double ExpectedDenoiser => (W0 * (D00 + D02) + W1 * D11) / 4;

    // Anchor: plain −log softmax over all five columns at the clean token.
    private static double A00 => -(2.0 - Math.Log(Math.Exp(2.0) + Math.Exp(0.0) + Math.Exp(-1.0) + Math.Exp(0.5) + Math.Exp(1.0)));
    private static double A01 => -(1.1 - Math.Log(Math.Exp(0.0) + Math.Exp(0.3) + Math.Exp(1.1) + Math.Exp(0.2) + Math.Exp(-0.4)));
    private static double A02 => -(0.7 - Math.Log(Math.Exp(1.0) + Math.Exp(1.0) + Math.Exp(0.0) + Math.Exp(0.7) + Math.Exp(0.0)));
    private static double A11 => -(1.3 - Math.Log(Math.Exp(-1.0) + Math.Exp(0.4) + Math.Exp(0.0) + Math.Exp(1.3) + Math.Exp(0.9)));
    private static double ExpectedAnchorAll => (W0 * (0.03 * A00 + 0.05 * A01 + 0.1 * A02) + W1 * 0.2 * A11) / 4;
    private static double ExpectedAnchorMasked => (W0 * (0.03 * A00 + 0.1 * A02) + W1 * 0.2 * A11) / 4;

    private static DiffusionBatch Batch() => new(
        tensor(new long[] { 0, 2, 3, 1, 3, 2 }, [2, 3]),
        tensor(Gamma, [2, 3]),
        tensor(new[] { false, false, false, true, false, false }, [2, 3]),
        tensor(new[] { true, true, true, true, true, false }, [2, 3]));

    private static Tensor Noisy() => tensor(new long[] { MaskId, 2, MaskId, 1, MaskId, MaskId }, [2, 3]);
    private static Tensor T() => tensor(Times.Select(x => (float)x).ToArray());
    private static Tensor Logits(float[] values) => tensor(values, [2, 3, 5]);

    private static LossOptions Options(bool maskedOnly = false, double scale = 1) => new()
    {
        Schedule = NoiseSchedules.Create("cosine2", Epsilon), AnchorLossOnMaskedOnly = maskedOnly, AnchorScale = scale,
    };

    private static void Close(double expected, double actual, double relative = 2e-6) =>
        Assert.True(Math.Abs(actual - expected) <= relative * Math.Abs(expected) + 1e-7, $"expected {expected:R}, got {actual:R}");

    [Fact]
    public void Nelbo_without_anchor_logits_matches_hand_computation()
    {
        using var scope = NewDisposeScope();
        var parts = DiffusionLoss.FromLogits(Logits(DenoiserLogits), null, Batch(), Noisy(), T(), Options(), MaskId);
        Close(ExpectedDenoiser, parts.Loss.item<float>());
        Close(ExpectedDenoiser, parts.DenoiserNll);
        Assert.Equal(0, parts.AnchorNll);
        Assert.Equal(4, parts.ValidTokens);
        Assert.Equal(3, parts.MaskedTokens);
    }

    [Fact]
    public void Anelbo_covers_all_valid_positions_by_default()
    {
        using var scope = NewDisposeScope();
        var parts = DiffusionLoss.FromLogits(Logits(DenoiserLogits), Logits(AnchorLogits), Batch(), Noisy(), T(), Options(), MaskId);
        Close(ExpectedDenoiser + ExpectedAnchorAll, parts.Loss.item<float>());
        Close(ExpectedDenoiser, parts.DenoiserNll);
        Close(ExpectedAnchorAll, parts.AnchorNll);
    }

    [Fact]
    public void Anelbo_with_anchor_loss_on_masked_skips_visible_positions()
    {
        using var scope = NewDisposeScope();
        var parts = DiffusionLoss.FromLogits(Logits(DenoiserLogits), Logits(AnchorLogits), Batch(), Noisy(), T(), Options(maskedOnly: true), MaskId);
        Close(ExpectedDenoiser + ExpectedAnchorMasked, parts.Loss.item<float>());
        Close(ExpectedAnchorMasked, parts.AnchorNll);
        Assert.NotEqual(ExpectedAnchorAll, ExpectedAnchorMasked, 6);
    }

    // Row 0 on the left-to-right process (docs/recipe.md §10): z = [0, m, m], the cut at 1, block 1, coefficient 3
    // (three cut candidates); row 1 keeps the random-mask term with w(t_1).
    private static double D01 => -(1.5 - Math.Log(Math.Exp(0.2) + Math.Exp(0.1) + Math.Exp(1.5) + Math.Exp(-1.0)));

    private static LeftToRightRows RowZeroLeftToRight() => new(
        tensor(new long[] { 0, MaskId, MaskId, 1, MaskId, MaskId }, [2, 3]),
        tensor(new[] { true, false }),
        tensor(new[] { false, true, false, false, false, false }, [2, 3]),
        tensor(new[] { 0f, 3f, 0f, 0f, 0f, 0f }, [2, 3]));

    [Fact]
    public void Left_to_right_rows_count_only_their_cut_with_its_coefficient_and_anchor_weight_one()
    {
        using var scope = NewDisposeScope();
        using var rows = RowZeroLeftToRight();
        var parts = DiffusionLoss.FromLogits(Logits(DenoiserLogits), Logits(AnchorLogits), Batch(), rows.Noisy, T(), Options(), MaskId, rows);
        double denoiser = (3 * D01 + W1 * D11) / 4;
        double anchor = (0.03 * A00 + 0.05 * A01 + 0.1 * A02 + W1 * 0.2 * A11) / 4;
        Close(denoiser, parts.DenoiserNll);
        Close(anchor, parts.AnchorNll);
        Close(denoiser + anchor, parts.Loss.item<float>());
        Assert.Equal(4, parts.ValidTokens);
        Assert.Equal(3, parts.MaskedTokens); // (0,1), (0,2), (1,1): the masked position (0,2) is not counted in row 0
    }

    [Fact]
    public void Warmup_scales_gamma_by_min_lambda_progress_over_lambda()
    {
        var settings = new DiffusionSettings { AnchorWarmup = true, AnchorLambda = 0.03 };
        // step 10 of 1000: γ_eff = min(0.03, 0.01) = 0.01, a third of λ.
        var options = LossOptions.From(settings, step: 10, maxSteps: 1000);
        Assert.Equal(1.0 / 3, options.AnchorScale, 12);
        Assert.Equal(1.0, LossOptions.From(settings, step: 30, maxSteps: 1000).AnchorScale, 12);
        Assert.Equal(1.0, LossOptions.From(settings, step: 500, maxSteps: 1000).AnchorScale, 12);
        Assert.Equal(0.0, LossOptions.From(settings, step: 0, maxSteps: 1000).AnchorScale, 12);
        Assert.Equal(1.0, LossOptions.From(settings with { AnchorWarmup = false }, step: 0, maxSteps: 1000).AnchorScale, 12);

        using var scope = NewDisposeScope();
        var parts = DiffusionLoss.FromLogits(Logits(DenoiserLogits), Logits(AnchorLogits), Batch(), Noisy(), T(),
            options with { Schedule = NoiseSchedules.Create("cosine2", Epsilon) }, MaskId);
        Close(ExpectedDenoiser + ExpectedAnchorAll / 3, parts.Loss.item<float>());
        var none = DiffusionLoss.FromLogits(Logits(DenoiserLogits), Logits(AnchorLogits), Batch(), Noisy(), T(), Options(scale: 0), MaskId);
        Close(ExpectedDenoiser, none.Loss.item<float>());
    }

    [Fact]
    public void Loglinear_weights_are_one_over_t()
    {
        using var scope = NewDisposeScope();
        var options = Options() with { Schedule = NoiseSchedules.Create("loglinear", Epsilon) };
        var parts = DiffusionLoss.FromLogits(Logits(DenoiserLogits), null, Batch(), Noisy(), T(), options, MaskId);
        Close(((D00 + D02) / 0.25 + D11 / 0.6) / 4, parts.Loss.item<float>());
    }

    [Fact]
    public void Prompt_and_padding_positions_carry_no_loss_whatever_their_logits()
    {
        using var scope = NewDisposeScope();
        var denoiser = (float[])DenoiserLogits.Clone();
        var anchor = (float[])AnchorLogits.Clone();
        foreach (int position in new[] { 3, 5 }) // (1,0) prompt and (1,2) padding
            for (int v = 0; v < 5; v++)
            {
                denoiser[position * 5 + v] = v == 0 ? 50f : -50f;
                anchor[position * 5 + v] = v == 0 ? 50f : -50f;
            }
        var parts = DiffusionLoss.FromLogits(Logits(denoiser), Logits(anchor), Batch(), Noisy(), T(), Options(), MaskId);
        Close(ExpectedDenoiser + ExpectedAnchorAll, parts.Loss.item<float>());
    }

    [Fact]
    public void Every_position_masked_and_anchored_matches_a_plain_loop()
    {
        // All six positions valid, masked and with γ ≠ 0 (the code path that normalises every row).
        long[] clean = [0, 2, 3, 1, 3, 2];
        double expected = 0;
        for (int k = 0; k < 6; k++)
        {
            double w = k < 3 ? W0 : W1;
            double denoiserNormaliser = 0, anchorNormaliser = 0;
            for (int v = 0; v < 5; v++)
            {
                if (v != MaskId) denoiserNormaliser += Math.Exp(DenoiserLogits[k * 5 + v]);
                anchorNormaliser += Math.Exp(AnchorLogits[k * 5 + v]);
            }
            double denoiserNll = Math.Log(denoiserNormaliser) - DenoiserLogits[k * 5 + clean[k]];
            double anchorNll = Math.Log(anchorNormaliser) - AnchorLogits[k * 5 + clean[k]];
            expected += w * (denoiserNll + Gamma[k] * anchorNll);
        }
        expected /= 6;

        using var scope = NewDisposeScope();
        var batch = new DiffusionBatch(tensor(clean, [2, 3]), tensor(Gamma, [2, 3]),
            zeros([2, 3], dtype: ScalarType.Bool), ones([2, 3], dtype: ScalarType.Bool));
        var allMasked = full([2, 3], (long)MaskId, dtype: ScalarType.Int64);
        var parts = DiffusionLoss.FromLogits(Logits(DenoiserLogits), Logits(AnchorLogits), batch, allMasked, T(), Options(), MaskId);
        Close(expected, parts.Loss.item<float>());
        Assert.Equal(6, parts.MaskedTokens);
    }

    [Fact]
    public void Visible_positions_have_exactly_zero_denoiser_loss()
    {
        using var scope = NewDisposeScope();
        var batch = Batch();
        var parts = DiffusionLoss.FromLogits(Logits(DenoiserLogits), null, batch, batch.Ids, T(), Options(), MaskId);
        Assert.Equal(0.0, parts.DenoiserNll);
        Assert.Equal(0f, parts.Loss.item<float>());
        Assert.Equal(0, parts.MaskedTokens);
        Assert.Equal(4, parts.ValidTokens);
    }

    [Fact]
    public void Denoiser_part_equals_the_loss_read_from_the_SUBS_log_probabilities()
    {
        using var scope = NewDisposeScope();
        var batch = Batch();
        var logProbabilities = Subs.LogProbabilities(Logits(DenoiserLogits), Noisy(), MaskId);
        var target = logProbabilities.gather(-1, batch.Ids.unsqueeze(-1)).squeeze(-1).data<float>().ToArray();
        bool[] lossPosition = [true, true, true, false, true, false];
        double[] w = [W0, W0, W0, W1, W1, W1];
        double viaSubs = Enumerable.Range(0, 6).Where(k => lossPosition[k]).Sum(k => -w[k] * target[k]) / 4;
        Close(viaSubs, DiffusionLoss.FromLogits(Logits(DenoiserLogits), null, batch, Noisy(), T(), Options(), MaskId).DenoiserNll);
    }

    [Fact]
    public void Gradients_are_softmax_minus_one_hot_at_masked_positions_and_zero_elsewhere()
    {
        using var scope = NewDisposeScope();
        var denoiser = Logits(DenoiserLogits).requires_grad_();
        var anchor = Logits(AnchorLogits).requires_grad_();
        var parts = DiffusionLoss.FromLogits(denoiser, anchor, Batch(), Noisy(), T(), Options(maskedOnly: true), MaskId);
        parts.Loss.backward();
        var grad = denoiser.grad!.data<float>().ToArray();
        var anchorGrad = anchor.grad!.data<float>().ToArray();

        // d/dℓ_v [w·(−log p_x)/N] = w/N·(p_v − [v = x]) over the non-mask columns; 0 on the mask column.
        void ExpectDenoiserGradient(int position, double w, int x)
        {
            var row = DenoiserLogits.Skip(position * 5).Take(4).Select(v => Math.Exp(v)).ToArray();
            double total = row.Sum();
            for (int v = 0; v < 4; v++)
                Assert.Equal(w / 4 * (row[v] / total - (v == x ? 1 : 0)), grad[position * 5 + v], 5);
            Assert.Equal(0f, grad[position * 5 + MaskId]);
        }
        ExpectDenoiserGradient(0, W0, 0);
        ExpectDenoiserGradient(2, W0, 3);
        ExpectDenoiserGradient(4, W1, 3);
        foreach (int position in new[] { 1, 3, 5 }) // visible, prompt, padding
            for (int v = 0; v < 5; v++)
            {
                Assert.Equal(0f, grad[position * 5 + v]);
                Assert.Equal(0f, anchorGrad[position * 5 + v]);
            }

        // Anchor at (0,0): w·γ/N·(softmax_v − [v = 0]) over all five columns.
        var anchorRow = AnchorLogits.Take(5).Select(v => Math.Exp(v)).ToArray();
        for (int v = 0; v < 5; v++)
            Assert.Equal(W0 * 0.03 / 4 * (anchorRow[v] / anchorRow.Sum() - (v == 0 ? 1 : 0)), anchorGrad[v], 5);
    }
}
