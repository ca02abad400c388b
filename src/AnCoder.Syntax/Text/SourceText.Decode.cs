using System.Text;

namespace AnCoder.Syntax.Text;

public sealed partial class SourceText
{
    internal const string NullBytesMessage = "source code string cannot contain null bytes";

    /// <summary>
    /// Decodes a file's bytes as <c>ast.parse(bytes)</c> does (CPython 3.11 <c>decode_str</c> in Parser/tokenizer.c):
    /// a UTF-8 BOM is skipped, a PEP 263 cookie on line 1 (or line 2 when line 1 holds only a comment or whitespace)
    /// selects the codec, and the result is re-encoded as UTF-8. Like CPython, a UTF-8 source is not validated here:
    /// invalid UTF-8 is only an error where the tokenizer or string parser looks at it (identifiers, literals), so a
    /// comment may hold any bytes. For a UTF-8 source <see cref="Utf8"/> shares <paramref name="fileBytes"/> when
    /// there is no BOM.
    /// </summary>
    public static bool TryDecode(byte[] fileBytes, out SourceText? text, out PythonSyntaxError? error)
    {
        text = null;
        error = null;
        if (fileBytes.AsSpan().IndexOf((byte)0) >= 0)
        {
            error = new PythonSyntaxError(NullBytesMessage, 0, -1);
            return false;
        }
        bool hasBom = fileBytes.Length >= 3 && fileBytes[0] == 0xEF && fileBytes[1] == 0xBB && fileBytes[2] == 0xBF;
        int bomLength = hasBom ? 3 : 0;
        ReadOnlySpan<byte> body = fileBytes.AsSpan(bomLength);

        string? cookie = FindCodingCookie(body, out string? cookieError);
        if (cookieError is not null)
        {
            error = new PythonSyntaxError(cookieError, 0, -1);
            return false;
        }
        if (cookie is not null && cookie != "utf-8")
        {
            if (hasBom)
            {
                error = new PythonSyntaxError($"encoding problem: {cookie} with BOM", 0, -1);
                return false;
            }
            // The source keeps its own newlines (the tokenizer reads CR and CRLF as CPython's translation would).
            string? decoded = PythonCodecs.TryDecode(body, cookie, out string? decodeError);
            if (decoded is null)
            {
                // CPython decodes after translating newlines: its message's positions refer to that text.
                PythonCodecs.TryDecode(TranslateNewlines(body), cookie, out string? translatedError);
                error = new PythonSyntaxError(translatedError ?? decodeError!, 0, -1);
                return false;
            }
            text = new SourceText(Encoding.UTF8.GetBytes(decoded), 0);
            return true;
        }
        text = new SourceText(hasBom ? fileBytes[3..] : fileBytes, bomLength);
        return true;
    }

    /// <summary><c>ast.parse(str)</c>: the string's UTF-8, with no BOM or cookie processing (PyCF_IGNORE_COOKIE).</summary>
    public static SourceText FromString(string source) => new(Encoding.UTF8.GetBytes(source), 0);

    /// <summary>Wraps bytes already known to be the decoded source (no BOM, no cookie processing).</summary>
    public static SourceText FromUtf8(byte[] utf8) => new(utf8, 0);

    private static byte[] TranslateNewlines(ReadOnlySpan<byte> body)
    {
        var result = new List<byte>(body.Length + 1);
        for (int i = 0; i < body.Length; i++)
        {
            byte b = body[i];
            if (b == '\r')
            {
                result.Add((byte)'\n');
                if (i + 1 < body.Length && body[i + 1] == '\n') i++;
            }
            else result.Add(b);
        }
        if (result.Count == 0 || result[^1] != '\n') result.Add((byte)'\n');
        return result.ToArray();
    }

    /// <summary>
    /// CPython's <c>check_coding_spec</c> on lines 1 and 2 (after newline translation, so a lone CR ends a line and a
    /// last line without a newline still counts). Returns the cookie after <c>get_normal_name</c>, or null.
    /// </summary>
    private static string? FindCodingCookie(ReadOnlySpan<byte> body, out string? error)
    {
        error = null;
        int line1End = LineEnd(body, 0);
        string? cookie = GetCodingSpec(body[..line1End]);
        if (cookie is not null) return cookie;
        if (!IsBlankOrComment(body[..line1End])) return null;
        int line2Start = NextLineStart(body, line1End);
        if (line2Start >= body.Length) return null;
        int line2End = LineEnd(body, line2Start);
        // CPython passes line 2 including its newline; the newline never matters to the search.
        return GetCodingSpec(body[line2Start..line2End], extraLength: 1);
    }

    private static int LineEnd(ReadOnlySpan<byte> body, int start)
    {
        int i = body[start..].IndexOfAny((byte)'\n', (byte)'\r');
        return i < 0 ? body.Length : start + i;
    }

    private static int NextLineStart(ReadOnlySpan<byte> body, int lineEnd)
    {
        if (lineEnd >= body.Length) return body.Length;
        if (body[lineEnd] == '\r' && lineEnd + 1 < body.Length && body[lineEnd + 1] == '\n') return lineEnd + 2;
        return lineEnd + 1;
    }

    private static bool IsBlankOrComment(ReadOnlySpan<byte> line)
    {
        foreach (byte b in line)
        {
            if (b == '#') return true;
            if (b != ' ' && b != '\t' && b != '\f') return false;
        }
        return true;
    }

    /// <summary>CPython's <c>get_coding_spec</c>: "coding[:=]\s*([-\w.]+)" inside the line's only (leading) comment.</summary>
    private static string? GetCodingSpec(ReadOnlySpan<byte> line, int extraLength = 0)
    {
        int size = line.Length + extraLength;
        int i = 0;
        for (; i < size - 6; i++)
        {
            if (line[i] == '#') break;
            if (line[i] != ' ' && line[i] != '\t' && line[i] != '\f') return null;
        }
        for (; i < size - 6; i++)
        {
            if (!line[i..].StartsWith("coding"u8)) continue;
            int t = i + 6;
            if (t >= line.Length || (line[t] != ':' && line[t] != '=')) continue;
            do t++; while (t < line.Length && (line[t] == ' ' || line[t] == '\t'));
            int begin = t;
            while (t < line.Length && (char.IsAsciiLetterOrDigit((char)line[t]) || line[t] == '-' || line[t] == '_' || line[t] == '.'))
                t++;
            if (begin < t) return GetNormalName(Encoding.ASCII.GetString(line[begin..t]));
        }
        return null;
    }

    /// <summary>CPython's <c>get_normal_name</c> (first 12 characters, lowercased, '_' as '-').</summary>
    private static string GetNormalName(string spec)
    {
        var buf = new StringBuilder(12);
        for (int i = 0; i < spec.Length && i < 12; i++)
            buf.Append(spec[i] == '_' ? '-' : char.ToLowerInvariant(spec[i]));
        string b = buf.ToString();
        if (b == "utf-8" || b.StartsWith("utf-8-", StringComparison.Ordinal)) return "utf-8";
        if (b == "latin-1" || b == "iso-8859-1" || b == "iso-latin-1" || b.StartsWith("latin-1-", StringComparison.Ordinal)
            || b.StartsWith("iso-8859-1-", StringComparison.Ordinal) || b.StartsWith("iso-latin-1-", StringComparison.Ordinal))
            return "iso-8859-1";
        return spec;
    }
}
