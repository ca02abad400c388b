using AnCoder.Diffusion.Schedules;
using TorchSharp;
using static TorchSharp.torch;

namespace AnCoder.Diffusion.Tests.Schedules;

[Collection(TorchCollection.Name)]
public sealed class TimeSamplingTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(64)]
    public void Each_row_falls_in_its_own_stratum_of_eps_to_one(int batch)
    {
        const double epsilon = 1e-3;
        using var generator = new Generator(1234);
        for (int draw = 0; draw < 200; draw++)
        {
            using var t = TimeSampling.Stratified(batch, epsilon, generator);
            Assert.Equal(ScalarType.Float32, t.dtype);
            Assert.Equal(new long[] { batch }, t.shape);
            var values = t.data<float>().ToArray();
            for (int b = 0; b < batch; b++)
            {
                double low = epsilon + (1 - epsilon) * b / batch, high = epsilon + (1 - epsilon) * (b + 1) / batch;
                // fp32 rounding may touch a boundary, never cross into a neighbour's interior.
                Assert.InRange(values[b], low - 1e-7, high + 1e-7);
                Assert.InRange(values[b], epsilon - 1e-9, Math.BitDecrement(1.0));
                Assert.True(values[b] < 1f);
            }
        }
    }

    [Fact]
    public void Offsets_within_strata_are_uniform()
    {
        // Position inside the stratum, (t − low)/width, is U[0,1): mean 1/2, variance 1/12.
        const int batch = 16, draws = 500;
        using var generator = new Generator(7);
        var offsets = new List<double>();
        for (int draw = 0; draw < draws; draw++)
        {
            using var t = TimeSampling.Stratified(batch, 0.0, generator);
            var values = t.data<float>().ToArray();
            for (int b = 0; b < batch; b++) offsets.Add(values[b] * batch - b);
        }
        double mean = offsets.Average();
        double variance = offsets.Select(x => (x - mean) * (x - mean)).Average();
        double standardError = Math.Sqrt(1.0 / 12 / offsets.Count);
        Assert.InRange(mean, 0.5 - 5 * standardError, 0.5 + 5 * standardError);
        Assert.InRange(variance, 1.0 / 12 - 0.01, 1.0 / 12 + 0.01);
    }

    [Fact]
    public void Same_seed_gives_same_times()
    {
        using var first = new Generator(42);
        using var second = new Generator(42);
        using var a = TimeSampling.Stratified(8, 1e-3, first);
        using var b = TimeSampling.Stratified(8, 1e-3, second);
        Assert.Equal(a.data<float>().ToArray(), b.data<float>().ToArray());
    }
}
