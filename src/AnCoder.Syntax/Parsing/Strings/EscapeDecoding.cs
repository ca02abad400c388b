using System;
using System.Buffers;
using System.Text;

namespace AnCoder.Syntax.Parsing.Strings;

/// <summary>
/// Escape decoding of string and bytes literal bodies, mirroring CPython 3.11: <c>decode_unicode_with_escapes</c>
/// (Parser/string_parser.c) feeding <c>_PyUnicode_DecodeUnicodeEscapeInternal</c> (Objects/unicodeobject.c), and
/// <c>_PyBytes_DecodeEscape</c> (Objects/bytesobject.c). Errors carry CPython's message (without the
/// "(unicode error) " / "(value error) " prefix that the caller adds).
/// </summary>
internal static class EscapeDecoding
{
    /// <summary>
    /// UTF-8 text without escapes (<c>PyUnicode_DecodeUTF8Stateful</c>): the source is not validated before string
    /// parsing, so invalid UTF-8 is CPython's UnicodeDecodeError, located relative to <paramref name="text"/>.
    /// </summary>
    public static string? DecodeUtf8(ReadOnlySpan<byte> text, out string? error)
    {
        error = null;
        if (text.IsEmpty) return string.Empty;
        if (System.Text.Unicode.Utf8.IsValid(text)) return Encoding.UTF8.GetString(text);
        error = Utf8Error(text);
        return null;
    }

    /// <summary>The message of CPython's utf-8 codec for the first invalid sequence in <paramref name="s"/>.</summary>
    private static string Utf8Error(ReadOnlySpan<byte> s)
    {
        int n = s.Length;
        for (int i = 0; i < n;)
        {
            byte b = s[i];
            if (b < 0x80) { i++; continue; }
            int need;
            byte low = 0x80, high = 0xBF;  // allowed range of the second byte
            if (b < 0xC2) return Utf8Message(s, i, i + 1, "invalid start byte");
            if (b < 0xE0) need = 1;
            else if (b < 0xF0)
            {
                need = 2;
                if (b == 0xE0) low = 0xA0;
                else if (b == 0xED) high = 0x9F;
            }
            else if (b < 0xF5)
            {
                need = 3;
                if (b == 0xF0) low = 0x90;
                else if (b == 0xF4) high = 0x8F;
            }
            else return Utf8Message(s, i, i + 1, "invalid start byte");
            for (int k = 1; k <= need; k++)
            {
                if (i + k >= n) return Utf8Message(s, i, n, "unexpected end of data");
                byte c = s[i + k];
                bool valid = k == 1 ? c >= low && c <= high : (c & 0xC0) == 0x80;
                if (!valid) return Utf8Message(s, i, i + k, "invalid continuation byte");
            }
            i += need + 1;
        }
        throw new InvalidOperationException("valid UTF-8");
    }

    private static string Utf8Message(ReadOnlySpan<byte> s, int start, int end, string reason) =>
        end - start == 1
            ? $"'utf-8' codec can't decode byte 0x{s[start]:x2} in position {start}: {reason}"
            : $"'utf-8' codec can't decode bytes in position {start}-{end - 1}: {reason}";

    /// <summary>
    /// A non-raw str literal body (string_parser.c decode_unicode_with_escapes). CPython first rewrites the body:
    /// every non-ASCII character becomes "\UXXXXXXXX" (each run of non-ASCII bytes is decoded on its own, so UTF-8
    /// errors are located relative to the run) and a backslash before a non-ASCII character or at the very end
    /// becomes "\u005c"; escape error positions refer to that rewritten buffer, so it is built the same way.
    /// </summary>
    public static string? DecodeUnicodeEscapes(ReadOnlySpan<byte> text, out string? error)
    {
        error = null;
        bool validUtf8 = System.Text.Unicode.Utf8.IsValid(text);
        if (validUtf8)
        {
            if (text.IndexOf((byte)'\\') < 0) return text.IsEmpty ? string.Empty : Encoding.UTF8.GetString(text);
            char[] buffer = ArrayPool<char>.Shared.Rent(text.Length);
            try
            {
                int length = DecodeDirect(text, buffer);
                if (length >= 0) return new string(buffer, 0, length);
            }
            finally
            {
                ArrayPool<char>.Shared.Return(buffer);
            }
        }
        // An error: reproduce CPython's steps exactly, since its message positions refer to the rewritten buffer.
        byte[]? rewritten = RewriteNonAscii(text, out error);
        if (rewritten == null) return null;
        return DecodeUnicodeEscapeInternal(rewritten, out error);
    }

    /// <summary>
    /// The success path of decode_unicode_with_escapes without the rewriting step, on valid UTF-8 (the rewrite
    /// round-trips every non-ASCII character, and only turns a backslash before one, or at the end, into a literal
    /// backslash). Returns the decoded length in <paramref name="output"/> (which holds text.Length chars: no escape
    /// decodes to more chars than its bytes), or -1 when CPython raises an error.
    /// </summary>
    private static int DecodeDirect(ReadOnlySpan<byte> text, char[] output)
    {
        int n = 0;
        int i = 0, end = text.Length;
        while (i < end)
        {
            int next = text[i..].IndexOf((byte)'\\');
            int stretchEnd = next < 0 ? end : i + next;
            if (stretchEnd > i) n += Encoding.UTF8.GetChars(text[i..stretchEnd], output.AsSpan(n));
            i = stretchEnd;
            if (i >= end) break;
            i++;  // the backslash
            if (i >= end || text[i] >= 0x80)
            {
                output[n++] = '\\';
                continue;
            }
            byte c = text[i++];
            switch (c)
            {
                case (byte)'\n': continue;
                case (byte)'\\': output[n++] = '\\'; continue;
                case (byte)'\'': output[n++] = '\''; continue;
                case (byte)'"': output[n++] = '"'; continue;
                case (byte)'b': output[n++] = '\b'; continue;
                case (byte)'f': output[n++] = '\f'; continue;
                case (byte)'t': output[n++] = '\t'; continue;
                case (byte)'n': output[n++] = '\n'; continue;
                case (byte)'r': output[n++] = '\r'; continue;
                case (byte)'v': output[n++] = '\v'; continue;
                case (byte)'a': output[n++] = '\a'; continue;
                case >= (byte)'0' and <= (byte)'7':
                {
                    int ch = c - '0';
                    if (i < end && text[i] >= '0' && text[i] <= '7')
                    {
                        ch = (ch << 3) + text[i++] - '0';
                        if (i < end && text[i] >= '0' && text[i] <= '7') ch = (ch << 3) + text[i++] - '0';
                    }
                    output[n++] = (char)ch;
                    continue;
                }
                case (byte)'x':
                case (byte)'u':
                case (byte)'U':
                {
                    int count = c == 'x' ? 2 : c == 'u' ? 4 : 8;
                    uint ch = 0;
                    for (; count > 0; i++, count--)
                    {
                        if (i >= end) return -1;
                        int digit = HexValue(text[i]);
                        if (digit < 0) return -1;
                        ch = (ch << 4) + (uint)digit;
                    }
                    if (ch > 0x10FFFF) return -1;
                    n = AppendCodePoint(output, n, (int)ch);
                    continue;
                }
                case (byte)'N':
                {
                    if (i >= end || text[i] != (byte)'{') return -1;
                    int nameStart = ++i;
                    int close = text[i..].IndexOf((byte)'}');
                    if (close <= 0) return -1;
                    int code = UnicodeNames.Lookup(text.Slice(nameStart, close));
                    if (code < 0) return -1;
                    i = nameStart + close + 1;
                    n = AppendCodePoint(output, n, code);
                    continue;
                }
                default:
                    output[n++] = '\\';
                    output[n++] = (char)c;
                    continue;
            }
        }
        return n;
    }

    private static int AppendCodePoint(char[] output, int n, int cp)
    {
        if (cp < 0x10000)
        {
            output[n++] = (char)cp;
        }
        else
        {
            cp -= 0x10000;
            output[n++] = (char)(0xD800 + (cp >> 10));
            output[n++] = (char)(0xDC00 + (cp & 0x3FF));
        }
        return n;
    }

    private static byte[]? RewriteNonAscii(ReadOnlySpan<byte> s, out string? error)
    {
        error = null;
        var output = new System.Collections.Generic.List<byte>(s.Length * 2 + 6);
        int i = 0;
        while (i < s.Length)
        {
            if (s[i] == (byte)'\\')
            {
                output.Add(s[i++]);
                if (i >= s.Length || s[i] >= 0x80)
                {
                    foreach (char c in "u005c") output.Add((byte)c);
                    if (i >= s.Length) break;
                }
            }
            if (s[i] >= 0x80)
            {
                int runEnd = i;
                while (runEnd < s.Length && s[runEnd] >= 0x80) runEnd++;
                string? run = DecodeUtf8(s[i..runEnd], out error);
                if (run == null) return null;
                for (int k = 0; k < run.Length; k++)
                {
                    int cp = char.IsHighSurrogate(run[k]) && k + 1 < run.Length && char.IsLowSurrogate(run[k + 1])
                        ? char.ConvertToUtf32(run[k], run[++k])
                        : run[k];
                    foreach (char c in "\\U" + cp.ToString("x8")) output.Add((byte)c);
                }
                i = runEnd;
            }
            else
            {
                output.Add(s[i++]);
            }
        }
        return output.ToArray();
    }

    // Objects/unicodeobject.c: _PyUnicode_DecodeUnicodeEscapeInternal with errors="strict".
    private static string? DecodeUnicodeEscapeInternal(byte[] s, out string? error)
    {
        error = null;
        var sb = new StringBuilder(s.Length);
        int end = s.Length;
        int i = 0;
        while (i < end)
        {
            byte c = s[i++];
            if (c != (byte)'\\')
            {
                sb.Append((char)c);  // the rewritten buffer is ASCII
                continue;
            }
            int startPos = i - 1;
            string message;
            if (i >= end)
            {
                message = "\\ at end of string";
                return Fail(s, startPos, i, message, out error);
            }
            c = s[i++];
            switch (c)
            {
                case (byte)'\n': continue;
                case (byte)'\\': sb.Append('\\'); continue;
                case (byte)'\'': sb.Append('\''); continue;
                case (byte)'"': sb.Append('"'); continue;
                case (byte)'b': sb.Append('\b'); continue;
                case (byte)'f': sb.Append('\f'); continue;
                case (byte)'t': sb.Append('\t'); continue;
                case (byte)'n': sb.Append('\n'); continue;
                case (byte)'r': sb.Append('\r'); continue;
                case (byte)'v': sb.Append('\v'); continue;
                case (byte)'a': sb.Append('\a'); continue;
                case >= (byte)'0' and <= (byte)'7':
                {
                    int ch = c - '0';
                    if (i < end && s[i] >= '0' && s[i] <= '7')
                    {
                        ch = (ch << 3) + s[i++] - '0';
                        if (i < end && s[i] >= '0' && s[i] <= '7') ch = (ch << 3) + s[i++] - '0';
                    }
                    AppendCodePoint(sb, ch);  // > 0o377 is only a DeprecationWarning in 3.11
                    continue;
                }
                case (byte)'x':
                case (byte)'u':
                case (byte)'U':
                {
                    int count = c == 'x' ? 2 : c == 'u' ? 4 : 8;
                    message = c == 'x' ? "truncated \\xXX escape" : c == 'u' ? "truncated \\uXXXX escape" : "truncated \\UXXXXXXXX escape";
                    uint ch = 0;
                    for (; count > 0; i++, count--)
                    {
                        if (i >= end) return Fail(s, startPos, i, message, out error);
                        int digit = HexValue(s[i]);
                        if (digit < 0) return Fail(s, startPos, i, message, out error);
                        ch = (ch << 4) + (uint)digit;
                    }
                    if (ch > 0x10FFFF) return Fail(s, startPos, i, "illegal Unicode character", out error);
                    AppendCodePoint(sb, (int)ch);
                    continue;
                }
                case (byte)'N':
                {
                    message = "malformed \\N character escape";
                    if (i >= end) return Fail(s, startPos, i, message, out error);
                    if (s[i] == (byte)'{')
                    {
                        int nameStart = ++i;
                        while (i < end && s[i] != (byte)'}') i++;
                        if (i >= end) return Fail(s, startPos, i, message, out error);
                        int nameLength = i - nameStart;
                        if (nameLength > 0)
                        {
                            i++;
                            int code = UnicodeNames.Lookup(s.AsSpan(nameStart, nameLength));
                            if (code >= 0)
                            {
                                AppendCodePoint(sb, code);
                                continue;
                            }
                            message = "unknown Unicode character name";
                        }
                    }
                    return Fail(s, startPos, i, message, out error);
                }
                default:
                    // Unknown escape: kept as is (a DeprecationWarning in 3.11).
                    sb.Append('\\');
                    sb.Append((char)c);
                    continue;
            }
        }
        return sb.ToString();
    }

    private static string? Fail(byte[] s, int start, int end, string reason, out string? error)
    {
        // UnicodeDecodeError.__str__
        error = end - start == 1 && start < s.Length
            ? $"'unicodeescape' codec can't decode byte 0x{s[start]:x2} in position {start}: {reason}"
            : $"'unicodeescape' codec can't decode bytes in position {start}-{end - 1}: {reason}";
        return null;
    }

    private static void AppendCodePoint(StringBuilder sb, int cp)
    {
        if (cp < 0x10000) sb.Append((char)cp);  // lone surrogates are kept as UTF-16 code units
        else
        {
            cp -= 0x10000;
            sb.Append((char)(0xD800 + (cp >> 10)));
            sb.Append((char)(0xDC00 + (cp & 0x3FF)));
        }
    }

    private static int HexValue(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => -1,
    };

    /// <summary>A non-raw bytes literal body (ASCII already checked): Objects/bytesobject.c _PyBytes_DecodeEscape.</summary>
    public static byte[]? DecodeBytesEscapes(ReadOnlySpan<byte> s, out string? error)
    {
        error = null;
        if (s.IndexOf((byte)'\\') < 0) return s.ToArray();
        var output = new byte[s.Length];
        int n = 0;
        int i = 0, end = s.Length;
        while (i < end)
        {
            if (s[i] != (byte)'\\')
            {
                output[n++] = s[i++];
                continue;
            }
            i++;
            if (i == end)
            {
                error = "Trailing \\ in string";
                return null;
            }
            byte c = s[i++];
            switch (c)
            {
                case (byte)'\n': break;
                case (byte)'\\': output[n++] = (byte)'\\'; break;
                case (byte)'\'': output[n++] = (byte)'\''; break;
                case (byte)'"': output[n++] = (byte)'"'; break;
                case (byte)'b': output[n++] = (byte)'\b'; break;
                case (byte)'f': output[n++] = 0x0C; break;
                case (byte)'t': output[n++] = (byte)'\t'; break;
                case (byte)'n': output[n++] = (byte)'\n'; break;
                case (byte)'r': output[n++] = (byte)'\r'; break;
                case (byte)'v': output[n++] = 0x0B; break;
                case (byte)'a': output[n++] = 0x07; break;
                case >= (byte)'0' and <= (byte)'7':
                {
                    int v = c - '0';
                    if (i < end && s[i] >= '0' && s[i] <= '7')
                    {
                        v = (v << 3) + s[i++] - '0';
                        if (i < end && s[i] >= '0' && s[i] <= '7') v = (v << 3) + s[i++] - '0';
                    }
                    output[n++] = (byte)v;  // > 0o377 wraps (a DeprecationWarning in 3.11)
                    break;
                }
                case (byte)'x':
                    if (i + 1 < end)
                    {
                        int d1 = HexValue(s[i]), d2 = HexValue(s[i + 1]);
                        if (d1 >= 0 && d2 >= 0)
                        {
                            output[n++] = (byte)((d1 << 4) + d2);
                            i += 2;
                            break;
                        }
                    }
                    error = $"invalid \\x escape at position {i - 2}";
                    return null;
                default:
                    output[n++] = (byte)'\\';
                    i--;
                    break;
            }
        }
        return output.AsSpan(0, n).ToArray();
    }
}
