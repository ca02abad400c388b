using AnCoder.Diffusion.Training;

namespace AnCoder.Diffusion.Tests.Training;

public sealed class LearningRateScheduleTests
{
    // total 10, warm-up ratio 0.2 → W = 2 warm-up steps; decay over steps 2..9 (7 intervals); floor = 0.1·peak.
    [Theory]
    [InlineData(0, 0.5e-3)]
    [InlineData(1, 1e-3)]
    [InlineData(2, 1e-3)]
    [InlineData(5, 0.000650134420)] // 1e-4 + 9e-4·½(1 + cos(3π/7)), cos(3π/7) = 0.222520934
    [InlineData(9, 1e-4)]
    [InlineData(42, 1e-4)] // past the end: clamped to the last step
    public void Warmup_then_cosine_to_the_floor(long step, double expected) =>
        Assert.Equal(expected, LearningRateSchedule.At(step, 10, 1e-3, 0.2, 0.1), 12);

    [Fact]
    public void Paper_warmup_ratio_one_percent()
    {
        Assert.Equal(10, LearningRateSchedule.WarmupSteps(1000, 0.01));
        Assert.Equal(1, LearningRateSchedule.WarmupSteps(50, 0.01));
        Assert.Equal(0, LearningRateSchedule.WarmupSteps(50, 0));
        Assert.Equal(3e-5, LearningRateSchedule.At(0, 1000, 3e-4, 0.01, 0), 15);
        Assert.Equal(3e-4, LearningRateSchedule.At(9, 1000, 3e-4, 0.01, 0), 15); // last warm-up step reaches the peak
        Assert.Equal(3e-4, LearningRateSchedule.At(10, 1000, 3e-4, 0.01, 0), 15); // first decay step (p = 0)
        Assert.Equal(0, LearningRateSchedule.At(999, 1000, 3e-4, 0.01, 0), 15);
    }

    [Fact]
    public void Decay_midpoint_is_halfway_and_monotone()
    {
        // total 11, no warm-up: decay over 10 intervals; step 5 is p = 0.5 → floor + (peak − floor)/2.
        Assert.Equal(0.55, LearningRateSchedule.At(5, 11, 1.0, 0, 0.1), 12);
        for (long k = 1; k < 11; k++)
            Assert.True(LearningRateSchedule.At(k, 11, 1.0, 0, 0.1) < LearningRateSchedule.At(k - 1, 11, 1.0, 0, 0.1));
    }
}
