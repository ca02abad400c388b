using AnCoder.Anchoring.Labels;
using AnCoder.Anchoring.Shards;
using AnCoder.Diffusion.Configuration;
using AnCoder.Diffusion.Training;

namespace AnCoder.Diffusion.Tests.Training;

public sealed class TrainingFlopsTests
{
    [Fact]
    public void Tiny_by_hand()
    {
        // tiny: d 128, 4 heads × 32, 2 kv heads × 32, MLP 352, V 8192, 2 + 2 layers, anchored.
        // Layer matmul weights: q 128·128 + k,v 2·128·64 + o 128·128 + MLP 3·128·352 = 16384 + 16384 + 16384 + 135168 = 184320.
        // Vocabulary products: 3 · 8192·128 = 3145728. Attention at L = 256: 12·256·128·4 = 1572864.
        double expected = 6 * (4 * 184320.0 + 3145728) + 1572864;
        Assert.Equal(expected, TrainingFlops.PerToken(ModelPresets.Tiny, 256));
        // MDLM with 2 layers: one vocabulary product.
        double mdlm = 6 * (2 * 184320.0 + 1048576) + 12.0 * 256 * 128 * 2;
        Assert.Equal(mdlm, TrainingFlops.PerToken(ModelPresets.Tiny with { Architecture = Architecture.Mdlm }, 256));
    }
}

public sealed class LoaderPositionTests
{
    [Fact]
    public void Setting_a_saved_position_replays_the_same_batches()
    {
        string path = Path.Combine(Path.GetTempPath(), $"position-{Guid.NewGuid():N}{ShardFormat.Extension}");
        try
        {
            var samples = Enumerable.Range(0, 9).Select(s => new ShardSample(
                Enumerable.Range(0, 5 + s).Select(i => 3 + (s * 7 + i) % 40).ToArray(), new ushort[5 + s], new TokenFlags[5 + s], 0)).ToList();
            ShardFormat.Write(path, samples, 64);
            using var shard = new ShardReader(path);
            DataLoader Make() => new([shard], 8, 3, 5, AnchorWeightOptions.Defaults(AnchorStrategy.AnchorTree), 0, 2);
            var loader = Make();
            Assert.Equal((-1, 0L), loader.Position);
            for (int k = 0; k < 4; k++) loader.NextBatch(); // crosses into epoch 1 (12 rows ... 9+ rows per epoch)
            var saved = loader.Position;
            var expected = Enumerable.Range(0, 5).Select(_ => loader.NextBatch().Ids).ToList();
            var resumed = Make();
            resumed.Position = saved;
            Assert.Equal(saved, resumed.Position);
            Assert.Equal(expected, Enumerable.Range(0, 5).Select(_ => resumed.NextBatch().Ids));
            Assert.Throws<ArgumentOutOfRangeException>(() => resumed.Position = (0, resumed.RowCount + 1));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
