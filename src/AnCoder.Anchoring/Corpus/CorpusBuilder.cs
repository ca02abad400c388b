using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using AnCoder.Anchoring.Labels;
using AnCoder.Anchoring.Shards;
using AnCoder.Anchoring.Tokenization;
using AnCoder.Syntax.Ast;
using AnCoder.Syntax.Text;

namespace AnCoder.Anchoring.Corpus;

public sealed record PrepareOptions
{
    public required string SourceDirectory { get; init; }
    public required string OutputDirectory { get; init; }
    public required ByteLevelBpe Tokenizer { get; init; }
    public required string TokenizerName { get; init; }
    public int ContextLength { get; init; } = 1024;
    public int Seed { get; init; } = 0;
    public double ValidFraction { get; init; } = 0.02;
    public double TestFraction { get; init; } = 0.02;
    /// <summary>Also emit function/class-level snippets (module-level defs and classes, and methods of classes).</summary>
    public bool Snippets { get; init; } = true;
    public long ShardTokens { get; init; } = 8_000_000;
    /// <summary>Rebuild even if the manifest says the output is complete and up to date.</summary>
    public bool Force { get; init; }
}

/// <summary>Split names.</summary>
public static class Splits
{
    public const string Train = "train", Valid = "valid", Test = "test";
    public static readonly string[] All = [Train, Valid, Test];
}

/// <summary>The manifest written beside the shards (manifest.json), last, atomically.</summary>
public sealed record Manifest
{
    public int Version { get; init; } = 1;
    public required string ConfigHash { get; init; }
    public required ManifestConfig Config { get; init; }
    public required ManifestFiles Files { get; init; }
    public required Dictionary<string, ManifestSplit> Splits { get; init; }
    public required ManifestTotals Totals { get; init; }

    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };
}

public sealed record ManifestConfig(string Source, string Tokenizer, string TokenizerHash, int VocabSize, int EosId, int PadId,
    int MaskId, int ContextLength, int Seed, double ValidFraction, double TestFraction, bool Snippets, long ShardTokens);

public sealed record NamedProblem(string Path, string Reason);

public sealed record ManifestFiles(int Found, int Labelled, int ParseFailures, List<NamedProblem> ParseFailed,
    List<NamedProblem> Unreadable, List<NamedProblem> Undecodable);

public sealed record ManifestShard(string File, long Samples, long Tokens, long Bytes, string Sha256);

public sealed record ManifestSplit(int Files, long Samples, long FileSamples, long SnippetSamples, long PromptedSamples,
    long Tokens, long DuplicatesRemoved, List<ManifestShard> Shards);

public sealed record ManifestTotals(long SourceBytes, long Samples, long Tokens, long DuplicatesRemoved, long SnippetsSkippedUnparsable,
    double Seconds, double SourceMBPerSecond, double TokensPerSecond);

/// <summary>
/// Builds the training corpus (<c>ancoder prepare</c>): labels every file (whole-file sample) and its
/// function/class-level snippets, removes exact duplicates, splits by source file (seeded), and writes shards plus
/// a manifest. Labels are computed on the untruncated sample; packing/truncation to the context length happens in
/// <see cref="DataLoader"/>. Deterministic: the same inputs give byte-identical shards.
/// </summary>
public static class CorpusBuilder
{
    public const string ManifestFile = "manifest.json";

    public sealed record Progress(int FilesDone, int FilesTotal, long Tokens);

    private sealed record FileResult(string RelativePath, string Split, long SourceBytes, List<(string Hash, ShardSample Sample, bool Snippet)> Samples,
        NamedProblem? Unreadable, NamedProblem? Undecodable, NamedProblem? ParseFailed, int SnippetsUnparsable);

    /// <summary>True if the manifest in the output folder describes a complete build of these options and every
    /// shard it lists is present with its checksum.</summary>
    public static bool IsUpToDate(PrepareOptions options, IReadOnlyList<string> files, out Manifest? manifest)
    {
        manifest = TryReadManifest(options.OutputDirectory);
        if (manifest is null || manifest.ConfigHash != ConfigHash(options, files)) return false;
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
        var clock = Stopwatch.StartNew();
        var files = CorpusFiles.Enumerate(options.SourceDirectory);
        if (!options.Force && IsUpToDate(options, files, out var existing)) return existing!;

        Directory.CreateDirectory(options.OutputDirectory);
        // A previous build (complete or interrupted) is removed before writing: its manifest first, so no
        // half-replaced set of shards is ever described by a manifest.
        File.Delete(Path.Combine(options.OutputDirectory, ManifestFile));
        foreach (string stale in Directory.EnumerateFiles(options.OutputDirectory, "*" + ShardFormat.Extension + "*")) File.Delete(stale);

        var bpe = options.Tokenizer;
        var writers = Splits.All.ToDictionary(s => s, s => new SplitWriter(options, s));
        var seen = new HashSet<string>();
        var unreadable = new List<NamedProblem>();
        var undecodable = new List<NamedProblem>();
        var parseFailed = new List<NamedProblem>();
        long sourceBytes = 0, duplicates = 0, snippetsUnparsable = 0, tokens = 0;
        int labelled = 0, done = 0;
        const int Batch = 256;
        for (int batchStart = 0; batchStart < files.Count; batchStart += Batch)
        {
            int count = Math.Min(Batch, files.Count - batchStart);
            var results = new FileResult[count];
            Parallel.For(0, count, i => results[i] = ProcessFile(options, files[batchStart + i]));
            foreach (var result in results)
            {
                done++;
                if (result.Unreadable != null) { unreadable.Add(result.Unreadable); continue; }
                if (result.Undecodable != null) { undecodable.Add(result.Undecodable); continue; }
                labelled++;
                if (result.ParseFailed != null) parseFailed.Add(result.ParseFailed);
                sourceBytes += result.SourceBytes;
                snippetsUnparsable += result.SnippetsUnparsable;
                var writer = writers[result.Split];
                writer.Files++;
                foreach (var (hash, sample, snippet) in result.Samples)
                {
                    if (!seen.Add(hash))
                    {
                        duplicates++;
                        writer.Duplicates++;
                        continue;
                    }
                    writer.Add(sample, snippet);
                    tokens += sample.Ids.Length;
                }
            }
            progress?.Invoke(new Progress(done, files.Count, tokens));
        }
        foreach (var writer in writers.Values) writer.Flush();

        double seconds = clock.Elapsed.TotalSeconds;
        var manifest = new Manifest
        {
            ConfigHash = ConfigHash(options, files),
            Config = Config(options),
            Files = new ManifestFiles(files.Count, labelled, parseFailed.Count, parseFailed, unreadable, undecodable),
            Splits = writers.ToDictionary(w => w.Key, w => w.Value.Summary()),
            Totals = new ManifestTotals(sourceBytes, writers.Values.Sum(w => w.Samples), tokens, duplicates, snippetsUnparsable,
                Math.Round(seconds, 3), Math.Round(sourceBytes / 1e6 / seconds, 3), Math.Round(tokens / seconds)),
        };
        AtomicFile.WriteAllText(Path.Combine(options.OutputDirectory, ManifestFile), JsonSerializer.Serialize(manifest, Manifest.JsonOptions));
        return manifest;
    }

    private static ManifestConfig Config(PrepareOptions o) => new(Path.GetFullPath(o.SourceDirectory), o.TokenizerName,
        o.Tokenizer.ComputeHash(), o.Tokenizer.VocabSize, o.Tokenizer.EndOfTextId, o.Tokenizer.PadId, o.Tokenizer.MaskId,
        o.ContextLength, o.Seed, o.ValidFraction, o.TestFraction, o.Snippets, o.ShardTokens);

    /// <summary>Hash of the configuration and of the input files' paths, sizes and modification times.</summary>
    private static string ConfigHash(PrepareOptions options, IReadOnlyList<string> files)
    {
        var text = new StringBuilder(JsonSerializer.Serialize(Config(options)));
        foreach (string file in files)
        {
            var info = new FileInfo(file);
            text.Append('\n').Append(file).Append('\t').Append(info.Exists ? info.Length : -1).Append('\t').Append(info.Exists ? info.LastWriteTimeUtc.Ticks : 0);
        }
        text.Append("\nformat ").Append(ShardFormat.Version);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    /// <summary>The split of a source file: a seeded hash of its path relative to the source folder.</summary>
    public static string SplitOf(string relativePath, int seed, double validFraction, double testFraction)
    {
        byte[] hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{seed}\n{relativePath.Replace('\\', '/')}"));
        double u = BitConverter.ToUInt64(hash, 0) / 18446744073709551616.0;
        return u < validFraction ? Splits.Valid : u < validFraction + testFraction ? Splits.Test : Splits.Train;
    }

    private static FileResult ProcessFile(PrepareOptions options, string path)
    {
        string relative = Path.GetRelativePath(options.SourceDirectory, path);
        string split = SplitOf(relative, options.Seed, options.ValidFraction, options.TestFraction);
        var samples = new List<(string, ShardSample, bool)>();
        byte[]? bytes = CorpusFiles.TryRead(path, out string? problem);
        if (bytes is null) return new FileResult(relative, split, 0, samples, new NamedProblem(relative, problem!), null, null, 0);
        if (!SourceText.TryDecode(bytes, out _, out var decodeError))
            return new FileResult(relative, split, bytes.Length, samples, null, new NamedProblem(relative, decodeError!.Message), null, 0);
        var source = LabelledSource.Create(bytes, options.Tokenizer);
        samples.Add((Hash(source.Bytes), ToSample(source, 0), false));
        NamedProblem? parseFailed = source.Parsed ? null
            : new NamedProblem(relative, source.Error is { } e ? $"{e.Message} ({e.Line}:{e.Column})" : "parse failed");
        int unparsable = 0;
        if (options.Snippets && source.Module is { } module)
        {
            foreach (var (snippetBytes, isFunction) in Snippets(source, module))
            {
                var snippet = LabelledSource.Create(snippetBytes, options.Tokenizer);
                if (!snippet.Parsed) { unparsable++; continue; }
                int prompt = isFunction ? PromptLength(snippet) : 0;
                samples.Add((Hash(snippetBytes), ToSample(snippet, prompt), true));
            }
        }
        return new FileResult(relative, split, bytes.Length, samples, null, null, parseFailed, unparsable);
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
        public long Samples, FileSamples, SnippetSamples, Prompted, Tokens, Duplicates;

        public void Add(ShardSample sample, bool snippet)
        {
            _buffer.Add(sample);
            _bufferTokens += sample.Ids.Length;
            Samples++;
            Tokens += sample.Ids.Length;
            if (snippet) SnippetSamples++; else FileSamples++;
            if (sample.PromptLength > 0) Prompted++;
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

        public ManifestSplit Summary() => new(Files, Samples, FileSamples, SnippetSamples, Prompted, Tokens, Duplicates, _shards);
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
