using System.Text.Json;
using System.Text.Json.Serialization;
using AnCoder.Anchoring.Settings;
using AnCoder.Anchoring.Tokenization;

namespace AnCoder.Anchoring.Corpus;

public sealed record PrepareOptions
{
    /// <summary>One folder of .py files (named by its path in the manifest); ignored when <see cref="Sources"/> is set.</summary>
    public string? SourceDirectory { get; init; }
    /// <summary>The trees the corpus is built from, in priority order (the first copy of a duplicate is kept).</summary>
    public IReadOnlyList<CorpusSource>? Sources { get; init; }
    public required string OutputDirectory { get; init; }
    public required ByteLevelBpe Tokenizer { get; init; }
    public required string TokenizerName { get; init; }
    public int ContextLength { get; init; } = 1024;
    /// <summary>Seed of the split by package.</summary>
    public int Seed { get; init; } = 0;
    /// <summary>Share of packages held out for validation / test (a seeded hash of the package name).</summary>
    public double ValidFraction { get; init; } = 0.02;
    public double TestFraction { get; init; } = 0.02;
    /// <summary>Also emit function/class-level snippets (module-level defs and classes, and methods of classes).</summary>
    public bool Snippets { get; init; } = true;
    public long ShardTokens { get; init; } = 8_000_000;
    /// <summary>Rebuild even if the manifest says the output is complete and up to date.</summary>
    public bool Force { get; init; }
    /// <summary>Files larger than this many bytes are removed (The Stack's 1 MB cap).</summary>
    public long MaxFileBytes { get; init; } = 1_000_000;
    /// <summary>Folder holding humaneval/HumanEval.jsonl.gz and mbpp/mbpp.jsonl; null = no decontamination.</summary>
    public string? DatasetsDirectory { get; init; }
    /// <summary>Near-duplicate removal (MinHash + LSH).</summary>
    public bool NearDeduplicate { get; init; } = true;
    /// <summary>Write fine-tuning pairs (<see cref="SftPairs"/>) instead of pre-training samples.</summary>
    public bool Sft { get; init; }
    /// <summary>With <see cref="Sft"/>: remove pairs whose body reads none of the function's parameters
    /// (<see cref="SftPair.ReadsParameter"/>; docs/corpus.md, "fine-tuning pairs").</summary>
    public bool SftRequireParameterRead { get; init; } = true;
    /// <summary>With <see cref="Sft"/>: the shape of the pairs (docs/corpus.md, "fine-tuning pairs" and "MBPP's shape").</summary>
    [Setting("With --sft: the shape of the pairs: humaneval (default; prompt = imports + signature + docstring, completion = the body), "
        + "mbpp (prompt = a module docstring with the docstring's first paragraph and a doctest as an assert line, completion = imports + the whole "
        + "function without its docstring; module-level functions only) or both (each function in both shapes) (docs/corpus.md).", Flag = "sft-shape")]
    public SftShape SftShape { get; init; } = SftShape.HumanEval;

    public IReadOnlyList<CorpusSource> EffectiveSources => Sources
        ?? (SourceDirectory is { } dir ? [CorpusSource.Directory(dir)] : throw new ArgumentException("no source given"));
}

/// <summary>The shape of fine-tuning pairs (<see cref="SftPairs"/>): the prompt format of the benchmark they teach.</summary>
public enum SftShape
{
    /// <summary>Prompt = imports + signature + docstring, completion = the body (HumanEval's prompt).</summary>
    HumanEval,
    /// <summary>Prompt = a module docstring holding the task text and a test, completion = the whole program (MBPP's prompt).</summary>
    Mbpp,
    /// <summary>Every function in both shapes (the MBPP one where it qualifies).</summary>
    Both,
}

/// <summary>Split names.</summary>
public static class Splits
{
    public const string Train = "train", Valid = "valid", Test = "test";
    public static readonly string[] All = [Train, Valid, Test];
}

/// <summary>What a prepared folder holds: pre-training samples or fine-tuning pairs.</summary>
public static class CorpusKinds
{
    public const string Pretrain = "pretrain", Sft = "sft";
}

/// <summary>The manifest written beside the shards (manifest.json), last, atomically.</summary>
public sealed record Manifest
{
    public int Version { get; init; } = 2;
    /// <summary><see cref="CorpusKinds"/>: <c>pretrain</c> or <c>sft</c> (prompt tokens are conditioning; docs/corpus.md).</summary>
    public string Kind { get; init; } = CorpusKinds.Pretrain;
    public required string ConfigHash { get; init; }
    public required ManifestConfig Config { get; init; }
    public required ManifestFiles Files { get; init; }
    public required Dictionary<string, ManifestSplit> Splits { get; init; }
    public required ManifestTotals Totals { get; init; }
    /// <summary>Per source: files, bytes, tokens and removals by reason.</summary>
    public List<ManifestSource>? Sources { get; init; }
    /// <summary>Removals by reason over all sources (files; for SFT also pairs); the paths are in removed.tsv.</summary>
    public Dictionary<string, long>? Removed { get; init; }
    /// <summary>The filters' parameters.</summary>
    public ManifestFilters? Filters { get; init; }
    /// <summary>Fine-tuning pair statistics (kind sft).</summary>
    public ManifestSft? Sft { get; init; }
    /// <summary>Every kept file with its source, package and split.</summary>
    public List<ManifestFile>? KeptFiles { get; init; }

    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };
}

public sealed record ManifestConfig(string Source, string Tokenizer, string TokenizerHash, int VocabSize, int EosId, int PadId,
    int MaskId, int ContextLength, int Seed, double ValidFraction, double TestFraction, bool Snippets, long ShardTokens)
{
    public List<string>? Sources { get; init; }
    public long MaxFileBytes { get; init; }
    public string? Datasets { get; init; }
    public bool NearDeduplicate { get; init; }
    public bool Sft { get; init; }
    /// <summary><see cref="PrepareOptions.SftRequireParameterRead"/> (null for a pre-training corpus, and then not written,
    /// so the configuration hash of a pre-training corpus prepared before the option existed still matches).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public bool? SftRequireParameterRead { get; init; }
    /// <summary><see cref="PrepareOptions.SftShape"/> as its <see cref="SettingNames"/> spelling; null (not written) for
    /// HumanEval's shape and for a pre-training corpus, so the configuration hash of a folder prepared before the
    /// option existed still matches.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? SftShape { get; init; }
}

public sealed record NamedProblem(string Path, string Reason);

public sealed record ManifestFiles(int Found, int Labelled, int ParseFailures, List<NamedProblem> ParseFailed,
    List<NamedProblem> Unreadable, List<NamedProblem> Undecodable);

public sealed record ManifestShard(string File, long Samples, long Tokens, long Bytes, string Sha256);

public sealed record ManifestSplit(int Files, long Samples, long FileSamples, long SnippetSamples, long PromptedSamples,
    long Tokens, long DuplicatesRemoved, List<ManifestShard> Shards)
{
    /// <summary>The packages whose files are in this split.</summary>
    public List<string>? Packages { get; init; }
    /// <summary>SFT: prompt (conditioning) and completion tokens of the split's pairs.</summary>
    public long PromptTokens { get; init; }
    public long CompletionTokens { get; init; }
}

public sealed record ManifestTotals(long SourceBytes, long Samples, long Tokens, long DuplicatesRemoved, long SnippetsSkippedUnparsable,
    double Seconds, double SourceMBPerSecond, double TokensPerSecond);

/// <param name="FileTokens">Tokens of the kept files themselves (no snippets): bytes / file_tokens is the tokenizer's bytes per token.</param>
/// <param name="Tokens">Tokens of every sample written from the source (files and snippets, or SFT pairs).</param>
public sealed record ManifestSource(string Name, string Root, int FilesFound, long BytesFound, int FilesKept, long BytesKept,
    long FileTokens, long Tokens, Dictionary<string, long> Removed);

public sealed record ManifestFile(string Path, string Source, string Package, string Split, long Bytes, long Tokens);

public sealed record ManifestFilters(long MaxFileBytes, int ShingleSize, int Permutations, int Bands, int Rows, double JaccardThreshold,
    double DataLikeLiteralShare, int DataLikeMinTokens, double DataLikeMeanLineLength, int DataLikeMaxLineLength,
    int DecontaminationN, double DecontaminationMinOverlap, int BenchmarkParts, int BenchmarkPartsTooShort);

public sealed record ManifestSft(long Pairs, double MeanPromptTokens, double MeanCompletionTokens, long FunctionsSeen,
    List<SftExample> Examples)
{
    /// <summary>Pairs written in MBPP's shape (<see cref="SftShape.Mbpp"/>); null (not written) when the shape is
    /// HumanEval's, so such a manifest is what it was before the option.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? MbppPairs { get; init; }
}

public sealed record SftExample(string File, string Function, string Prompt, string Completion);
