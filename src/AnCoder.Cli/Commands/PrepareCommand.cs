using System.CommandLine;
using AnCoder.Anchoring.Tokenization;

namespace AnCoder.Cli.Commands;

/// <summary><c>ancoder prepare</c>: trains the tokenizer and builds the labelled training shards.</summary>
public static class PrepareCommand
{
    public static Command Create()
    {
        var source = new Option<string?>("--source") { Description = "Folder of .py files (default: python3's stdlib)." };
        var trainTokenizer = new Option<string?>("--train-tokenizer") { Description = "Train a byte-level BPE on the source files and save it (Hugging Face layout) in this folder." };
        var vocabSize = new Option<int>("--vocab-size") { Description = "Vocabulary size of a trained tokenizer (incl. the 3 special tokens and 256 bytes).", DefaultValueFactory = _ => 8192 };
        var command = new Command("prepare", "Build the training corpus: tokenize and label .py files into memory-mappable shards (or train a tokenizer).");
        command.Options.Add(source);
        command.Options.Add(trainTokenizer);
        command.Options.Add(vocabSize);
        command.SetAction(parse =>
        {
            string? sourceDir = parse.GetValue(source) ?? RepositoryPaths.PythonStdlib();
            if (sourceDir == null) { Console.Error.WriteLine("ancoder prepare: no --source and python3's stdlib not found"); return 2; }
            if (parse.GetValue(trainTokenizer) is string outDir)
            {
                var result = TokenizerTraining.TrainOnDirectory(sourceDir, outDir, parse.GetValue(vocabSize));
                Console.WriteLine($"trained {result.Tokenizer.VocabSize} ids ({result.Tokenizer.MergeCount} merges) on {result.Files} files, {result.Bytes / 1e6:F1} MB, {result.DistinctPieces} distinct pieces: counting {result.CountTime.TotalSeconds:F1} s, merging {result.MergeTime.TotalSeconds:F1} s -> {outDir}");
                return 0;
            }
            return 0;
        });
        return command;
    }
}
