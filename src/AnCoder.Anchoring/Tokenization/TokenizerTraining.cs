using System.Diagnostics;
using AnCoder.Anchoring.Corpus;

namespace AnCoder.Anchoring.Tokenization;

/// <summary>Trains a tokenizer on a folder of .py files and saves it in the Hugging Face layout.</summary>
public static class TokenizerTraining
{
    public sealed record Result(ByteLevelBpe Tokenizer, int Files, long Bytes, int DistinctPieces, TimeSpan CountTime, TimeSpan MergeTime);

    public static Result TrainOnDirectory(string sourceDirectory, string outputDirectory, int vocabSize, Action<int, int>? progress = null) =>
        TrainOnFiles(CorpusFiles.Enumerate(sourceDirectory), outputDirectory, vocabSize, progress);

    public static Result TrainOnFiles(IReadOnlyList<string> files, string outputDirectory, int vocabSize, Action<int, int>? progress = null)
    {
        var trainer = new BpeTrainer { VocabSize = vocabSize };
        long bytes = 0;
        var clock = Stopwatch.StartNew();
        var documents = files.Select(path => CorpusFiles.TryRead(path, out _)).Where(b => b != null).Select(b =>
        {
            Interlocked.Add(ref bytes, b!.Length);
            return b!;
        });
        var pieces = trainer.CountPieces(documents);
        var countTime = clock.Elapsed;
        clock.Restart();
        var contents = trainer.Train(pieces, progress);
        var mergeTime = clock.Elapsed;
        HfTokenizerFiles.Save(outputDirectory, contents);
        return new Result(HfTokenizerFiles.Build(contents), files.Count, bytes, pieces.Count, countTime, mergeTime);
    }
}
