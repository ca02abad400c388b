using AnCoder.Diffusion.Configuration;
using AnCoder.Diffusion.Schedules;
using static TorchSharp.torch;

namespace AnCoder.Diffusion.Tests.Schedules;

[Collection(TorchCollection.Name)]
public sealed class NoiseScheduleTests
{
    private const double Epsilon = 1e-3;

    public static TheoryData<string> Names => new(NoiseSchedules.Names);

    private static IEnumerable<double> Grid() => Enumerable.Range(1, 99).Select(k => k / 100.0);

    [Theory]
    [MemberData(nameof(Names))]
    public void Derivative_matches_central_finite_difference_of_alpha(string name)
    {
        var schedule = NoiseSchedules.Create(name, Epsilon);
        const double h = 1e-5;
        foreach (double t in Grid())
        {
            double finiteDifference = (schedule.Alpha(t + h) - schedule.Alpha(t - h)) / (2 * h);
            Assert.True(Math.Abs(schedule.AlphaDerivative(t) - finiteDifference) <= 1e-7 * Math.Max(1, Math.Abs(finiteDifference)),
                $"{name} t={t}: α'={schedule.AlphaDerivative(t)} vs finite difference {finiteDifference}");
        }
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Weight_is_minus_finite_difference_over_one_minus_alpha(string name)
    {
        var schedule = NoiseSchedules.Create(name, Epsilon);
        const double h = 1e-6;
        foreach (double t in Grid().Append(0.002).Append(0.999))
        {
            double slope = (schedule.Alpha(t + h) - schedule.Alpha(t - h)) / (2 * h);
            double expected = -slope / (1 - schedule.Alpha(t));
            Assert.True(Math.Abs(schedule.Weight(t) - expected) <= 1e-6 * expected,
                $"{name} t={t}: w={schedule.Weight(t)} vs {expected}");
            Assert.True(schedule.Weight(t) > 0);
        }
    }

    [Fact]
    public void Weights_equal_the_closed_forms_of_the_table_where_they_are_exact()
    {
        // cosine2, cosine and loglinear: the ε terms cancel in −α'/(1−α), so the doc's forms hold for any ε.
        var cosine2 = NoiseSchedules.Create("cosine2", Epsilon);
        var cosine = NoiseSchedules.Create("cosine", Epsilon);
        var loglinear = NoiseSchedules.Create("loglinear", Epsilon);
        var md4Exact = NoiseSchedules.Create("md4cosine", 0);
        var md4 = NoiseSchedules.Create("md4cosine", Epsilon);
        foreach (double t in Grid())
        {
            AssertRelative(Math.PI / Math.Tan(Math.PI * t / 2), cosine2.Weight(t), 1e-12);
            AssertRelative(Math.PI / 2 / Math.Tan(Math.PI * t / 4), cosine.Weight(t), 1e-12);
            AssertRelative(1 / t, loglinear.Weight(t), 1e-12);
            AssertRelative(Math.PI / 2 / Math.Tan(Math.PI * t / 2), md4Exact.Weight(t), 1e-12);
            double exact = (1 - 2 * Epsilon) * (Math.PI / 2) * Math.Cos(Math.PI * t / 2) / (Epsilon + (1 - 2 * Epsilon) * Math.Sin(Math.PI * t / 2));
            AssertRelative(exact, md4.Weight(t), 1e-12);
        }
        // md4cosine with ε > 0: the table's (π/2)·cot(πt/2) is only approximate, far off near t = 0.
        Assert.True(md4.Weight(1e-4) < 0.5 * (Math.PI / 2 / Math.Tan(Math.PI * 1e-4 / 2)));
    }

    [Theory]
    [InlineData("cosine2", 1.0)]
    [InlineData("cosine", 1.0)]
    [InlineData("loglinear", 1.0)]
    [InlineData("md4cosine", 1 - Epsilon)]
    public void Alpha_runs_from_about_one_to_epsilon_and_decreases(string name, double alphaAtZero)
    {
        var schedule = NoiseSchedules.Create(name, Epsilon);
        Assert.Equal(alphaAtZero, schedule.Alpha(0), 12);
        Assert.Equal(Epsilon, schedule.Alpha(1), 12);
        double previous = schedule.Alpha(0);
        foreach (double t in Grid().Append(1.0))
        {
            Assert.True(schedule.Alpha(t) < previous, $"{name}: α not decreasing at t={t}");
            previous = schedule.Alpha(t);
        }
        Assert.True(schedule.Weight(1) > 0 && double.IsFinite(schedule.Weight(1)));
        // w(t) blows up as t → 0 for the schedules with α(0) = 1.
        if (alphaAtZero == 1.0) Assert.True(schedule.Weight(1e-6) > 1e5);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Tensor_versions_equal_scalar_versions_and_keep_dtype(string name)
    {
        var schedule = NoiseSchedules.Create(name, Epsilon);
        using var scope = NewDisposeScope();
        double[] times = Grid().Append(0.001).Append(0.9999).ToArray();
        var t64 = tensor(times);
        var t32 = t64.to(ScalarType.Float32);
        Assert.Equal(ScalarType.Float64, schedule.Alpha(t64).dtype);
        Assert.Equal(ScalarType.Float32, schedule.Weight(t32).dtype);
        var alpha64 = schedule.Alpha(t64).data<double>().ToArray();
        var weight64 = schedule.Weight(t64).data<double>().ToArray();
        var alpha32 = schedule.Alpha(t32).data<float>().ToArray();
        var weight32 = schedule.Weight(t32).data<float>().ToArray();
        for (int k = 0; k < times.Length; k++)
        {
            AssertRelative(schedule.Alpha(times[k]), alpha64[k], 1e-12);
            AssertRelative(schedule.Weight(times[k]), weight64[k], 1e-12);
            double t = (float)times[k];
            AssertRelative(schedule.Alpha(t), alpha32[k], 1e-6);
            AssertRelative(schedule.Weight(t), weight32[k], 1e-6);
        }
    }

    [Fact]
    public void Unknown_name_or_bad_epsilon_is_a_config_error()
    {
        var unknown = Assert.Throws<ConfigException>(() => NoiseSchedules.Create("linear"));
        Assert.Contains("cosine2", unknown.Message);
        Assert.Throws<ConfigException>(() => NoiseSchedules.Create("cosine2", 0.5));
        Assert.Throws<ConfigException>(() => NoiseSchedules.Create("cosine2", -1e-3));
        Assert.Equal("md4cosine", NoiseSchedules.Create("md4cosine").Name);
    }

    private static void AssertRelative(double expected, double actual, double tolerance) =>
        Assert.True(Math.Abs(actual - expected) <= tolerance * Math.Max(1e-30, Math.Abs(expected)),
            $"expected {expected:R}, got {actual:R}");
}
