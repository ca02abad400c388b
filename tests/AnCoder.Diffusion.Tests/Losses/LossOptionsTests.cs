using AnCoder.Anchoring.Labels;
using AnCoder.Diffusion.Configuration;
using AnCoder.Diffusion.Losses;
using AnCoder.Diffusion.Schedules;

namespace AnCoder.Diffusion.Tests.Losses;

public sealed class LossOptionsTests
{
    [Fact]
    public void From_maps_the_diffusion_settings()
    {
        var settings = new DiffusionSettings { Schedule = ScheduleKind.Md4Cosine, ScheduleEpsilon = 0.01, TimeEpsilon = 0.05, AnchorLossOn = AnchorLossOn.Masked };
        var options = LossOptions.From(settings);
        Assert.Equal("md4cosine", options.Schedule.Name);
        Assert.Equal(0.01, options.Schedule.Alpha(1.0), 12); // α(1) = ε
        Assert.True(options.AnchorLossOnMaskedOnly);
        Assert.Equal(0.05, options.TimeEpsilon);
        Assert.Equal(1.0, options.AnchorScale);

        var defaults = LossOptions.From(new DiffusionSettings());
        Assert.Equal("cosine2", defaults.Schedule.Name);
        Assert.False(defaults.AnchorLossOnMaskedOnly);
        Assert.Equal(1e-3, defaults.TimeEpsilon);
    }

    [Theory]
    [InlineData(0.1, 0, 100, 0.0)]
    [InlineData(0.1, 5, 100, 0.5)]      // min(0.1, 0.05)/0.1
    [InlineData(0.1, 10, 100, 1.0)]
    [InlineData(0.1, 90, 100, 1.0)]
    [InlineData(0.003, 1, 1000, 1.0 / 3)] // min(0.003, 0.001)/0.003
    [InlineData(0.0, 1, 1000, 1.0)]     // λ = 0: nothing to warm up
    [InlineData(0.1, 5, 0, 1.0)]        // max_steps unknown: no warm-up
    public void Warmup_scale_is_min_lambda_progress_over_lambda(double lambda, long step, long maxSteps, double expected) =>
        Assert.Equal(expected, LossOptions.WarmupScale(lambda, step, maxSteps), 12);

    [Fact]
    public void Warmup_applies_only_when_switched_on()
    {
        var settings = new DiffusionSettings { AnchorLambda = 0.1 };
        Assert.Equal(1.0, LossOptions.From(settings, step: 1, maxSteps: 100).AnchorScale);
        Assert.Equal(0.1, LossOptions.From(settings with { AnchorWarmup = true }, step: 1, maxSteps: 100).AnchorScale, 12);
    }
}
