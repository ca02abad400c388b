using System.Text;

namespace AnCoder.Syntax.Parsing.Strings;

/// <summary>
/// Shares equal short <c>str</c> constants within a parse: one string object per distinct value instead of one per
/// literal. Source code repeats its short literals ('utf-8', '', keys, format specs, f-string text between fields),
/// and a parsed tree kept every copy: 0.73 MB of the 26 MB tree of a 3 MB generated file
/// (docs/parser-verification.md, "Child lists and constants"). Strings are immutable and the AST compares constants
/// by value, so sharing cannot be observed except through reference identity.
/// </summary>
/// <remarks>One table per thread (a parse and its f-string sub-parsers run on one thread), emptied when the main
/// parser is released (<see cref="Parser.Release"/>), so no string outlives its tree because of the table. Only values
/// up to <see cref="MaxLength"/> characters are shared (longer ones rarely repeat, and a lookup would have to hash
/// them), and at most <see cref="MaxCount"/> per parse, which bounds the table a file of distinct literals can
/// grow.</remarks>
internal static class StringConstants
{
    public const int MaxLength = 32;
    private const int MaxCount = 1 << 16;

    [ThreadStatic] private static HashSet<string>? t_table;

    private static HashSet<string> Table => t_table ??= new HashSet<string>(StringComparer.Ordinal);

    /// <summary>The shared string equal to the valid UTF-8 <paramref name="utf8"/> (decoded without allocating when
    /// that value was seen before in this parse).</summary>
    public static string FromUtf8(ReadOnlySpan<byte> utf8)
    {
        if (utf8.IsEmpty) return string.Empty;
        if (utf8.Length > MaxLength) return Encoding.UTF8.GetString(utf8);
        Span<char> chars = stackalloc char[MaxLength]; // UTF-8 never needs more chars than bytes
        int n = Encoding.UTF8.GetChars(utf8, chars);
        var lookup = Table.GetAlternateLookup<ReadOnlySpan<char>>();
        if (lookup.TryGetValue(chars[..n], out var shared)) return shared;
        var value = new string(chars[..n]);
        if (lookup.Set.Count < MaxCount) lookup.Set.Add(value);
        return value;
    }

    /// <summary>The shared string equal to <paramref name="value"/> (which becomes the shared one when it is new).</summary>
    public static string Share(string value)
    {
        if (value.Length == 0) return string.Empty;
        if (value.Length > MaxLength) return value;
        var table = Table;
        if (table.TryGetValue(value, out var shared)) return shared;
        if (table.Count < MaxCount) table.Add(value);
        return value;
    }

    /// <summary>Forgets this parse's strings (they belong to its tree); the table keeps its capacity.</summary>
    public static void Clear()
    {
        var table = t_table;
        if (table is not { Count: > 0 }) return;
        // A table grown by a file of many distinct literals is dropped rather than kept at that size per thread.
        if (table.Count > 4096) t_table = null;
        else table.Clear();
    }
}
