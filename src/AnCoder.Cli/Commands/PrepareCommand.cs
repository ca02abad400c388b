using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using AnCoder.Anchoring.Corpus;
using AnCoder.Anchoring.Labels;
using AnCoder.Anchoring.Tokenization;
using Spectre.Console;

namespace AnCoder.Cli.Commands;

/// <summary>
/// <c>ancoder prepare</c>: builds the labelled training corpus (shards + manifest) from a folder of .py files
/// (default: python3's stdlib). <c>--train-tokenizer DIR</c> trains a byte-level BPE instead; <c>--bench</c> times
/// the labelling against bench/label_throughput.py (CPython ast + tokenize + the same tokenizer) in the same run.
/// </summary>
public static class PrepareCommand
{
    public static Command Create()
    {
        var source = new Option<string?>("--source") { Description = "Folder of .py files (recursive; site-packages skipped). Default: python3's stdlib." };
        var output = new Option<string?>("--out") { Description = "Output folder for shards and manifest.json. Default: <repo>/data/prepared." };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "Tokenizer folder (Hugging Face layout). Default: the shipped stdlib BPE." };
        var context = new Option<int>("--context") { Description = "Context length the loader packs/truncates samples to (recorded in the manifest).", DefaultValueFactory = _ => 1024 };
        var seed = new Option<int>("--seed") { Description = "Seed of the split by source file.", DefaultValueFactory = _ => 0 };
        var valid = new Option<double>("--valid-fraction") { Description = "Fraction of source files held out for validation.", DefaultValueFactory = _ => 0.02 };
        var test = new Option<double>("--test-fraction") { Description = "Fraction of source files held out for test.", DefaultValueFactory = _ => 0.02 };
        var noSnippets = new Option<bool>("--no-snippets") { Description = "Only whole-file samples (no function/class-level snippets)." };
        var shardTokens = new Option<long>("--shard-tokens") { Description = "Tokens per shard (a shard closes after the sample that reaches it).", DefaultValueFactory = _ => 8_000_000 };
        var force = new Option<bool>("--force") { Description = "Rebuild even if the output is complete and up to date." };
        var trainTokenizer = new Option<string?>("--train-tokenizer") { Description = "Train a byte-level BPE on the source files, save it (Hugging Face layout) in this folder, and stop." };
        var vocabSize = new Option<int>("--vocab-size") { Description = "Vocabulary size of a trained tokenizer (incl. 3 special tokens and 256 bytes).", DefaultValueFactory = _ => 8192 };
        var bench = new Option<bool>("--bench") { Description = "Benchmark: time our labelling of every source file (tokenize + parse + label) and bench/label_throughput.py on the same files; print both and the ratio." };
        var command = new Command("prepare", "Build the training corpus: tokenize and label .py files into memory-mappable shards with a manifest.");
        foreach (var option in new Option[] { source, output, tokenizer, context, seed, valid, test, noSnippets, shardTokens, force, trainTokenizer, vocabSize, bench })
            command.Options.Add(option);
        command.SetAction(parse =>
        {
            string? sourceDir = parse.GetValue(source) ?? RepositoryPaths.PythonStdlib();
            if (sourceDir == null || !Directory.Exists(sourceDir))
            {
                Console.Error.WriteLine("ancoder prepare: source folder not found (give --source; python3's stdlib was not found)");
                return 2;
            }
            if (parse.GetValue(trainTokenizer) is string outDir)
            {
                var result = TokenizerTraining.TrainOnDirectory(sourceDir, outDir, parse.GetValue(vocabSize));
                Console.WriteLine($"trained {result.Tokenizer.VocabSize} ids ({result.Tokenizer.MergeCount} merges) on {result.Files} files, "
                    + $"{result.Bytes / 1e6:F1} MB, {result.DistinctPieces} distinct pieces: counting {result.CountTime.TotalSeconds:F1} s, "
                    + $"merging {result.MergeTime.TotalSeconds:F1} s -> {outDir}");
                return 0;
            }
            string? tokenizerDir = parse.GetValue(tokenizer);
            ByteLevelBpe bpe;
            try
            {
                bpe = tokenizerDir is null ? DefaultTokenizer.Load() : HfTokenizerFiles.Load(tokenizerDir);
            }
            catch (Exception e) when (e is IOException or InvalidDataException or JsonException)
            {
                Console.Error.WriteLine($"ancoder prepare: cannot load the tokenizer: {e.Message}");
                return 2;
            }
            if (parse.GetValue(bench)) return Benchmark(sourceDir, tokenizerDir, bpe);
            string outputDir = parse.GetValue(output) ?? Path.Combine(RepositoryPaths.FindRoot() ?? Environment.CurrentDirectory, "data", "prepared");
            var options = new PrepareOptions
            {
                SourceDirectory = sourceDir, OutputDirectory = outputDir, Tokenizer = bpe, TokenizerName = tokenizerDir ?? DefaultTokenizer.Name,
                ContextLength = parse.GetValue(context), Seed = parse.GetValue(seed), ValidFraction = parse.GetValue(valid),
                TestFraction = parse.GetValue(test), Snippets = !parse.GetValue(noSnippets), ShardTokens = parse.GetValue(shardTokens),
                Force = parse.GetValue(force),
            };
            return Prepare(options);
        });
        return command;
    }

    private static int Prepare(PrepareOptions options)
    {
        var files = CorpusFiles.Enumerate(options.SourceDirectory);
        if (!options.Force && CorpusBuilder.IsUpToDate(options, files, out var current))
        {
            AnsiConsole.MarkupLine($"[green]up to date[/]: {Markup.Escape(Path.Combine(options.OutputDirectory, CorpusBuilder.ManifestFile))} ({current!.Totals.Tokens:N0} tokens); --force rebuilds");
            return 0;
        }
        Manifest? manifest = null;
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(context =>
            {
                var task = context.AddTask($"labelling {files.Count} files", maxValue: files.Count);
                manifest = CorpusBuilder.Build(options with { Force = true }, p =>
                {
                    task.Value = p.FilesDone;
                    task.Description = $"labelling: {p.FilesDone}/{p.FilesTotal} files, {p.Tokens:N0} tokens";
                });
            });
        var m = manifest!;
        var table = new Table().AddColumn("split").AddColumn("files").AddColumn("samples (file + snippet)").AddColumn("prompted").AddColumn("tokens").AddColumn("dups removed").AddColumn("shards");
        foreach (var (name, split) in m.Splits)
            table.AddRow(name, $"{split.Files:N0}", $"{split.Samples:N0} ({split.FileSamples:N0} + {split.SnippetSamples:N0})", $"{split.PromptedSamples:N0}",
                $"{split.Tokens:N0}", $"{split.DuplicatesRemoved:N0}", $"{split.Shards.Count}");
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"{m.Files.Found} files: {m.Files.Labelled} labelled, {m.Files.ParseFailures} parse failures (weights 0), "
            + $"{m.Files.Unreadable.Count} unreadable, {m.Files.Undecodable.Count} undecodable (skipped); "
            + $"{m.Totals.SourceBytes / 1e6:F1} MB in {m.Totals.Seconds:F1} s = {m.Totals.SourceMBPerSecond:F2} MB/s, {m.Totals.TokensPerSecond:N0} tokens/s");
        foreach (var failure in m.Files.ParseFailed.Concat(m.Files.Undecodable).Concat(m.Files.Unreadable))
            AnsiConsole.MarkupLine($"  [grey]{Markup.Escape(failure.Path)}: {Markup.Escape(failure.Reason)}[/]");
        AnsiConsole.MarkupLine($"manifest: {Markup.Escape(Path.Combine(options.OutputDirectory, CorpusBuilder.ManifestFile))}");
        return 0;
    }

    /// <summary>Same work on both sides: read each file, tokenize with the BPE, parse, label every token (node, depth,
    /// flags). Files in memory; one warm-up pass for .NET, then the timed pass.</summary>
    private static int Benchmark(string sourceDir, string? tokenizerDir, ByteLevelBpe bpe)
    {
        var files = CorpusFiles.Enumerate(sourceDir);
        var contents = files.Select(f => CorpusFiles.TryRead(f, out _) ?? []).ToList();
        long bytes = contents.Sum(c => (long)c.Length);
        long Run()
        {
            long tokens = 0;
            Parallel.ForEach(contents, () => 0L, (content, _, local) => local + LabelledSource.Create(content, bpe).Labels.Length,
                local => Interlocked.Add(ref tokens, local));
            return tokens;
        }
        var clock = Stopwatch.StartNew();
        Run();
        Console.WriteLine($"ancoder warm-up pass (cold start, JIT): {clock.Elapsed.TotalSeconds:F2} s");
        clock.Restart();
        long ourTokens = Run();
        double ours = clock.Elapsed.TotalSeconds;
        Console.WriteLine($"ancoder (in-process, {Environment.ProcessorCount} threads): {files.Count} files, {bytes / 1e6:F1} MB, {ourTokens:N0} tokens in {ours:F2} s = {bytes / 1e6 / ours:F2} MB/s, {ourTokens / ours:N0} tokens/s");

        string? root = RepositoryPaths.FindRoot();
        string script = Path.Combine(root ?? ".", "bench", "label_throughput.py");
        string tokenizerPath = tokenizerDir ?? DefaultTokenizer.Directory;
        if (Environment.GetEnvironmentVariable("ANCODER_BENCH_NO_PYTHON") == "1") return 0;
        var info = new ProcessStartInfo("python3", [script, "--tokenizer", tokenizerPath, "--processes", Environment.ProcessorCount.ToString(), sourceDir])
        {
            RedirectStandardOutput = true, UseShellExecute = false,
        };
        using var process = Process.Start(info)!;
        string report = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            Console.Error.WriteLine($"ancoder prepare --bench: {script} failed (exit {process.ExitCode})");
            return 1;
        }
        using var json = JsonDocument.Parse(report);
        double pySeconds = json.RootElement.GetProperty("seconds").GetDouble();
        long pyTokens = json.RootElement.GetProperty("tokens").GetInt64();
        Console.WriteLine($"python3 ast+tokenize ({json.RootElement.GetProperty("processes").GetInt32()} processes): {pyTokens:N0} tokens in {pySeconds:F2} s = {bytes / 1e6 / pySeconds:F2} MB/s, {pyTokens / pySeconds:N0} tokens/s");
        if (pyTokens != ourTokens) Console.WriteLine($"note: token counts differ ({ourTokens} vs {pyTokens})");
        Console.WriteLine($"ratio: {pySeconds / ours:F1}x");
        return 0;
    }
}
