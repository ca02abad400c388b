using System.Diagnostics;
using System.Text.Json;
using AnCoder.Anchoring.Corpus;
using AnCoder.Anchoring.Shards;
using AnCoder.Diffusion.Configuration;
using AnCoder.Diffusion.Training;

namespace AnCoder.Experiments.Benchmarks;

/// <summary>
/// The measurements of <c>ancoder bench train</c>: our trainer (the real <see cref="TrainingRun"/> loop) on a synthetic
/// corpus, and the JSON line each child process (ours and bench/train_torch.py) reports.
/// </summary>
public static class TrainingBenchmark
{
    public sealed record Measurement(double TokensPerSecond, double PeakRssMb);

    public sealed record Shape(int Batch, int Context, int Steps, int Warmup, int Threads)
    {
        public string[] Arguments => ["--batch", $"{Batch}", "--context", $"{Context}", "--steps", $"{Steps}", "--warmup", $"{Warmup}", "--threads", $"{Threads}"];
    }

    /// <summary>The JSON line of a measurement (ours from <see cref="MeasureInThisProcess"/>, or bench/train_torch.py's).</summary>
    public static Measurement? FromJson(JsonDocument? json) => json is null ? null
        : new Measurement(json.RootElement.GetProperty("tokens_per_second").GetDouble(), json.RootElement.GetProperty("peak_rss_mb").GetDouble());

    /// <summary>One of our measurements in this process: the real trainer on a synthetic corpus, steps timed after warm-up;
    /// returns the JSON line the parent reads.</summary>
    public static string MeasureInThisProcess(string model, Precision precision, Shape shape)
    {
        var config = ModelPresets.Get(model);
        string root = Directory.CreateTempSubdirectory("ancoder-bench-train-").FullName;
        try
        {
            string data = Path.Combine(root, "data");
            WriteSyntheticCorpus(data, config, (long)shape.Batch * shape.Context * (shape.Steps + shape.Warmup + 1));
            string modelPath = Path.Combine(root, "model.json");
            File.WriteAllText(modelPath, config.ToJson());
            var training = new TrainingConfig
            {
                ModelConfigFile = modelPath, Data = data, Output = Path.Combine(root, "run"), ContextLength = shape.Context,
                MicroBatch = shape.Batch, MaxSteps = shape.Warmup + shape.Steps, Precision = precision, Threads = shape.Threads,
                ValidationInterval = 0, ValidationBatches = 0, CheckpointInterval = 0, LogInterval = 1_000_000,
            };
            var timer = new StepTimer(shape.Warmup);
            TrainingRun.Run(training, timer);
            double seconds = timer.Seconds;
            return JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["tokens_per_second"] = (double)shape.Steps * shape.Batch * shape.Context / seconds, ["seconds"] = seconds,
                ["peak_rss_mb"] = ModelBenchmark.PeakRssBytes() / (1024.0 * 1024), ["threads"] = shape.Threads,
            });
        }
        finally
        {
            try { Directory.Delete(root, recursive: true); } catch (IOException) { }
        }
    }

    private sealed class StepTimer(int warmup) : ITrainingObserver
    {
        private readonly Stopwatch _clock = new();
        public double Seconds => _clock.Elapsed.TotalSeconds;

        public void OnStep(TrainingProgress progress)
        {
            if (progress.Step == warmup) _clock.Restart();
            if (progress.Step == progress.TotalSteps) _clock.Stop();
        }
    }

    /// <summary>Random ids in [3, V) with random depths and keyword/identifier flags, one shard + manifest.</summary>
    private static void WriteSyntheticCorpus(string directory, ModelConfig config, long tokens)
    {
        Directory.CreateDirectory(directory);
        var random = new Random(1);
        var samples = new List<ShardSample>();
        for (long written = 0; written < tokens;)
        {
            int length = random.Next(200, 2000);
            samples.Add(new ShardSample(
                Enumerable.Range(0, length).Select(_ => random.Next(3, config.VocabSize)).ToArray(),
                Enumerable.Range(0, length).Select(_ => (ushort)random.Next(0, 8)).ToArray(),
                Enumerable.Range(0, length).Select(_ => TokenFlags.Parsed | (TokenFlags)random.Next(0, 3)).ToArray(), 0));
            written += length + 1;
        }
        const string file = "train-00000" + ShardFormat.Extension;
        var (sha, bytes) = ShardFormat.Write(Path.Combine(directory, file), samples, config.VocabSize);
        long total = samples.Sum(s => (long)s.Ids.Length);
        var split = new ManifestSplit(1, samples.Count, samples.Count, 0, 0, total, 0, [new ManifestShard(file, samples.Count, total, bytes, sha)]);
        var manifest = new Manifest
        {
            ConfigHash = "synthetic",
            Config = new ManifestConfig("synthetic", "synthetic", "synthetic", config.VocabSize, config.EosTokenId, config.PadTokenId,
                config.MaskTokenId, 0, 1, 0, 0, false, total),
            Files = new ManifestFiles(0, 0, 0, [], [], []),
            Splits = new Dictionary<string, ManifestSplit> { ["train"] = split },
            Totals = new ManifestTotals(0, samples.Count, total, 0, 0, 0, 0, 0),
        };
        File.WriteAllText(Path.Combine(directory, CorpusBuilder.ManifestFile), JsonSerializer.Serialize(manifest, Manifest.JsonOptions));
    }
}
