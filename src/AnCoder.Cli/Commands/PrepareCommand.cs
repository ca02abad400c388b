using System.CommandLine;
using System.Diagnostics;
using AnCoder.Anchoring.Corpus;
using AnCoder.Anchoring.Labels;
using AnCoder.Anchoring.Tokenization;
using AnCoder.Experiments.Benchmarks;
using Spectre.Console;

namespace AnCoder.Cli.Commands;

/// <summary>
/// <c>ancoder prepare</c>: builds the labelled training corpus (shards + manifest + removed.tsv) from sources of .py
/// files (default: python3's stdlib); the work is <see cref="CorpusBuilder"/>'s (docs/corpus.md). <c>--train-tokenizer DIR</c> trains a byte-level BPE instead; <c>--bench</c> times
/// the labelling against bench/label_throughput.py (CPython ast + tokenize + the same tokenizer) in the same run.
/// </summary>
public static class PrepareCommand
{
    public static Command Create()
    {
        var source = new Option<string[]>("--source") { Description = "What to build from; repeatable: `stdlib` (python3's standard library, the default), `site` (every site-packages/dist-packages folder of the machine's python3s) or a folder of .py files. Earlier sources win duplicates.", AllowMultipleArgumentsPerToken = false };
        var output = new Option<string?>("--out") { Description = "Output folder for shards, manifest.json and removed.tsv. Default: <repo>/data/prepared (with --sft: <repo>/data/sft)." };
        var sft = new Option<bool>("--sft") { Description = "Write fine-tuning pairs instead: every function with a docstring and a real body, prompt = imports + signature + docstring (conditioning), completion = body (docs/corpus.md)." };
        var keepUnread = new Option<bool>("--sft-keep-unread-parameters") { Description = "With --sft: keep pairs whose body reads none of the function's parameters (removed by default, as pair_ignores_parameters; docs/corpus.md)." };
        var sftShape = SettingOption.Create("--sft-shape", AnCoder.Anchoring.Settings.SettingOverrides.Describe<PrepareOptions>().Single(s => s.Property.Name == nameof(PrepareOptions.SftShape)).Help!, SftShape.HumanEval);
        var tokenizer = TokenizerOption.Create();
        var context = new Option<int>("--context") { Description = "Context length the loader packs/truncates samples to (recorded; with --sft, longer pairs are removed).", DefaultValueFactory = _ => 1024 };
        var seed = new Option<int>("--seed") { Description = "Seed of the split by package.", DefaultValueFactory = _ => 0 };
        var valid = new Option<double>("--valid-fraction") { Description = "Fraction of packages held out for validation.", DefaultValueFactory = _ => 0.02 };
        var test = new Option<double>("--test-fraction") { Description = "Fraction of packages held out for test.", DefaultValueFactory = _ => 0.02 };
        var noSnippets = new Option<bool>("--no-snippets") { Description = "Only whole-file samples (no function/class-level snippets)." };
        var shardTokens = new Option<long>("--shard-tokens") { Description = "Tokens per shard (a shard closes after the sample that reaches it).", DefaultValueFactory = _ => 8_000_000 };
        var maxFileBytes = new Option<long>("--max-file-bytes") { Description = "Files larger than this are removed.", DefaultValueFactory = _ => 1_000_000 };
        var datasets = new Option<string?>("--datasets") { Description = "Folder with humaneval/HumanEval.jsonl.gz and mbpp/mbpp.jsonl to decontaminate against. Default: $ANCODER_DATA, else shared/datasets beside the repository." };
        var noDecontaminate = new Option<bool>("--no-decontaminate") { Description = "Skip benchmark decontamination." };
        var noNearDedup = new Option<bool>("--no-near-dedup") { Description = "Skip near-duplicate removal (MinHash + LSH)." };
        var force = new Option<bool>("--force") { Description = "Rebuild even if the output is complete and up to date." };
        var trainTokenizer = new Option<string?>("--train-tokenizer") { Description = "Train a byte-level BPE on the sources' .py files, save it (Hugging Face layout) in this folder, and stop." };
        var vocabSize = new Option<int>("--vocab-size") { Description = "Vocabulary size of a trained tokenizer (incl. 3 special tokens and 256 bytes).", DefaultValueFactory = _ => 8192 };
        var bench = new Option<bool>("--bench") { Description = "Benchmark: time our labelling of every source file (tokenize + parse + label) and bench/label_throughput.py on the same files; print both and the ratio." };
        var command = new Command("prepare", "Build the training corpus: filter, deduplicate, decontaminate, tokenize and label .py files into memory-mappable shards with a manifest.");
        foreach (var option in new Option[] { source, output, sft, keepUnread, sftShape, tokenizer, context, seed, valid, test, noSnippets, shardTokens, maxFileBytes, datasets, noDecontaminate, noNearDedup, force, trainTokenizer, vocabSize, bench })
            command.Options.Add(option);
        command.SetAction(parse =>
        {
            List<CorpusSource> sources;
            try
            {
                string[] specs = parse.GetValue(source) is { Length: > 0 } given ? given : [SourceSpecs.Stdlib];
                sources = SourceSpecs.Resolve(specs);
            }
            catch (ArgumentException e)
            {
                Console.Error.WriteLine($"ancoder prepare: {e.Message}");
                return 2;
            }
            if (parse.GetValue(trainTokenizer) is string outDir)
            {
                var paths = CorpusSources.Enumerate(sources).Select(f => f.FullPath).ToList();
                var result = TokenizerTraining.TrainOnFiles(paths, outDir, parse.GetValue(vocabSize));
                Console.WriteLine($"trained {result.Tokenizer.VocabSize} ids ({result.Tokenizer.MergeCount} merges) on {result.Files} files, "
                    + $"{result.Bytes / 1e6:F1} MB, {result.DistinctPieces} distinct pieces: counting {result.CountTime.TotalSeconds:F1} s, "
                    + $"merging {result.MergeTime.TotalSeconds:F1} s -> {outDir}");
                return 0;
            }
            string? tokenizerDir = parse.GetValue(tokenizer);
            if (TokenizerOption.Load(tokenizerDir, "prepare") is not { } bpe) return 2;
            if (parse.GetValue(bench)) return LabellingBenchmark.Run(sources[0].Root, tokenizerDir, bpe, Console.Out, Console.Error);
            string root = RepositoryPaths.FindRoot() ?? Environment.CurrentDirectory;
            string outputDir = parse.GetValue(output) ?? (parse.GetValue(sft) ? RepositoryPaths.DefaultSftData : RepositoryPaths.DefaultPreparedData);
            string? datasetsDir = null;
            if (!parse.GetValue(noDecontaminate))
            {
                datasetsDir = AnCoder.Evaluation.Benchmarks.DatasetLocator.Find(parse.GetValue(datasets), root) ?? parse.GetValue(datasets) ?? Path.Combine(root, "..", "shared", "datasets");
                if (!File.Exists(Path.Combine(datasetsDir, BenchmarkTexts.HumanEvalFile)) || !File.Exists(Path.Combine(datasetsDir, BenchmarkTexts.MbppFile)))
                {
                    Console.Error.WriteLine($"ancoder prepare: {datasetsDir}: no {BenchmarkTexts.HumanEvalFile} and {BenchmarkTexts.MbppFile} to decontaminate against (give --datasets DIR, or --no-decontaminate)");
                    return 2;
                }
            }
            var options = new PrepareOptions
            {
                Sources = sources, OutputDirectory = outputDir, Tokenizer = bpe, TokenizerName = tokenizerDir ?? DefaultTokenizer.Name,
                ContextLength = parse.GetValue(context), Seed = parse.GetValue(seed), ValidFraction = parse.GetValue(valid),
                TestFraction = parse.GetValue(test), Snippets = !parse.GetValue(noSnippets), ShardTokens = parse.GetValue(shardTokens),
                Force = parse.GetValue(force), MaxFileBytes = parse.GetValue(maxFileBytes), DatasetsDirectory = datasetsDir,
                NearDeduplicate = !parse.GetValue(noNearDedup), Sft = parse.GetValue(sft),
                SftRequireParameterRead = !parse.GetValue(keepUnread), SftShape = parse.GetValue(sftShape),
            };
            try
            {
                return Prepare(options);
            }
            catch (InvalidDataException e)
            {
                Console.Error.WriteLine($"ancoder prepare: {e.Message}");
                return 2;
            }
        });
        return command;
    }

    private static int Prepare(PrepareOptions options)
    {
        if (!options.Force && CorpusBuilder.IsUpToDate(options, out var current))
        {
            AnsiConsole.MarkupLine($"[green]up to date[/]: {Markup.Escape(Path.Combine(options.OutputDirectory, CorpusBuilder.ManifestFile))} ({current!.Totals.Tokens:N0} tokens); --force rebuilds");
            return 0;
        }
        Manifest? manifest = null;
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new SpinnerColumn())
            .Start(context =>
            {
                var tasks = new Dictionary<string, ProgressTask>();
                manifest = CorpusBuilder.Build(options with { Force = true }, p =>
                {
                    if (!tasks.TryGetValue(p.Stage, out var task)) tasks[p.Stage] = task = context.AddTask(p.Stage, maxValue: Math.Max(1, p.FilesTotal));
                    task.Value = p.FilesDone;
                    task.Description = $"{p.Stage}: {p.FilesDone:N0}/{p.FilesTotal:N0} files";
                });
            });
        Report(manifest!, options);
        return 0;
    }

    private static void Report(Manifest m, PrepareOptions options)
    {
        foreach (var s in m.Sources!)
        {
            string removed = string.Join(", ", s.Removed.Where(r => r.Value > 0).Select(r => $"{r.Key} {r.Value:N0}"));
            AnsiConsole.MarkupLine(Markup.Escape($"{s.Name}: {s.FilesFound:N0} files ({s.BytesFound / 1e6:F1} MB) -> {s.FilesKept:N0} kept ({s.BytesKept / 1e6:F1} MB, "
                + $"{s.FileTokens:N0} file tokens, {s.Tokens:N0} sample tokens); removed: {(removed.Length == 0 ? "none" : removed)}"));
        }
        var table = new Table().AddColumn("split").AddColumn("packages").AddColumn("files").AddColumn(options.Sft ? "pairs" : "samples (file + snippet)")
            .AddColumn(options.Sft ? "prompt / completion tokens" : "prompted").AddColumn("tokens").AddColumn("dups removed").AddColumn("shards");
        foreach (var (name, split) in m.Splits)
            table.AddRow(name, $"{split.Packages?.Count ?? 0:N0}", $"{split.Files:N0}",
                options.Sft ? $"{split.Samples:N0}" : $"{split.Samples:N0} ({split.FileSamples:N0} + {split.SnippetSamples:N0})",
                options.Sft ? $"{split.PromptTokens:N0} / {split.CompletionTokens:N0}" : $"{split.PromptedSamples:N0}",
                $"{split.Tokens:N0}", $"{split.DuplicatesRemoved:N0}", $"{split.Shards.Count}");
        AnsiConsole.Write(table);
        if (m.Sft is { } sft)
            AnsiConsole.MarkupLine($"{sft.Pairs:N0} pairs{(sft.MbppPairs is { } mbpp ? $" ({mbpp:N0} in MBPP's shape)" : "")} from {sft.FunctionsSeen:N0} documented functions; mean prompt {sft.MeanPromptTokens:F1} tokens, mean completion {sft.MeanCompletionTokens:F1} tokens");
        AnsiConsole.MarkupLine($"{m.Files.Found:N0} files, {m.Files.Labelled:N0} kept; {m.Totals.SourceBytes / 1e6:F1} MB kept, {m.Totals.Tokens:N0} tokens in {m.Totals.Seconds:F1} s"
            + (options.DatasetsDirectory is null ? "; [yellow]no decontamination[/]" : ""));
        AnsiConsole.MarkupLine($"manifest: {Markup.Escape(Path.Combine(options.OutputDirectory, CorpusBuilder.ManifestFile))}; removed files: {Markup.Escape(Path.Combine(options.OutputDirectory, CorpusBuilder.RemovedFile))}");
    }
}
