using AnCoder.Anchoring.Runs;
using AnCoder.Anchoring.Corpus;
using AnCoder.Anchoring.Shards;
using AnCoder.Diffusion.Configuration;
using AnCoder.Diffusion.Training;

namespace AnCoder.Diffusion.Tests.Training;

/// <summary>
/// A toy corpus written with <see cref="ShardFormat.Write"/> plus a manifest (vocabulary 64: every step is cheap):
/// each sample counts upwards from a random start through a few ids (wrapping), so a masked token is predictable from its
/// neighbours and the loss falls fast. Depths and keyword/identifier flags vary so anchor weights are non-zero.
/// Built once per test class; every run gets its own output folder.
/// </summary>
public sealed class ToyCorpus : IDisposable
{
    public const int Vocab = 64;
    /// <summary>Samples count through ids 3..3+Cycle−1 only: even the unigram statistics beat a uniform guess (ln 64).</summary>
    public const int Cycle = 8;

    public ToyCorpus()
    {
        Root = Path.Combine(Path.GetTempPath(), "ancoder-train-" + Guid.NewGuid().ToString("N"));
        Data = Path.Combine(Root, "data");
        Directory.CreateDirectory(Data);
        var random = new Random(5);
        var splits = new Dictionary<string, ManifestSplit>();
        foreach (var (split, count) in new[] { ("train", 120), ("valid", 12) })
        {
            var samples = new List<ShardSample>();
            for (int s = 0; s < count; s++)
            {
                int length = random.Next(20, 60), start = random.Next(Vocab - 3);
                var ids = Enumerable.Range(0, length).Select(i => 3 + (start + i) % Cycle).ToArray();
                var depths = ids.Select(id => (ushort)(id % 5)).ToArray();
                var flags = ids.Select(id => TokenFlags.Parsed | (id % 3 == 0 ? TokenFlags.Keyword : id % 3 == 1 ? TokenFlags.Identifier : 0)).ToArray();
                samples.Add(new ShardSample(ids, depths, flags, s % 4 == 0 ? 5 : 0));
            }
            string file = $"{split}-00000{ShardFormat.Extension}";
            var (sha, bytes) = ShardFormat.Write(Path.Combine(Data, file), samples, Vocab);
            long tokens = samples.Sum(x => (long)x.Ids.Length);
            splits[split] = new ManifestSplit(1, count, count, 0, count / 4, tokens, 0, [new ManifestShard(file, count, tokens, bytes, sha)]);
        }
        var manifest = new Manifest
        {
            ConfigHash = "toy", Config = new ManifestConfig("toy", "toy", "toy", Vocab, 0, 2, 1, 64, 0, 0.1, 0, false, 1 << 20),
            Files = new ManifestFiles(0, 0, 0, [], [], []), Splits = splits, Totals = new ManifestTotals(0, 0, 0, 0, 0, 0, 0, 0),
        };
        File.WriteAllText(Path.Combine(Data, CorpusBuilder.ManifestFile), System.Text.Json.JsonSerializer.Serialize(manifest, Manifest.JsonOptions));
        ModelConfigFile = Path.Combine(Root, "model.json");
        File.WriteAllText(ModelConfigFile, (ModelPresets.Tiny with
        {
            VocabSize = Vocab, HiddenSize = 32, IntermediateSize = 64, NumHiddenLayers = 1, DenoiserLayers = 1, NumAttentionHeads = 2,
            NumKeyValueHeads = 1, MaxPositionEmbeddings = 128,
        }).ToJson());
    }

    public string Root { get; }
    public string Data { get; }
    public string ModelConfigFile { get; }

    /// <summary>A fresh run folder name each call (tests in one class share the corpus).</summary>
    public TrainingConfig Config(string name, long steps) => new()
    {
        ModelConfigFile = ModelConfigFile, Data = Data, Output = Path.Combine(Root, $"{name}-{Guid.NewGuid():N}"), ContextLength = 32,
        MicroBatch = 4, MaxSteps = steps, LearningRate = 1e-2, WarmupRatio = 0.1, Threads = 1, LogInterval = 1, ValidationInterval = 0,
        ValidationBatches = 2, CheckpointInterval = 0, KeepLast = 5, Seed = 11,
    };

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }
}

/// <summary>Cancels a token once a given step is done (as SIGINT would); records messages and metrics.</summary>
internal sealed class StopAtStep(long step, CancellationTokenSource? source = null) : ITrainingObserver
{
    public List<string> Messages { get; } = new();
    public List<MetricsRecord> Records { get; } = new();

    public void OnStep(TrainingProgress progress)
    {
        if (progress.Step == step) source?.Cancel();
    }

    public void OnMetrics(MetricsRecord record) => Records.Add(record);
    public void OnMessage(string message) => Messages.Add(message);
}
