using AnCoder.Diffusion.Losses;
using AnCoder.Diffusion.Schedules;
using TorchSharp;
using static TorchSharp.torch;

namespace AnCoder.Diffusion.Tests.Losses;

/// <summary>Called outside any dispose scope, each function leaves exactly its results alive.</summary>
[Collection(TorchCollection.Name)]
public sealed class ScopeTests
{
    private static long Live => DisposeScopeManager.Statistics.ThreadTotalLiveCount;

    [Fact]
    public void Pure_functions_leave_only_their_results()
    {
        var schedule = NoiseSchedules.Create("cosine2");
        using var ids = randint(3, 20, [2, 8], dtype: ScalarType.Int64);
        using var conditioning = zeros([2, 8], dtype: ScalarType.Bool);
        using var logits = randn([2, 8, 20]);

        long before = Live;
        using (var t = TimeSampling.Stratified(2, 1e-3))
        {
            Assert.Equal(before + 1, Live);
            using (var alpha = schedule.Alpha(t)) Assert.Equal(before + 2, Live);
            using (var weight = schedule.Weight(t)) Assert.Equal(before + 2, Live);
            var (noisy, masked) = ForwardProcess.Mask(ids, t, schedule, conditioning, 1);
            Assert.Equal(before + 3, Live);
            using (var logProbabilities = Subs.LogProbabilities(logits, noisy, 1)) Assert.Equal(before + 4, Live);
            var batch = new DiffusionBatch(ids, zeros([2, 8]), conditioning, ones([2, 8], dtype: ScalarType.Bool));
            long withBatch = Live;
            using (var loss = DiffusionLoss.FromLogits(logits, logits, batch, noisy, t, new LossOptions(), 1).Loss)
                Assert.Equal(withBatch + 1, Live);
            batch.AnchorWeights.Dispose();
            batch.Valid.Dispose();
            noisy.Dispose();
            masked.Dispose();
        }
        Assert.Equal(before, Live);
    }
}
