using AnCoder.Diffusion.Losses;
using AnCoder.Diffusion.Schedules;
using TorchSharp;
using static TorchSharp.torch;

namespace AnCoder.Diffusion.Tests.Losses;

[Collection(TorchCollection.Name)]
public sealed class ForwardProcessTests
{
    private const int MaskId = 1;

    [Theory]
    [InlineData("cosine2")]
    [InlineData("loglinear")]
    [InlineData("md4cosine")]
    public void Fraction_masked_per_row_is_one_minus_alpha_t(string name)
    {
        var schedule = NoiseSchedules.Create(name);
        float[] times = [0.02f, 0.2f, 0.45f, 0.7f, 0.9f, 0.999f];
        const int length = 20000;
        using var scope = NewDisposeScope();
        using var generator = new Generator(3);
        var ids = randint(3, 100, [times.Length, length], dtype: ScalarType.Int64, generator: generator);
        var conditioning = zeros([times.Length, length], dtype: ScalarType.Bool);
        var (noisy, masked) = ForwardProcess.Mask(ids, tensor(times), schedule, conditioning, MaskId, generator);
        var counts = masked.sum(1).data<long>().ToArray();
        for (int b = 0; b < times.Length; b++)
        {
            double p = 1 - schedule.Alpha(times[b]);
            double sigma = Math.Sqrt(p * (1 - p) / length);
            double fraction = counts[b] / (double)length;
            Assert.True(Math.Abs(fraction - p) <= 5 * sigma + 1e-9, $"{name} t={times[b]}: masked {fraction}, expected {p} ± {5 * sigma}");
        }
        Assert.True(Same(noisy.eq(MaskId), masked));
    }

    [Fact]
    public void Conditioning_is_never_masked_and_visible_tokens_are_kept()
    {
        var schedule = NoiseSchedules.Create("cosine2");
        using var scope = NewDisposeScope();
        using var generator = new Generator(11);
        for (int draw = 0; draw < 20; draw++)
        {
            var ids = randint(3, 50, [4, 256], dtype: ScalarType.Int64, generator: generator);
            var conditioning = rand([4, 256], generator: generator).lt(0.3);
            var t = full([4], 0.999f);
            var (noisy, masked) = ForwardProcess.Mask(ids, t, schedule, conditioning, MaskId, generator);
            Assert.False(masked.logical_and(conditioning).any().item<bool>());
            Assert.True(Same(noisy.masked_select(conditioning), ids.masked_select(conditioning)));
            Assert.True(Same(noisy.masked_select(masked.logical_not()), ids.masked_select(masked.logical_not())));
            Assert.True(noisy.masked_select(masked).eq(MaskId).all().item<bool>());
            // At t ≈ 1 nearly every non-conditioning position is masked.
            double free = conditioning.logical_not().sum().item<long>();
            Assert.True(masked.sum().item<long>() >= 0.99 * free);
        }
    }

    private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    [Fact]
    public void Same_generator_seed_gives_the_same_mask()
    {
        var schedule = NoiseSchedules.Create("cosine2");
        using var scope = NewDisposeScope();
        var ids = arange(64, dtype: ScalarType.Int64).reshape(2, 32);
        var conditioning = zeros([2, 32], dtype: ScalarType.Bool);
        var t = tensor(new[] { 0.3f, 0.8f });
        using var first = new Generator(9);
        using var second = new Generator(9);
        var (a, _) = ForwardProcess.Mask(ids, t, schedule, conditioning, MaskId, first);
        var (b, _) = ForwardProcess.Mask(ids, t, schedule, conditioning, MaskId, second);
        Assert.True(Same(a, b));
    }
}
