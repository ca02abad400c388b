using AnCoder.Syntax.Ast;

namespace AnCoder.Syntax.Tests.Differential;

/// <summary>Our parser's output in the reference format (what `ancoder parse --dump` prints for one file).</summary>
public static class OurParser
{
    /// <summary>The AST dump, or <c>!SyntaxError: msg (line:col)</c>, or <c>!Exception: ...</c> when the parser threw.</summary>
    public static string Dump(byte[] source)
    {
        ParseResult result;
        try
        {
            result = PythonParser.Parse(source);
        }
        catch (Exception e)
        {
            return $"!Exception: {e.GetType().Name}: {e.Message}";
        }
        if (result.Error is { } error) return ErrorLine(error);
        return AstDump.Dump(result.Module!).TrimEnd('\n');
    }

    /// <summary><c>ok</c>, <c>!SyntaxError: msg (line:col)</c> or <c>!Exception: ...</c>.</summary>
    public static string Verdict(byte[] source)
    {
        try
        {
            var result = PythonParser.Parse(source);
            return result.Error is { } error ? ErrorLine(error) : "ok";
        }
        catch (Exception e)
        {
            return $"!Exception: {e.GetType().Name}: {e.Message}";
        }
    }

    public static string ErrorLine(PythonSyntaxError error) => $"!SyntaxError: {error.Message} ({error.Line}:{error.Column})";

    public static bool IsReject(string verdictOrDump) => verdictOrDump.StartsWith("!SyntaxError:", StringComparison.Ordinal);
}

/// <summary>Compares our output with CPython's for one input.</summary>
public static class Agreement
{
    /// <summary>null when the two agree: identical dumps, or both rejected (the messages may differ).
    /// Otherwise a one-line description of the first difference.</summary>
    public static string? Difference(string ours, string cpython)
    {
        bool ourReject = OurParser.IsReject(ours), theirReject = OurParser.IsReject(cpython);
        if (ourReject && theirReject) return null;
        if (ours == cpython) return null;
        if (ourReject || theirReject || ours.StartsWith("!Exception", StringComparison.Ordinal))
            return $"ours: {FirstLine(ours)} | cpython: {FirstLine(cpython)}";
        var ourLines = ours.Split('\n');
        var theirLines = cpython.Split('\n');
        int n = Math.Min(ourLines.Length, theirLines.Length);
        for (int i = 0; i < n; i++)
        {
            if (ourLines[i] != theirLines[i])
                return $"dump line {i + 1}: ours `{ourLines[i].Trim()}` | cpython `{theirLines[i].Trim()}`";
        }
        return $"dump length: ours {ourLines.Length} lines | cpython {theirLines.Length} lines";
    }

    /// <summary>Same accept/reject verdict, and our parser did not throw.</summary>
    public static bool VerdictsAgree(string ours, string cpython) =>
        !ours.StartsWith("!Exception", StringComparison.Ordinal) && OurParser.IsReject(ours) == OurParser.IsReject(cpython);

    /// <summary>Both rejected, but with a different message or location (reported, not a failure).</summary>
    public static bool MessagesDiffer(string ours, string cpython) =>
        OurParser.IsReject(ours) && OurParser.IsReject(cpython) && ours != cpython;

    /// <summary>The items reordered so that the first item of every group comes first (then the second of each...):
    /// a failure list then shows many different files, not 20 failures of the first one.</summary>
    public static List<T> SpreadAcrossGroups<T>(IEnumerable<T> items, Func<T, string> group)
    {
        var ranked = items.Select((item, index) => (item, index)).GroupBy(x => group(x.item))
            .SelectMany(g => g.Select((x, rank) => (x.item, x.index, rank)));
        return ranked.OrderBy(x => x.rank).ThenBy(x => x.index).Select(x => x.item).ToList();
    }

    private static string FirstLine(string text)
    {
        int newline = text.IndexOf('\n');
        var line = newline < 0 ? text : text[..newline];
        return line.Length > 200 ? line[..200] + "…" : line;
    }
}
