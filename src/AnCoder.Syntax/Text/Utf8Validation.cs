namespace AnCoder.Syntax.Text;

/// <summary>Locates the first invalid UTF-8 sequence the way CPython's UTF-8 decoder words it.</summary>
internal static class Utf8Validation
{
    /// <summary>Index of the first byte that starts an invalid sequence (or bytes.Length if all valid), and the
    /// reason CPython gives: "invalid start byte", "invalid continuation byte" or "unexpected end of data".</summary>
    public static int FirstInvalidIndex(ReadOnlySpan<byte> bytes, out string reason) => FirstInvalidIndex(bytes, out reason, out _);

    /// <summary>As above; <paramref name="errorLength"/> is how many bytes CPython's decoder reports as undecodable
    /// (the maximal prefix of a valid sequence, at least 1).</summary>
    public static int FirstInvalidIndex(ReadOnlySpan<byte> bytes, out string reason, out int errorLength)
    {
        reason = "";
        errorLength = 0;
        int i = 0;
        while (i < bytes.Length)
        {
            int length = SequenceLength(bytes, i, out reason, out errorLength);
            if (length == 0) return i;
            i += length;
        }
        return bytes.Length;
    }

    /// <summary>CPython's UnicodeDecodeError text for the invalid sequence at <paramref name="position"/>.</summary>
    public static string DecodeErrorMessage(string codec, ReadOnlySpan<byte> bytes, int position, int errorLength, string reason) =>
        errorLength <= 1
            ? $"'{codec}' codec can't decode byte 0x{bytes[position]:x2} in position {position}: {reason}"
            : $"'{codec}' codec can't decode bytes in position {position}-{position + errorLength - 1}: {reason}";

    /// <summary>Length of the valid UTF-8 sequence at <paramref name="i"/>, or 0 when invalid.</summary>
    public static int SequenceLength(ReadOnlySpan<byte> bytes, int i, out string reason) => SequenceLength(bytes, i, out reason, out _);

    public static int SequenceLength(ReadOnlySpan<byte> bytes, int i, out string reason, out int errorLength)
    {
        reason = "";
        errorLength = 1;
        byte b = bytes[i];
        if (b < 0x80) return 1;
        int need;
        byte lo = 0x80, hi = 0xBF;
        if (b >= 0xC2 && b <= 0xDF) need = 1;
        else if (b >= 0xE0 && b <= 0xEF)
        {
            need = 2;
            if (b == 0xE0) lo = 0xA0;
            else if (b == 0xED) hi = 0x9F;
        }
        else if (b >= 0xF0 && b <= 0xF4)
        {
            need = 3;
            if (b == 0xF0) lo = 0x90;
            else if (b == 0xF4) hi = 0x8F;
        }
        else
        {
            reason = "invalid start byte";
            return 0;
        }
        for (int k = 1; k <= need; k++)
        {
            if (i + k >= bytes.Length)
            {
                reason = "unexpected end of data";
                errorLength = bytes.Length - i;
                return 0;
            }
            byte c = bytes[i + k];
            byte min = k == 1 ? lo : (byte)0x80, max = k == 1 ? hi : (byte)0xBF;
            if (c < min || c > max)
            {
                reason = "invalid continuation byte";
                errorLength = k;
                return 0;
            }
        }
        return need + 1;
    }
}
