using AnCoder.Anchoring.Corpus;
using AnCoder.Anchoring.Tokenization;
using AnCoder.Diffusion.Configuration;
using AnCoder.Diffusion.Training;

namespace AnCoder.Diffusion.Tests.Training;

/// <summary>A toy corpus (repetitive Python functions, prepared by the real corpus builder) and a very small model.</summary>
internal sealed class ToyRun : IDisposable
{
    public ToyRun()
    {
        Root = Path.Combine(Path.GetTempPath(), "ancoder-train-" + Guid.NewGuid().ToString("N"));
        string source = Path.Combine(Root, "src");
        Directory.CreateDirectory(source);
        for (int file = 0; file < 24; file++)
        {
            var text = new System.Text.StringBuilder();
            for (int k = 0; k < 6; k++)
            {
                int i = file * 6 + k;
                text.Append($"def add_{i}(a, b):\n    \"\"\"Add two numbers.\"\"\"\n    return a + b\n\n\n");
                text.Append($"class Point{i}:\n    def __init__(self, x, y):\n        self.x = x\n        self.y = y\n\n\n");
            }
            File.WriteAllText(Path.Combine(source, $"module_{file}.py"), text.ToString());
        }
        Data = Path.Combine(Root, "data");
        CorpusBuilder.Build(new PrepareOptions
        {
            SourceDirectory = source, OutputDirectory = Data, Tokenizer = DefaultTokenizer.Load(), TokenizerName = DefaultTokenizer.Name,
            ContextLength = 64, ValidFraction = 0.15, TestFraction = 0, Seed = 3,
        });
        ModelConfigFile = Path.Combine(Root, "model.json");
        File.WriteAllText(ModelConfigFile, (ModelPresets.Tiny with
        {
            HiddenSize = 32, IntermediateSize = 64, NumHiddenLayers = 1, DenoiserLayers = 1, NumAttentionHeads = 2,
            NumKeyValueHeads = 1, MaxPositionEmbeddings = 128,
        }).ToJson());
    }

    public string Root { get; }
    public string Data { get; }
    public string ModelConfigFile { get; }

    public TrainingConfig Config(string name, long steps) => new()
    {
        ModelConfigFile = ModelConfigFile, Data = Data, Output = Path.Combine(Root, name), ContextLength = 64, MicroBatch = 4,
        MaxSteps = steps, LearningRate = 3e-3, WarmupRatio = 0.1, Threads = 2, LogInterval = 1, ValidationInterval = 0,
        ValidationBatches = 2, CheckpointInterval = 0, KeepLast = 5, Seed = 11,
    };

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }
}

/// <summary>Cancels a token once a given step is done (as SIGINT would).</summary>
internal sealed class StopAtStep(long step, CancellationTokenSource source) : ITrainingObserver
{
    public List<string> Messages { get; } = new();
    public List<MetricsRecord> Records { get; } = new();

    public void OnStep(TrainingProgress progress)
    {
        if (progress.Step == step) source.Cancel();
    }

    public void OnMetrics(MetricsRecord record) => Records.Add(record);
    public void OnMessage(string message) => Messages.Add(message);
}
