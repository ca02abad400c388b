using System.Text;
using System.Text.RegularExpressions;

namespace AnCoder.Anchoring.Tokenization;

/// <summary>
/// Splits UTF-8 bytes into pre-tokens (the pieces BPE merges never cross) with a Hugging Face Split regex, the
/// Qwen2 pattern by default. Works on bytes so that any input, including invalid UTF-8, is covered: maximal valid
/// UTF-8 runs go through the regex; each byte of an invalid sequence is a pre-token of its own. The pieces tile the
/// input exactly.
/// </summary>
/// <remarks>
/// .NET's regex sees UTF-16 code units, Hugging Face's (Rust) sees code points: for letters and digits outside the
/// BMP (e.g. mathematical italic letters) the two can split differently. A boundary is never placed inside a
/// surrogate pair here (the pair stays in one piece).
/// </remarks>
public sealed class PreTokenizer
{
    /// <summary>Qwen2 / Qwen2.5's pre-tokenizer pattern (its tokenizer.json Split regex).</summary>
    public const string Qwen2Pattern =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    private static readonly UTF8Encoding StrictUtf8 = new(false, true);

    public PreTokenizer(string pattern = Qwen2Pattern)
    {
        Pattern = pattern;
        Regex = new Regex(pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant);
    }

    public string Pattern { get; }
    public Regex Regex { get; }

    /// <summary>Calls <paramref name="onPiece"/>(start, end) with byte offsets for each piece, in order.</summary>
    public void Split(ReadOnlySpan<byte> input, PieceHandler onPiece)
    {
        if (System.Text.Unicode.Utf8.IsValid(input))
        {
            if (input.Length > 0) SplitValid(input, 0, onPiece);
            return;
        }
        int pos = 0;
        while (pos < input.Length)
        {
            int validLength = ValidUtf8PrefixLength(input[pos..]);
            if (validLength > 0)
            {
                SplitValid(input.Slice(pos, validLength), pos, onPiece);
                pos += validLength;
            }
            else
            {
                onPiece(pos, pos + 1);
                pos++;
            }
        }
    }

    public delegate void PieceHandler(int start, int end);

    /// <summary>The pieces as (start, end) byte ranges.</summary>
    public List<(int Start, int End)> Split(ReadOnlySpan<byte> input)
    {
        var pieces = new List<(int, int)>();
        Split(input, (s, e) => pieces.Add((s, e)));
        return pieces;
    }

    private void SplitValid(ReadOnlySpan<byte> run, int baseOffset, PieceHandler onPiece)
    {
        string text = Encoding.UTF8.GetString(run);
        bool ascii = text.Length == run.Length;
        int charCursor = 0, byteCursor = 0;
        foreach (ValueMatch match in Regex.EnumerateMatches(text))
        {
            int end = match.Index + match.Length;
            if (end <= charCursor) continue;
            if (end < text.Length && char.IsHighSurrogate(text[end - 1])) end++;
            int byteEnd = ascii ? end : byteCursor + Encoding.UTF8.GetByteCount(text.AsSpan(charCursor, end - charCursor));
            onPiece(baseOffset + byteCursor, baseOffset + byteEnd);
            charCursor = end;
            byteCursor = byteEnd;
        }
        if (charCursor < text.Length) onPiece(baseOffset + byteCursor, baseOffset + run.Length);
    }

    /// <summary>Length of the longest prefix that is well-formed UTF-8 (no surrogates, no overlongs, ≤ U+10FFFF).</summary>
    internal static int ValidUtf8PrefixLength(ReadOnlySpan<byte> bytes)
    {
        int i = 0;
        while (i < bytes.Length)
        {
            byte b = bytes[i];
            if (b < 0x80) { i++; continue; }
            int need, min;
            if ((b & 0xE0) == 0xC0) { need = 1; min = 0x80; }
            else if ((b & 0xF0) == 0xE0) { need = 2; min = 0x800; }
            else if ((b & 0xF8) == 0xF0) { need = 3; min = 0x10000; }
            else return i;
            if (i + need >= bytes.Length) return i;
            int codePoint = b & (0x3F >> need);
            for (int k = 1; k <= need; k++)
            {
                byte c = bytes[i + k];
                if ((c & 0xC0) != 0x80) return i;
                codePoint = (codePoint << 6) | (c & 0x3F);
            }
            if (codePoint < min || codePoint > 0x10FFFF || (codePoint >= 0xD800 && codePoint <= 0xDFFF)) return i;
            i += need + 1;
        }
        return i;
    }
}
