using AnCoder.Anchoring.Labels;
using AnCoder.Syntax.Tokenizing;

namespace AnCoder.Diffusion.Sampling;

/// <summary>
/// Keyword/identifier flags for text that does not parse (traces of weak models): every NAME-like word outside
/// comments and string literals, a hard keyword if <c>keyword.iskeyword</c> says so. Depth 0, no AST node. An
/// approximation for display; training labels never use it.
/// </summary>
public static class LexicalAnchors
{
    public static TokenLabel[] Label(byte[] source)
    {
        var labels = new List<TokenLabel>();
        int i = 0, n = source.Length;
        while (i < n)
        {
            byte c = source[i];
            if (c == '#')
            {
                while (i < n && source[i] != '\n') i++;
            }
            else if (c is (byte)'"' or (byte)'\'')
            {
                i = SkipString(source, i);
            }
            else if (IsNameStart(c))
            {
                int start = i;
                while (i < n && IsNameContinue(source[i])) i++;
                if (i < n && source[i] is (byte)'"' or (byte)'\'' && IsStringPrefix(source.AsSpan(start, i - start)))
                {
                    i = SkipString(source, i);
                    continue;
                }
                bool keyword = Keywords.Classify(source.AsSpan(start, i - start)) is var kind && kind != KeywordKind.None && kind < KeywordKind.SoftMatch;
                labels.Add(new TokenLabel(0, start, i, 0, keyword, !keyword));
            }
            else if (c is >= (byte)'0' and <= (byte)'9')
            {
                while (i < n && IsNameContinue(source[i])) i++; // a number (with suffixes like 1e5, 0x1f) is not a name
            }
            else i++;
        }
        return [.. labels];
    }

    private static bool IsStringPrefix(ReadOnlySpan<byte> word) =>
        word.Length <= 2 && System.Text.Encoding.ASCII.GetString(word).ToLowerInvariant() is "r" or "b" or "f" or "u" or "rb" or "br" or "fr" or "rf";

    private static bool IsNameStart(byte c) => c is >= (byte)'a' and <= (byte)'z' or >= (byte)'A' and <= (byte)'Z' or (byte)'_' or >= 0x80;
    private static bool IsNameContinue(byte c) => IsNameStart(c) || c is >= (byte)'0' and <= (byte)'9';

    /// <summary>Skips a string literal (single or triple quoted; backslash escapes); an unterminated one ends at the line end (single) or the text end (triple).</summary>
    private static int SkipString(byte[] s, int i)
    {
        byte quote = s[i];
        bool triple = i + 2 < s.Length && s[i + 1] == quote && s[i + 2] == quote;
        i += triple ? 3 : 1;
        while (i < s.Length)
        {
            if (s[i] == '\\') { i += 2; continue; }
            if (!triple && s[i] == '\n') return i;
            if (s[i] == quote && (!triple || (i + 2 < s.Length && s[i + 1] == quote && s[i + 2] == quote)))
                return i + (triple ? 3 : 1);
            i++;
        }
        return s.Length;
    }
}
