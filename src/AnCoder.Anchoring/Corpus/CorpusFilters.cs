namespace AnCoder.Anchoring.Corpus;

/// <summary>Why a file (or an SFT pair) left the corpus; the manifest counts each, removed.tsv lists each path.</summary>
public static class RemovalReasons
{
    public const string TooLarge = "too_large";
    public const string Unreadable = "unreadable";
    public const string ParseError = "parse_error";
    public const string ExactDuplicate = "exact_duplicate";
    public const string NearDuplicate = "near_duplicate";
    public const string DataLike = "data_like";
    public const string Contaminated = "contaminated";
    // SFT pairs only.
    public const string PairDuplicate = "pair_duplicate";
    public const string PairContaminated = "pair_contaminated";
    public const string PairTooLong = "pair_too_long";
    /// <summary>The body reads none of the function's parameters (<see cref="SftPair.ReadsParameter"/>).</summary>
    public const string PairIgnoresParameters = "pair_ignores_parameters";

    /// <summary>File filters in the order they apply (a file is counted under the first that removes it).</summary>
    public static readonly string[] FileOrder = [TooLarge, Unreadable, ExactDuplicate, ParseError, DataLike, Contaminated, NearDuplicate];
}

/// <summary>
/// Generated or data-like files (docs/corpus.md): code whose tokens are mostly literals (tables of numbers or
/// strings, e.g. Unicode and codec tables, lexer keyword lists, embedded data), or whose lines are too long to be
/// written by hand (StarCoder's data-file rule: mean line length above 100 or a line above 1000 characters).
/// </summary>
public static class DataLikeRule
{
    /// <summary>Literal share (numbers and strings among names and literals) at or above which a file is a table.</summary>
    public const double MaxLiteralShare = 0.7;
    /// <summary>The literal share is only judged on files with at least this many names and literals.</summary>
    public const int MinCountedTokens = 1000;
    public const double MaxMeanLineLength = 100;
    public const int MaxLineLength = 1000;

    /// <summary>Null for ordinary code, otherwise the rule that fired with its figure.</summary>
    public static string? Check(CodeScan scan)
    {
        int counted = scan.Names + scan.Numbers + scan.Strings;
        if (counted >= MinCountedTokens && scan.LiteralShare >= MaxLiteralShare) return $"literal share {scan.LiteralShare:F2} of {counted} tokens";
        if (scan.MeanLineLength > MaxMeanLineLength) return $"mean line length {scan.MeanLineLength:F0}";
        if (scan.MaxLineLength > MaxLineLength) return $"line of {scan.MaxLineLength} bytes";
        return null;
    }
}
