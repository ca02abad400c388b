namespace AnCoder.Anchoring.Corpus;

/// <summary>
/// A whitespace-insensitive token stream of Python source for duplicate and contamination matching, plus the
/// counts the data-like rule needs. Tokens: runs of word characters (ASCII letters, digits, '_', any non-ASCII
/// byte) and single punctuation characters; whitespace never produces a token, and both quote characters are
/// the same token, so re-indenting, re-wrapping or re-quoting code leaves the stream unchanged. String literals
/// and comments contribute their words too (a copied docstring still matches).
/// </summary>
public sealed class CodeScan
{
    /// <summary>64-bit hashes of the tokens, in order.</summary>
    public required ulong[] Tokens { get; init; }
    /// <summary>Identifier/keyword tokens outside strings and comments.</summary>
    public int Names { get; init; }
    /// <summary>Number literals (word tokens starting with a digit, outside strings and comments).</summary>
    public int Numbers { get; init; }
    /// <summary>String literals (each counts once, whatever its length).</summary>
    public int Strings { get; init; }
    public int Lines { get; init; }
    public int MaxLineLength { get; init; }
    public int Bytes { get; init; }

    /// <summary>Share of literals among names and literals: (numbers + strings) / (names + numbers + strings).</summary>
    public double LiteralShare => Names + Numbers + Strings == 0 ? 0 : (double)(Numbers + Strings) / (Names + Numbers + Strings);
    public double MeanLineLength => Lines == 0 ? 0 : (double)Bytes / Lines;

    private const ulong FnvOffset = 14695981039346656037UL, FnvPrime = 1099511628211UL;

    private static bool IsWord(byte b) => b >= 0x80 || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') || b == '_';
    private static bool IsSpace(byte b) => b is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r' or (byte)'\f' or (byte)'\v';

    public static ulong HashOf(ReadOnlySpan<byte> token)
    {
        ulong h = FnvOffset;
        foreach (byte b in token) h = (h ^ b) * FnvPrime;
        return h;
    }

    private static readonly ulong QuoteHash = HashOf("\""u8);

    public static CodeScan Scan(ReadOnlySpan<byte> text)
    {
        var tokens = new List<ulong>(text.Length / 4);
        int names = 0, numbers = 0, strings = 0, lines = 0, maxLine = 0, lineStart = 0;
        int i = 0, n = text.Length;
        // Where the current string literal ends (exclusive) and its quote; -1 outside strings.
        int stringEnd = -1, commentEnd = -1;
        while (i < n)
        {
            byte b = text[i];
            if (b == '\n')
            {
                lines++;
                maxLine = Math.Max(maxLine, i - lineStart);
                lineStart = i + 1;
                i++;
                continue;
            }
            if (IsSpace(b)) { i++; continue; }
            bool inside = i < stringEnd || i < commentEnd;
            if (IsWord(b))
            {
                int start = i;
                while (i < n && IsWord(text[i])) i++;
                tokens.Add(HashOf(text[start..i]));
                if (!inside)
                {
                    if (b >= '0' && b <= '9') numbers++;
                    else if (i < n && (text[i] == '\'' || text[i] == '"') && i - start <= 3) { } // a string prefix (r, b, f, rb...)
                    else names++;
                }
                continue;
            }
            if (!inside && b == '#')
            {
                int end = text[i..].IndexOf((byte)'\n');
                commentEnd = end < 0 ? n : i + end;
                tokens.Add(HashOf(text.Slice(i, 1)));
                i++;
                continue;
            }
            if (!inside && (b == '\'' || b == '"'))
            {
                strings++;
                stringEnd = StringEnd(text, i);
            }
            tokens.Add(b is (byte)'\'' or (byte)'"' ? QuoteHash : HashOf(text.Slice(i, 1)));
            i++;
        }
        if (lineStart < n)
        {
            lines++;
            maxLine = Math.Max(maxLine, n - lineStart);
        }
        return new CodeScan
        {
            Tokens = tokens.ToArray(), Names = names, Numbers = numbers, Strings = strings, Lines = lines, MaxLineLength = maxLine, Bytes = n,
        };
    }

    /// <summary>The offset just after the string literal whose opening quote is at <paramref name="at"/>.</summary>
    private static int StringEnd(ReadOnlySpan<byte> text, int at)
    {
        byte quote = text[at];
        bool triple = at + 2 < text.Length && text[at + 1] == quote && text[at + 2] == quote;
        int i = at + (triple ? 3 : 1);
        while (i < text.Length)
        {
            byte b = text[i];
            if (b == '\\') { i += 2; continue; }
            if (!triple && b == '\n') return i;
            if (b == quote)
            {
                if (!triple) return i + 1;
                if (i + 2 < text.Length && text[i + 1] == quote && text[i + 2] == quote) return i + 3;
            }
            i++;
        }
        return text.Length;
    }

    /// <summary>Hashes of every window of <paramref name="n"/> consecutive tokens (none when there are fewer).</summary>
    public static ulong[] NGrams(ReadOnlySpan<ulong> tokens, int n)
    {
        if (tokens.Length < n) return [];
        var grams = new ulong[tokens.Length - n + 1];
        for (int i = 0; i < grams.Length; i++)
        {
            ulong h = 0x9E3779B97F4A7C15UL ^ (ulong)n;
            for (int k = 0; k < n; k++) h = (h ^ tokens[i + k]) * 0x100000001B3UL + (h >> 29);
            grams[i] = h;
        }
        return grams;
    }
}
