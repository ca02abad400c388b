using System.Text;

namespace AnCoder.Syntax.Text;

/// <summary>
/// Decoding of a source under a PEP 263 cookie the way CPython's <c>codecs.lookup</c> + <c>bytes.decode</c> do:
/// single-byte codecs use CPython's exact tables (generated), multi-byte ones map to .NET encodings.
/// </summary>
internal static partial class PythonCodecs
{
    /// <summary>Decodes <paramref name="bytes"/> with the Python codec <paramref name="name"/>; on failure returns
    /// null and a message worded like the exception CPython reports.</summary>
    public static string? TryDecode(ReadOnlySpan<byte> bytes, string name, out string? error)
    {
        error = null;
        string? module = Lookup(name);
        if (module is null || !Kinds.TryGetValue(module, out string? kind) || kind == "unavailable")
        {
            error = "unknown encoding: " + name;
            return null;
        }
        if (kind == "nontext")
        {
            error = $"'{name}' is not a text encoding; use codecs.decode() to handle arbitrary codecs";
            return null;
        }
        if (kind == "charmap")
            return DecodeCharmap(bytes, module, CharmapTables[module], out error);
        return DecodeOther(bytes, module, out error);
    }

    /// <summary><c>encodings.search_function</c>'s lookup: lowercase, collapse punctuation runs to '_', aliases.</summary>
    private static string? Lookup(string name)
    {
        var sb = new StringBuilder(name.Length);
        bool punct = false;
        foreach (char c in name)
        {
            if (char.IsAsciiLetterOrDigit(c) || c == '.')
            {
                if (punct && sb.Length > 0) sb.Append('_');
                sb.Append(char.ToLowerInvariant(c));
                punct = false;
            }
            else punct = true;
        }
        string norm = sb.ToString();
        if (Aliases.TryGetValue(norm, out string? module)) return module;
        if (Aliases.TryGetValue(norm.Replace('.', '_'), out module)) return module;
        return Kinds.ContainsKey(norm) ? norm : null;
    }

    private static string? DecodeCharmap(ReadOnlySpan<byte> bytes, string module, string table, out string? error)
    {
        error = null;
        var chars = new char[bytes.Length];
        for (int i = 0; i < bytes.Length; i++)
        {
            char c = table[bytes[i]];
            if (c == '\uFFFE')
            {
                error = $"'charmap' codec can't decode byte 0x{bytes[i]:x2} in position {i}: character maps to <undefined>";
                return null;
            }
            chars[i] = c;
        }
        return new string(chars);
    }

    private static readonly Lazy<bool> ProviderRegistered = new(() =>
    {
        Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);
        return true;
    });

    private static string? DecodeOther(ReadOnlySpan<byte> bytes, string module, out string? error)
    {
        error = null;
        switch (module)
        {
            case "ascii":
                for (int i = 0; i < bytes.Length; i++)
                {
                    if (bytes[i] >= 0x80)
                    {
                        error = $"'ascii' codec can't decode byte 0x{bytes[i]:x2} in position {i}: ordinal not in range(128)";
                        return null;
                    }
                }
                return Encoding.ASCII.GetString(bytes);
            case "latin_1":
                return Encoding.Latin1.GetString(bytes);
            case "utf_8":
                return DecodeUtf8Strict(bytes, "utf-8", out error);
            case "utf_8_sig":
                if (bytes.Length >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF) bytes = bytes[3..];
                return DecodeUtf8Strict(bytes, "utf-8", out error);
            case "undefined":
                error = "decoding with 'undefined' codec failed (UnicodeError: undefined encoding)";
                return null;
        }
        int codePage = module switch
        {
            "utf_16" => 1200, "utf_16_le" => 1200, "utf_16_be" => 1201,
            "utf_32" => 12000, "utf_32_le" => 12000, "utf_32_be" => 12001,
            "utf_7" => 65000,
            "shift_jis" or "cp932" or "shift_jis_2004" or "shift_jisx0213" => 932,
            "euc_jp" or "euc_jis_2004" or "euc_jisx0213" => 51932,
            "gbk" or "gb2312" => 936,
            "gb18030" => 54936,
            "big5" or "cp950" or "big5hkscs" => 950,
            "cp949" => 949,
            "euc_kr" => 51949,
            "johab" => 1361,
            "hz" => 52936,
            "iso2022_jp" or "iso2022_jp_1" or "iso2022_jp_2" or "iso2022_jp_2004" or "iso2022_jp_3"
                or "iso2022_jp_ext" => 50220,
            "iso2022_kr" => 50225,
            _ => 0,
        };
        if (codePage == 0)
        {
            // idna, punycode, unicode_escape, raw_unicode_escape, charmap: not supported as source encodings here.
            error = $"unsupported source encoding: {module}";
            return null;
        }
        _ = ProviderRegistered.Value;
        try
        {
            var encoding = Encoding.GetEncoding(codePage, EncoderFallback.ExceptionFallback, DecoderFallback.ExceptionFallback);
            if ((module == "utf_16" || module == "utf_32") && bytes.Length >= 2)
            {
                // Python's utf-16/utf-32 honour and strip a BOM.
                if (module == "utf_16" && bytes[0] == 0xFE && bytes[1] == 0xFF) { encoding = new UnicodeEncoding(true, false, true); bytes = bytes[2..]; }
                else if (module == "utf_16" && bytes[0] == 0xFF && bytes[1] == 0xFE) bytes = bytes[2..];
                else if (module == "utf_32" && bytes.Length >= 4 && bytes[0] == 0xFF && bytes[1] == 0xFE && bytes[2] == 0 && bytes[3] == 0) bytes = bytes[4..];
            }
            return encoding.GetString(bytes);
        }
        catch (Exception ex) when (ex is DecoderFallbackException or ArgumentException or NotSupportedException)
        {
            error = $"'{module.Replace('_', '-')}' codec can't decode bytes: {ex.Message}";
            return null;
        }
    }

    internal static string? DecodeUtf8Strict(ReadOnlySpan<byte> bytes, string codecName, out string? error)
    {
        error = null;
        if (System.Text.Unicode.Utf8.IsValid(bytes))
            return Encoding.UTF8.GetString(bytes);
        int position = Utf8Validation.FirstInvalidIndex(bytes, out string reason, out int errorLength);
        error = Utf8Validation.DecodeErrorMessage(codecName, bytes, position, errorLength, reason);
        return null;
    }
}
