using System.Text;

namespace AnCoder.Syntax.Text;

public sealed partial class SourceText
{
    private int[]? _lineStarts;

    /// <summary>Byte offsets where each line starts (index 0 = line 1). Lines end at LF, CRLF or a lone CR, as
    /// CPython's newline translation sees them.</summary>
    public ReadOnlySpan<int> LineStarts => _lineStarts ??= ComputeLineStarts(Utf8);

    /// <summary>Number of lines (a final line without a newline counts; an empty source has 1).</summary>
    public int LineCount => LineStarts.Length;

    /// <summary>Byte offset in <see cref="Utf8"/> where 1-based <paramref name="line"/> starts; the source length
    /// for the line after the last.</summary>
    public int LineStartOffset(int line)
    {
        var starts = LineStarts;
        if (line <= 0) return 0;
        return line <= starts.Length ? starts[line - 1] : Utf8.Length;
    }

    /// <summary>The text of the UTF-8 byte range [start, end) (invalid UTF-8 becomes U+FFFD).</summary>
    public string GetText(int start, int end) => Encoding.UTF8.GetString(Utf8, start, end - start);

    /// <summary>UTF-8 bytes of the byte range [start, end).</summary>
    public ReadOnlySpan<byte> GetBytes(int start, int end) => Utf8.AsSpan(start, end - start);

    /// <summary>Number of characters (code points; invalid bytes count one each, as CPython's "replace") in
    /// the first <paramref name="byteColumn"/> bytes of 1-based <paramref name="line"/>.</summary>
    public int CharColumn(int line, int byteColumn)
    {
        int start = LineStartOffset(line);
        return CountChars(Utf8.AsSpan(start, Math.Min(byteColumn, Utf8.Length - start)));
    }

    internal static int CountChars(ReadOnlySpan<byte> bytes)
    {
        int count = 0;
        for (int i = 0; i < bytes.Length;)
        {
            int length = bytes[i] < 0x80 ? 1 : Utf8Validation.SequenceLength(bytes, i, out _);
            i += length == 0 ? 1 : length;
            count++;
        }
        return count;
    }

    private static int[] ComputeLineStarts(byte[] utf8)
    {
        var starts = new List<int> { 0 };
        var span = utf8.AsSpan();
        int i = 0;
        while (true)
        {
            int k = span[i..].IndexOfAny((byte)'\n', (byte)'\r');
            if (k < 0) break;
            i += k;
            if (span[i] == '\r' && i + 1 < span.Length && span[i + 1] == '\n') i++;
            i++;
            if (i >= span.Length) break;
            starts.Add(i);
        }
        return starts.ToArray();
    }
}
