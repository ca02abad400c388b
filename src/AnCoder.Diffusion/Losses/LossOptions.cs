using static TorchSharp.torch;
using AnCoder.Diffusion.Configuration;
using AnCoder.Diffusion.Schedules;

namespace AnCoder.Diffusion.Losses;

/// <summary>How <see cref="DiffusionLoss"/> computes the (A)NELBO (docs/algorithms.md §1, §5).</summary>
public sealed record LossOptions
{
    public INoiseSchedule Schedule { get; init; } = NoiseSchedules.Create();

    /// <summary>Switch <c>anchor_loss_on=masked</c>: the anchor term only at masked positions (default: all valid ones).</summary>
    public bool AnchorLossOnMaskedOnly { get; init; }

    /// <summary>Multiplies the batch's γ: the warm-up factor γ_eff/γ (1 when warm-up is off).</summary>
    public double AnchorScale { get; init; } = 1;

    /// <summary>Fraction of rows on the left-to-right (suffix) process instead of random masking (0: none; docs/recipe.md §10).</summary>
    public double LeftToRightFraction { get; init; }

    /// <summary>Masked positions counted after the cut in a left-to-right row.</summary>
    public int LeftToRightBlock { get; init; } = 1;

    /// <summary>Training times are drawn from [ε, 1).</summary>
    public double TimeEpsilon { get; init; } = 1e-3;

    /// <summary>
    /// Options from a model's diffusion settings at training step <paramref name="step"/> of
    /// <paramref name="maxSteps"/>. With <c>anchor_warmup</c>, ADLM's γ_eff = min(λ, step/max_steps) replaces λ in
    /// γ_i = λ·A_i·ρ^…, so the batch's γ (computed with λ) is scaled by min(λ, step/max_steps)/λ = min(1,
    /// step/(λ·max_steps)). Without warm-up, with max_steps ≤ 0 or λ = 0 the scale is 1.
    /// </summary>
    public static LossOptions From(DiffusionSettings s, long step = 0, long maxSteps = 0) => new()
    {
        Schedule = NoiseSchedules.From(s),
        AnchorLossOnMaskedOnly = s.AnchorLossOn == AnchorLossOn.Masked,
        AnchorScale = s.AnchorWarmup ? WarmupScale(s.AnchorLambda, step, maxSteps) : 1,
        TimeEpsilon = s.TimeEpsilon,
        LeftToRightFraction = s.LeftToRightFraction,
        LeftToRightBlock = s.LeftToRightBlock,
    };

    /// <summary>min(λ, step/max_steps)/λ, in [0, 1]; 1 when it is undefined (λ = 0 or max_steps ≤ 0).</summary>
    public static double WarmupScale(double lambda, long step, long maxSteps)
    {
        if (lambda <= 0 || maxSteps <= 0) return 1;
        double progress = Math.Max(0, (double)step / maxSteps);
        return Math.Min(lambda, progress) / lambda;
    }
}

/// <summary>
/// One loss evaluation: <see cref="Loss"/> (scalar, differentiable) = <see cref="DenoiserNll"/> +
/// <see cref="AnchorNll"/>, each the w(t)-weighted sum of its term over the valid loss positions divided by
/// <see cref="ValidTokens"/> (the anchor part includes γ). <see cref="MaskedTokens"/> counts masked loss positions.
/// </summary>
public sealed record LossParts(Tensor Loss, double DenoiserNll, double AnchorNll, long ValidTokens, long MaskedTokens);
