using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using AnCoder.Anchoring.Labels;
using AnCoder.Anchoring.Settings;
using AnCoder.Anchoring.Shards;
using AnCoder.Anchoring.Tokenization;
using AnCoder.Syntax.Ast;
using AnCoder.Syntax.Text;

namespace AnCoder.Anchoring.Corpus;

/// <summary>
/// Builds the training corpus (<c>ancoder prepare</c>; docs/corpus.md): reads every .py file of the sources, removes
/// files over the size cap, exact duplicates (SHA-256), files our parser rejects, generated/data-like files
/// (<see cref="DataLikeRule"/>), files containing HumanEval/MBPP text (<see cref="Decontaminator"/>) and
/// near-duplicates (<see cref="MinHash"/>), in that order; labels the rest (whole file and function/class snippets,
/// or fine-tuning pairs with <see cref="PrepareOptions.Sft"/>), splits by package (seeded), and writes shards, the
/// manifest, and removed.tsv (every removed file or pair with its reason and evidence). Labels are computed on the
/// untruncated sample; packing/truncation to the context length happens in <see cref="DataLoader"/>.
/// Deterministic: the same inputs give byte-identical shards.
/// </summary>
public static class CorpusBuilder
{
    public const string ManifestFile = "manifest.json";
    public const string RemovedFile = "removed.tsv";

    /// <param name="Stage">reading, scanning, labelling or writing.</param>
    public sealed record Progress(int FilesDone, int FilesTotal, long Tokens, string Stage = "labelling");

    private sealed record Removal(string Reason, string Item, string Detail);

    /// <summary>What the scan of one file found (everything but the labels).</summary>
    private sealed class FileState
    {
        public required CorpusFile File;
        public byte[]? Bytes;
        public long Size;
        public string? Hash;
        public string? Removed;
        public string? Detail;
        public uint[]? Signature;
        public string Split = Splits.Train;
        public List<(string Hash, ShardSample Sample, bool Snippet, string? Name)> Samples = new();
        public long FileTokens;
        public int SnippetsUnparsable, FunctionsSeen;
        public List<Removal> PairRemovals = new();
        public List<(string Name, SftPair Pair)> Pairs = new();
    }

    /// <summary>True if the manifest in the output folder describes a complete build of these options and every
    /// shard it lists is present with its checksum.</summary>
    public static bool IsUpToDate(PrepareOptions options, out Manifest? manifest) =>
        IsUpToDate(options, CorpusSources.Enumerate(options.EffectiveSources).Select(f => f.FullPath).ToList(), out manifest);

    public static bool IsUpToDate(PrepareOptions options, IReadOnlyList<string> files, out Manifest? manifest)
    {
        manifest = TryReadManifest(options.OutputDirectory);
        if (manifest is null || manifest.ConfigHash != ConfigHash(options, CorpusSources.Enumerate(options.EffectiveSources))) return false;
        foreach (var split in manifest.Splits.Values)
        {
            foreach (var shard in split.Shards)
            {
                string path = Path.Combine(options.OutputDirectory, shard.File);
                if (!File.Exists(path) || new FileInfo(path).Length != shard.Bytes) return false;
                try
                {
                    using var reader = new ShardReader(path);
                }
                catch (ShardFormatException)
                {
                    return false;
                }
            }
        }
        return true;
    }

    public static Manifest? TryReadManifest(string directory)
    {
        string path = Path.Combine(directory, ManifestFile);
        if (!File.Exists(path)) return null;
        try
        {
            return JsonSerializer.Deserialize<Manifest>(File.ReadAllText(path), Manifest.JsonOptions);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public static Manifest Build(PrepareOptions options, Action<Progress>? progress = null)
    {
        if (!options.Sft && options.SftShape != SftShape.HumanEval)
            throw new InvalidDataException($"sft shape {SettingNames.Name(options.SftShape)} applies to fine-tuning pairs only (give --sft)");
        var clock = Stopwatch.StartNew();
        var sources = options.EffectiveSources;
        var files = CorpusSources.Enumerate(sources);
        if (!options.Force && IsUpToDate(options, out var existing)) return existing!;
        var decontaminator = options.DatasetsDirectory is { } datasets ? Decontaminator.Load(datasets) : null;

        Directory.CreateDirectory(options.OutputDirectory);
        // A previous build (complete or interrupted) is removed before writing: its manifest first, so no
        // half-replaced set of shards is ever described by a manifest.
        File.Delete(Path.Combine(options.OutputDirectory, ManifestFile));
        foreach (string stale in Directory.EnumerateFiles(options.OutputDirectory, "*" + ShardFormat.Extension + "*")) File.Delete(stale);

        var states = files.Select(f => new FileState { File = f }).ToArray();
        int total = states.Length;

        // 1. Read and hash; size cap.
        RunParallel(states, "reading", progress, state =>
        {
            long size = new FileInfo(state.File.FullPath).Length;
            state.Size = size;
            if (size > options.MaxFileBytes) { Remove(state, RemovalReasons.TooLarge, $"{size} bytes"); return; }
            state.Bytes = CorpusFiles.TryRead(state.File.FullPath, out string? problem);
            if (state.Bytes is null) { Remove(state, RemovalReasons.Unreadable, problem!); return; }
            state.Hash = Hash(state.Bytes);
        });
        // 2. Exact duplicates: the first copy in source/path order stays.
        var firstByHash = new Dictionary<string, FileState>();
        foreach (var state in states)
        {
            if (state.Removed != null) continue;
            if (firstByHash.TryGetValue(state.Hash!, out var first)) { Remove(state, RemovalReasons.ExactDuplicate, first.File.Id); state.Bytes = null; }
            else firstByHash[state.Hash!] = state;
        }
        // 3. Parse, data-like rule, decontamination, MinHash signature.
        var undecodable = new List<NamedProblem>();
        RunParallel(states, "scanning", progress, state =>
        {
            if (state.Removed != null) return;
            if (!SourceText.TryDecode(state.Bytes!, out var text, out var decodeError))
            {
                Remove(state, RemovalReasons.ParseError, "undecodable: " + decodeError!.Message);
                return;
            }
            var parsed = AnCoder.Syntax.PythonParser.Parse(state.Bytes!);
            if (!parsed.Success)
            {
                Remove(state, RemovalReasons.ParseError, parsed.Error is { } e ? $"{e.Message} ({e.Line}:{e.Column})" : "parse failed");
                return;
            }
            var scan = CodeScan.Scan(text!.Utf8);
            if (DataLikeRule.Check(scan) is { } dataLike) { Remove(state, RemovalReasons.DataLike, dataLike); return; }
            if (decontaminator?.Find(scan.Tokens) is { Count: > 0 } matches)
            {
                Remove(state, RemovalReasons.Contaminated, string.Join("; ", matches.Take(5)));
                return;
            }
            if (options.NearDeduplicate) state.Signature = MinHash.Signature(scan.Tokens);
        });
        foreach (var state in states)
            if (state.Removed == RemovalReasons.ParseError && state.Detail!.StartsWith("undecodable: ", StringComparison.Ordinal))
                undecodable.Add(new NamedProblem(state.File.Id, state.Detail["undecodable: ".Length..]));
        // 4. Near-duplicates, in corpus order.
        var index = new NearDuplicateIndex();
        var indexed = new List<FileState>();
        foreach (var state in states)
        {
            if (state.Removed != null || state.Signature is null) continue;
            int twin = index.FindOrAdd(state.Signature);
            if (twin >= 0) { Remove(state, RemovalReasons.NearDuplicate, indexed[twin].File.Id); state.Bytes = null; }
            else indexed.Add(state);
            state.Signature = null;
        }
        // 5. Split by package; label.
        var packageBytes = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var state in states)
            if (state.Removed == null) packageBytes[state.File.Package] = packageBytes.GetValueOrDefault(state.File.Package) + state.Size;
        var assignment = AssignSplits(packageBytes, options.Seed, options.ValidFraction, options.TestFraction);
        foreach (var state in states) state.Split = assignment.GetValueOrDefault(state.File.Package, Splits.Train);
        RunParallel(states, "labelling", progress, state =>
        {
            if (state.Removed != null) return;
            if (options.Sft) LabelPairs(options, state, decontaminator);
            else LabelFile(options, state);
            state.Bytes = null;
        });

        // 6. Shards, in corpus order; sample duplicates (a snippet equal to a file, a pair seen before) are dropped.
        var writers = Splits.All.ToDictionary(s => s, s => new SplitWriter(options, s));
        var packages = Splits.All.ToDictionary(s => s, _ => new SortedSet<string>(StringComparer.Ordinal));
        var seen = new HashSet<string>();
        var removals = new List<Removal>();
        long duplicates = 0, tokens = 0, snippetsUnparsable = 0, sourceBytes = 0, functionsSeen = 0, mbppPairs = 0;
        var kept = new List<ManifestFile>();
        var examples = new List<SftExample>();
        foreach (var state in states)
        {
            if (state.Removed != null) { removals.Add(new Removal(state.Removed, state.File.Id, state.Detail!)); continue; }
            removals.AddRange(state.PairRemovals);
            var writer = writers[state.Split];
            writer.Files++;
            packages[state.Split].Add(state.File.Package);
            sourceBytes += state.Size;
            snippetsUnparsable += state.SnippetsUnparsable;
            functionsSeen += state.FunctionsSeen;
            long fileSampleTokens = 0;
            foreach (var (hash, sample, snippet, name) in state.Samples)
            {
                if (!seen.Add(hash))
                {
                    duplicates++;
                    writer.Duplicates++;
                    if (options.Sft) removals.Add(new Removal(RemovalReasons.PairDuplicate, $"{state.File.Id}:{name}", "same tokens as an earlier pair"));
                    continue;
                }
                writer.Add(sample, snippet);
                if (options.Sft && name!.Contains(SftPairs.MbppNameSuffix, StringComparison.Ordinal)) mbppPairs++;
                tokens += sample.Ids.Length;
                fileSampleTokens += sample.Ids.Length;
                if (options.Sft && state.Split == Splits.Train && examples.Count < 3 && state.Pairs.FirstOrDefault(p => p.Name == name).Pair is { } pair)
                    examples.Add(new SftExample(state.File.Id, name!, pair.Prompt, pair.Completion));
            }
            kept.Add(new ManifestFile(state.File.RelativePath, state.File.Source.Name, state.File.Package, state.Split, state.Size, fileSampleTokens));
            state.Samples.Clear();
            state.Pairs.Clear();
        }
        foreach (var writer in writers.Values) writer.Flush();
        progress?.Invoke(new Progress(total, total, tokens, "writing"));

        var removedCounts = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var removal in removals) removedCounts[removal.Reason] = removedCounts.GetValueOrDefault(removal.Reason) + 1;
        WriteRemovals(Path.Combine(options.OutputDirectory, RemovedFile), removals);

        double seconds = clock.Elapsed.TotalSeconds;
        var parseFailed = states.Where(s => s.Removed == RemovalReasons.ParseError && !s.Detail!.StartsWith("undecodable: ", StringComparison.Ordinal))
            .Select(s => new NamedProblem(s.File.Id, s.Detail!)).ToList();
        var unreadable = states.Where(s => s.Removed == RemovalReasons.Unreadable).Select(s => new NamedProblem(s.File.Id, s.Detail!)).ToList();
        var splits = writers.ToDictionary(w => w.Key, w => w.Value.Summary() with { Packages = packages[w.Key].ToList() });
        var manifest = new Manifest
        {
            Kind = options.Sft ? CorpusKinds.Sft : CorpusKinds.Pretrain,
            ConfigHash = ConfigHash(options, files),
            Config = Config(options),
            Files = new ManifestFiles(files.Count, kept.Count, parseFailed.Count, parseFailed, unreadable, undecodable),
            Splits = splits,
            Totals = new ManifestTotals(sourceBytes, writers.Values.Sum(w => w.Samples), tokens, duplicates, snippetsUnparsable,
                Math.Round(seconds, 3), Math.Round(sourceBytes / 1e6 / seconds, 3), Math.Round(tokens / seconds)),
            Sources = SourceSummaries(sources, states, kept),
            Removed = new Dictionary<string, long>(removedCounts),
            Filters = new ManifestFilters(options.MaxFileBytes, MinHash.ShingleSize, MinHash.Permutations, MinHash.Bands.Bands, MinHash.Bands.Rows,
                MinHash.Threshold, DataLikeRule.MaxLiteralShare, DataLikeRule.MinCountedTokens, DataLikeRule.MaxMeanLineLength,
                DataLikeRule.MaxLineLength, Decontaminator.N, Decontaminator.MinOverlap, decontaminator?.Parts ?? 0, decontaminator?.SkippedParts ?? 0),
            Sft = options.Sft ? SftSummary(splits, functionsSeen, examples) with { MbppPairs = options.SftShape == SftShape.HumanEval ? null : mbppPairs } : null,
            KeptFiles = kept,
        };
        AtomicFile.WriteAllText(Path.Combine(options.OutputDirectory, ManifestFile), JsonSerializer.Serialize(manifest, Manifest.JsonOptions));
        return manifest;
    }

    private static void Remove(FileState state, string reason, string detail)
    {
        state.Removed = reason;
        state.Detail = detail;
    }

    private static void RunParallel(FileState[] states, string stage, Action<Progress>? progress, Action<FileState> work)
    {
        int done = 0;
        const int Batch = 256;
        for (int start = 0; start < states.Length; start += Batch)
        {
            int count = Math.Min(Batch, states.Length - start);
            Parallel.For(start, start + count, i => work(states[i]));
            done += count;
            progress?.Invoke(new Progress(done, states.Length, 0, stage));
        }
    }

    private static void WriteRemovals(string path, List<Removal> removals)
    {
        var text = new StringBuilder("reason\titem\tdetail\n");
        foreach (var r in removals) text.Append(r.Reason).Append('\t').Append(Clean(r.Item)).Append('\t').Append(Clean(r.Detail)).Append('\n');
        AtomicFile.WriteAllText(path, text.ToString());
        static string Clean(string s) => s.Replace('\t', ' ').Replace('\n', ' ').Replace('\r', ' ');
    }

    private static List<ManifestSource> SourceSummaries(IReadOnlyList<CorpusSource> sources, FileState[] states, List<ManifestFile> kept)
    {
        var result = new List<ManifestSource>();
        foreach (var source in sources)
        {
            var mine = states.Where(s => ReferenceEquals(s.File.Source, source)).ToList();
            var keptHere = kept.Where(k => k.Source == source.Name).ToList();
            var removed = new SortedDictionary<string, long>(StringComparer.Ordinal);
            foreach (var s in mine)
            {
                if (s.Removed != null) removed[s.Removed] = removed.GetValueOrDefault(s.Removed) + 1;
                foreach (var r in s.PairRemovals) removed[r.Reason] = removed.GetValueOrDefault(r.Reason) + 1;
            }
            result.Add(new ManifestSource(source.Name, source.Root, mine.Count, mine.Sum(s => s.Size), keptHere.Count, keptHere.Sum(k => k.Bytes),
                mine.Where(s => s.Removed == null).Sum(s => s.FileTokens), keptHere.Sum(k => k.Tokens), new Dictionary<string, long>(removed)));
        }
        return result;
    }

    private static ManifestSft SftSummary(Dictionary<string, ManifestSplit> splits, long functionsSeen, List<SftExample> examples)
    {
        long pairs = splits.Values.Sum(s => s.Samples);
        long prompt = splits.Values.Sum(s => s.PromptTokens), completion = splits.Values.Sum(s => s.CompletionTokens);
        return new ManifestSft(pairs, pairs == 0 ? 0 : Math.Round((double)prompt / pairs, 2), pairs == 0 ? 0 : Math.Round((double)completion / pairs, 2),
            functionsSeen, examples);
    }

    private static ManifestConfig Config(PrepareOptions o) => new(
        string.Join(";", o.EffectiveSources.Select(s => s.Root)), o.TokenizerName,
        o.Tokenizer.ComputeHash(), o.Tokenizer.VocabSize, o.Tokenizer.EndOfTextId, o.Tokenizer.PadId, o.Tokenizer.MaskId,
        o.ContextLength, o.Seed, o.ValidFraction, o.TestFraction, o.Snippets, o.ShardTokens)
    {
        Sources = o.EffectiveSources.Select(s => s.Name == s.Root ? s.Root : $"{s.Name}={s.Root}").ToList(),
        MaxFileBytes = o.MaxFileBytes,
        Datasets = o.DatasetsDirectory is null ? null : Path.GetFullPath(o.DatasetsDirectory),
        NearDeduplicate = o.NearDeduplicate,
        Sft = o.Sft,
        SftRequireParameterRead = o.Sft ? o.SftRequireParameterRead : null,
        SftShape = o.Sft && o.SftShape != SftShape.HumanEval ? SettingNames.Name(o.SftShape) : null,
    };

    /// <summary>Hash of the configuration, of the input files' paths, sizes and modification times, and of the
    /// benchmark files' sizes.</summary>
    private static string ConfigHash(PrepareOptions options, IReadOnlyList<CorpusFile> files)
    {
        var text = new StringBuilder(JsonSerializer.Serialize(Config(options)));
        foreach (var file in files)
        {
            var info = new FileInfo(file.FullPath);
            text.Append('\n').Append(file.Id).Append('\t').Append(info.Exists ? info.Length : -1).Append('\t').Append(info.Exists ? info.LastWriteTimeUtc.Ticks : 0);
        }
        if (options.DatasetsDirectory is { } datasets)
            foreach (string name in new[] { BenchmarkTexts.HumanEvalFile, BenchmarkTexts.MbppFile })
            {
                var info = new FileInfo(Path.Combine(datasets, name));
                text.Append('\n').Append(name).Append('\t').Append(info.Exists ? info.Length : -1);
            }
        text.Append("\nformat ").Append(ShardFormat.Version).Append(" filters 2");
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    /// <summary>
    /// Splits by package (docs/corpus.md): packages are visited in a seeded order (<see cref="PackageOrderKey"/>);
    /// each joins validation while validation holds less than <paramref name="validFraction"/> of the kept bytes and
    /// the package fits the remaining target with half a target to spare, then test likewise; the rest is training.
    /// A package's files from every source share its split, so no held-out package has a copy in training, and no
    /// single huge package can take a held-out split over.
    /// </summary>
    public static Dictionary<string, string> AssignSplits(IReadOnlyDictionary<string, long> packageBytes, int seed, double validFraction, double testFraction)
    {
        long total = packageBytes.Values.Sum();
        var order = packageBytes.Keys.OrderBy(p => PackageOrderKey(p, seed)).ThenBy(p => p, StringComparer.Ordinal).ToList();
        var result = order.ToDictionary(p => p, _ => Splits.Train, StringComparer.Ordinal);
        foreach (var (split, fraction) in new[] { (Splits.Valid, validFraction), (Splits.Test, testFraction) })
        {
            double target = fraction * total;
            long held = 0;
            foreach (string package in order)
            {
                if (held >= target) break;
                if (result[package] != Splits.Train || packageBytes[package] > target - held + target / 2) continue;
                result[package] = split;
                held += packageBytes[package];
            }
        }
        return result;
    }

    /// <summary>The seeded position of a package in the split order: a uniform number in [0, 1) from SHA-256.</summary>
    public static double PackageOrderKey(string package, int seed)
    {
        byte[] hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{seed}\n{package.Replace('\\', '/')}"));
        return BitConverter.ToUInt64(hash, 0) / 18446744073709551616.0;
    }

    private static void LabelFile(PrepareOptions options, FileState state)
    {
        var source = LabelledSource.Create(state.Bytes!, options.Tokenizer);
        state.FileTokens = source.Labels.Length;
        state.Samples.Add((Hash(source.Bytes), ToSample(source, 0), false, null));
        if (options.Snippets && source.Module is { } module)
        {
            foreach (var (snippetBytes, isFunction) in Snippets(source, module))
            {
                var snippet = LabelledSource.Create(snippetBytes, options.Tokenizer);
                if (!snippet.Parsed) { state.SnippetsUnparsable++; continue; }
                int prompt = isFunction ? PromptLength(snippet) : 0;
                state.Samples.Add((Hash(snippetBytes), ToSample(snippet, prompt), true, null));
            }
        }
    }

    /// <summary>Fine-tuning pairs of a kept file: labelled with the prompt tokenized on its own; a pair containing
    /// benchmark text or longer than the context is removed (named in removed.tsv); duplicates are dropped when
    /// written (the key is the whitespace-insensitive token stream).</summary>
    private static void LabelPairs(PrepareOptions options, FileState state, Decontaminator? decontaminator)
    {
        SourceText.TryDecode(state.Bytes!, out var text, out _);
        var parsed = AnCoder.Syntax.PythonParser.Parse(state.Bytes!);
        if (!parsed.Success || text is null) return;
        var pairs = SftPairs.Extract(text, parsed.Module!, options.SftShape);
        // Documented functions that gave a pair in some shape: with both shapes, those of HumanEval's (a superset).
        state.FunctionsSeen = options.SftShape == SftShape.Both ? pairs.Count(p => p.Shape == SftShape.HumanEval) : pairs.Count;
        var names = new HashSet<string>();
        foreach (var pair in pairs)
        {
            string name = pair.Name;
            for (int k = 2; !names.Add(name); k++) name = $"{pair.Name}#{k}";
            string item = $"{state.File.Id}:{name}";
            if (options.SftRequireParameterRead && !pair.ReadsParameter)
            {
                state.PairRemovals.Add(new Removal(RemovalReasons.PairIgnoresParameters, item, "the body reads none of the parameters"));
                continue;
            }
            var scan = CodeScan.Scan(Encoding.UTF8.GetBytes(pair.Text));
            if (decontaminator?.Find(scan.Tokens) is { Count: > 0 } matches)
            {
                state.PairRemovals.Add(new Removal(RemovalReasons.PairContaminated, item, string.Join("; ", matches.Take(5))));
                continue;
            }
            byte[] bytes = Encoding.UTF8.GetBytes(pair.Text);
            int boundary = Encoding.UTF8.GetByteCount(pair.Prompt);
            var labelled = LabelledSource.Create(bytes, options.Tokenizer, boundary);
            if (!labelled.Parsed) { state.SnippetsUnparsable++; continue; }
            if (labelled.Labels.Length > options.ContextLength)
            {
                state.PairRemovals.Add(new Removal(RemovalReasons.PairTooLong, item, $"{labelled.Labels.Length} tokens > context {options.ContextLength}"));
                continue;
            }
            int promptTokens = 0;
            while (promptTokens < labelled.Labels.Length && labelled.Labels[promptTokens].End <= boundary) promptTokens++;
            var key = new byte[scan.Tokens.Length * 8];
            Buffer.BlockCopy(scan.Tokens, 0, key, 0, key.Length);
            state.Samples.Add((Hash(key), ToSample(labelled, promptTokens), true, name));
            state.Pairs.Add((name, pair));
        }
    }

    private static string Hash(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    private static ShardSample ToSample(LabelledSource source, int promptLength)
    {
        var labels = source.Labels;
        var ids = new int[labels.Length];
        var depths = new ushort[labels.Length];
        var flags = new TokenFlags[labels.Length];
        TokenFlags parsed = source.Parsed ? TokenFlags.Parsed : TokenFlags.None;
        for (int i = 0; i < labels.Length; i++)
        {
            ids[i] = labels[i].Id;
            depths[i] = (ushort)labels[i].Depth;
            flags[i] = parsed | (labels[i].Keyword ? TokenFlags.Keyword : 0) | (labels[i].Identifier ? TokenFlags.Identifier : 0);
        }
        return new ShardSample(ids, depths, flags, promptLength);
    }

    /// <summary>
    /// Module-level functions and classes, and methods of module-level classes: the lines from the first decorator
    /// to the end of the definition, dedented by the definition's column.
    /// </summary>
    internal static IEnumerable<(byte[] Bytes, bool IsFunction)> Snippets(LabelledSource source, Module module)
    {
        SourceText? text = source.Text;
        if (text is null) yield break;
        foreach (StmtNode statement in module.Body)
        {
            if (Definition(statement) is { } top)
            {
                yield return (Cut(text!, top.Node), top.IsFunction);
                if (statement is ClassDef classDef)
                {
                    foreach (StmtNode member in classDef.Body)
                    {
                        if (Definition(member) is { } method) yield return (Cut(text!, method.Node), method.IsFunction);
                    }
                }
            }
        }
    }

    private static (StmtNode Node, bool IsFunction)? Definition(StmtNode statement) => statement switch
    {
        FunctionDef or AsyncFunctionDef => (statement, true),
        ClassDef => (statement, false),
        _ => null,
    };

    private static byte[] Cut(SourceText text, StmtNode node)
    {
        int firstLine = node.Lineno;
        List<ExprNode> decorators = node switch
        {
            FunctionDef f => f.DecoratorList,
            AsyncFunctionDef f => f.DecoratorList,
            ClassDef c => c.DecoratorList,
            _ => [],
        };
        foreach (var decorator in decorators) firstLine = Math.Min(firstLine, ((PositionedNode)decorator).Lineno);
        int indent = node.ColOffset;
        var output = new List<byte>();
        byte[] utf8 = text.Utf8;
        for (int line = firstLine; line <= node.EndLineno; line++)
        {
            int start = text.LineStartOffset(line), end = text.LineStartOffset(line + 1);
            int skip = 0;
            while (skip < indent && start + skip < end && (utf8[start + skip] == ' ' || utf8[start + skip] == '\t')) skip++;
            if (skip < indent) skip = 0;
            for (int k = start + skip; k < end; k++) output.Add(utf8[k]);
        }
        return output.ToArray();
    }

    /// <summary>Tokens up to the end of the line that ends a function's docstring (signature + docstring = prompt).</summary>
    private static int PromptLength(LabelledSource snippet)
    {
        if (snippet.Module!.Body.Count == 0) return 0;
        var body = snippet.Module.Body[0] switch
        {
            FunctionDef f => f.Body,
            AsyncFunctionDef f => f.Body,
            _ => null,
        };
        if (body is null || body.Count == 0 || body[0] is not Expr { Value: Constant { Value: string } } docstring) return 0;
        int end = snippet.Shift + snippet.Text!.LineStartOffset(docstring.EndLineno + 1);
        int count = 0;
        foreach (var label in snippet.Labels)
        {
            if (label.End > end) break;
            count++;
        }
        return count;
    }

    private sealed class SplitWriter(PrepareOptions options, string split)
    {
        private readonly List<ShardSample> _buffer = new();
        private long _bufferTokens;
        private readonly List<ManifestShard> _shards = new();
        public int Files;
        public long Samples, FileSamples, SnippetSamples, Prompted, Tokens, Duplicates, PromptTokens;

        public void Add(ShardSample sample, bool snippet)
        {
            _buffer.Add(sample);
            _bufferTokens += sample.Ids.Length;
            Samples++;
            Tokens += sample.Ids.Length;
            if (snippet) SnippetSamples++; else FileSamples++;
            if (sample.PromptLength > 0) Prompted++;
            PromptTokens += Math.Min(sample.PromptLength, sample.Ids.Length);
            if (_bufferTokens >= options.ShardTokens) Flush();
        }

        public void Flush()
        {
            if (_buffer.Count == 0) return;
            string name = $"{split}-{_shards.Count:D5}{ShardFormat.Extension}";
            var (sha, length) = ShardFormat.Write(Path.Combine(options.OutputDirectory, name), _buffer, options.Tokenizer.VocabSize);
            _shards.Add(new ManifestShard(name, _buffer.Count, _bufferTokens, length, sha));
            _buffer.Clear();
            _bufferTokens = 0;
        }

        public ManifestSplit Summary() => new(Files, Samples, FileSamples, SnippetSamples, Prompted, Tokens, Duplicates, _shards)
        {
            PromptTokens = PromptTokens, CompletionTokens = Tokens - PromptTokens,
        };
    }
}

/// <summary>Opens the shards of a split as listed in a manifest (only those: leftovers of an interrupted run are ignored).</summary>
public static class ShardSet
{
    public static List<ShardReader> Open(string directory, string split, bool verifyChecksums = true)
    {
        var manifest = CorpusBuilder.TryReadManifest(directory)
                       ?? throw new ShardFormatException($"{directory}: no readable {CorpusBuilder.ManifestFile} (run `ancoder prepare`)");
        if (!manifest.Splits.TryGetValue(split, out var entry)) throw new ShardFormatException($"{directory}: no split `{split}`");
        var readers = new List<ShardReader>();
        try
        {
            foreach (var shard in entry.Shards)
            {
                string path = Path.Combine(directory, shard.File);
                if (!File.Exists(path)) throw new ShardFormatException($"{path}: missing (listed in the manifest)");
                var reader = new ShardReader(path, verifyChecksums);
                readers.Add(reader);
                if (reader.TokenCount != shard.Tokens || reader.SampleCount != shard.Samples)
                    throw new ShardFormatException($"{path}: does not match the manifest ({reader.SampleCount} samples/{reader.TokenCount} tokens, manifest {shard.Samples}/{shard.Tokens})");
            }
        }
        catch
        {
            foreach (var reader in readers) reader.Dispose();
            throw;
        }
        return readers;
    }
}
