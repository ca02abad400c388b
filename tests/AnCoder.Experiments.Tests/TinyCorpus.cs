using AnCoder.Anchoring.Corpus;
using AnCoder.Anchoring.Tokenization;

namespace AnCoder.Experiments.Tests;

/// <summary>
/// A prepared corpus of a few small generated Python files (default tokenizer, real AnchorTree labels), with files in
/// the train, valid and test splits (the probe reads the test split); built once per test class in a temporary folder.
/// </summary>
public sealed class TinyCorpus : IDisposable
{
    private const double ValidFraction = 0.25;
    private const double TestFraction = 0.25;

    public TinyCorpus()
    {
        Root = Path.Combine(Path.GetTempPath(), "ancoder-repro-" + Guid.NewGuid().ToString("N"));
        string source = Path.Combine(Root, "source");
        Data = Path.Combine(Root, "data");
        Directory.CreateDirectory(source);
        var names = Enumerable.Range(0, 16).Select(i => $"module_{i:00}.py").ToList();
        // Each file is its own package; with equal sizes the split by package puts a quarter of them in valid and
        // a quarter in test for any seed.
        const int seed = 0;
        for (int i = 0; i < names.Count; i++) File.WriteAllText(Path.Combine(source, names[i]), Program(i));
        CorpusBuilder.Build(new PrepareOptions
        {
            SourceDirectory = source, OutputDirectory = Data, Tokenizer = DefaultTokenizer.Load(), TokenizerName = DefaultTokenizer.Name,
            ContextLength = 64, Seed = seed, ValidFraction = ValidFraction, TestFraction = TestFraction,
        });
    }

    public string Root { get; }
    public string Data { get; }

    private string? _sftData;

    /// <summary>Fine-tuning pairs (docstring → body) of the same files, built on first use (`prepare --sft`).</summary>
    public string SftData
    {
        get
        {
            lock (this)
            {
                if (_sftData is not null) return _sftData;
                string sft = Path.Combine(Root, "sft");
                CorpusBuilder.Build(new PrepareOptions
                {
                    SourceDirectory = Path.Combine(Root, "source"), OutputDirectory = sft, Tokenizer = DefaultTokenizer.Load(), TokenizerName = DefaultTokenizer.Name,
                    ContextLength = 128, Seed = 0, ValidFraction = ValidFraction, TestFraction = TestFraction, Sft = true, NearDeduplicate = false,
                });
                return _sftData = sft;
            }
        }
    }

    private static string Program(int i) => $$""""
        import math


        def scale_{{i}}(values, factor={{i + 2}}):
            """Return every value times factor."""
            result = []
            for value in values:
                if value > {{i}}:
                    result.append(value * factor)
                else:
                    result.append(math.floor(value))
            return result


        class Counter{{i}}:
            def __init__(self, start=0):
                self.count = start

            def increment(self, step=1):
                self.count += step
                return self.count
        """";

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }
}
