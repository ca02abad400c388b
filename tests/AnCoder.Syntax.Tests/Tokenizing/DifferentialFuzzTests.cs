using System.Text;
using AnCoder.Syntax.Text;
using AnCoder.Syntax.Tokenizing;
using Xunit;
using Xunit.Abstractions;

namespace AnCoder.Syntax.Tests.Tokenizing;

/// <summary>Random Python-like fragments, tokenized by us and by CPython's C tokenizer (seeded, so reproducible).</summary>
public sealed class DifferentialFuzzTests(ITestOutputHelper output)
{
    private static readonly string[] Fragments =
    [
        "if", "x", "y1", " ", " ", "  ", "\n", "\n", "\n", "    ", "\t", "(", ")", "[", "]", "{", "}", "'", "\"", "'''",
        "\"\"\"", "\\", "\\\n", "#", "# c", "1", "0", "00", "_", "e", "j", "0x", "0b", "0o", ".", "..", "=", ":", ",",
        "rb", "f", "u", "b", "R", "é", "€", "$", "!", "?", "`", "\r\n", "\r", "\f", "or", "else", "and", "in", "if",
        "for", "not", "is", "1_0", "1e", "+", "-", "->", "<>", "!=", "**=", "...", ":=", "\u00a0", "\x01", "x\u0301",
        "ﬁ", "a'b'", "f'{x}'", "1.5", ".5", "9", "07", "0_", "1__", "lambda", "\v",
    ];

    /// <summary>Whole lines with random indentation (spaces, tabs, form feeds, backslashes), for the
    /// indentation rules (tab widths 8 and 1, form feed resets, continuation lines, dedent matching).</summary>
    private static string RandomIndentedProgram(Random random)
    {
        string[] indentPieces = [" ", " ", "  ", "    ", "\t", "\f", " \t", "\t ", "\\\n", "  \\\n"];
        string[] bodies = ["x", "if 1:", "pass", "# c", "", "(1,", "2)", "'''a", "b'''", "x = \\", "y", "else:", "\\"];
        string[] endings = ["\n", "\n", "\n", "\r\n", "\r"];
        var sb = new StringBuilder();
        int lines = random.Next(1, 9);
        for (int l = 0; l < lines; l++)
        {
            int pieces = random.Next(0, 4);
            for (int k = 0; k < pieces; k++) sb.Append(indentPieces[random.Next(indentPieces.Length)]);
            sb.Append(bodies[random.Next(bodies.Length)]);
            if (l < lines - 1 || random.Next(2) == 0) sb.Append(endings[random.Next(endings.Length)]);
        }
        return sb.ToString();
    }

    [Fact]
    public void RandomIndentationMatchesBothCPythonTokenizers()
    {
        int seed = int.TryParse(Environment.GetEnvironmentVariable("ANCODER_FUZZ_SEED"), out int s) ? s : 311;
        int total = int.TryParse(Environment.GetEnvironmentVariable("ANCODER_FUZZ_COUNT"), out int n) ? n : 3000;
        var random = new Random(seed);
        var cases = Enumerable.Range(0, total).Select(_ => RandomIndentedProgram(random)).ToList();
        var sources = cases.Select(c => Encoding.UTF8.GetBytes(c)).ToList();
        var cReference = CPythonReference.Run("--c", sources);
        var moduleReference = CPythonReference.Run("--module", sources);
        var failures = new List<string>();
        for (int i = 0; i < cases.Count; i++)
        {
            string label = $"case {i} {System.Text.Json.JsonSerializer.Serialize(cases[i])}";
            string? failure = Compare(SourceText.FromUtf8(sources[i]), cReference[i]);
            if (failure is not null) failures.Add($"{label} (parser mode): {failure}");
            var (ours, error) = ModuleModeTokenizerTests.ModuleLines(SourceText.FromUtf8(sources[i]));
            var expected = moduleReference[i].Tokens.Select(t => t.ToString()).ToList();
            if (!ours.SequenceEqual(expected) || (error is not null) != moduleReference[i].ModuleError)
            {
                int k = 0;
                while (k < Math.Min(ours.Count, expected.Count) && ours[k] == expected[k]) k++;
                failures.Add($"{label} (module mode): at token {k}: ours {(k < ours.Count ? ours[k] : "end")}, " +
                             $"tokenize {(k < expected.Count ? expected[k] : "end")}; error ours {error?.ToString() ?? "none"}");
            }
        }
        foreach (var f in failures) output.WriteLine(f);
        Assert.True(failures.Count == 0, $"{failures.Count}/{cases.Count} cases differ:\n" + string.Join("\n", failures.Take(40)));
    }

    private static readonly HashSet<string> SilentTokenizerMessages =
    [
        "unindent does not match any outer indentation level", "inconsistent use of tabs and spaces in indentation",
        "too many levels of indentation", "unexpected EOF while parsing",
        "unexpected character after line continuation character",
    ];

    [Fact]
    public void RandomFragmentsMatchCTokenizer()
    {
        // ANCODER_FUZZ_SEED / ANCODER_FUZZ_COUNT explore further locally; CI uses the fixed defaults.
        int seed = int.TryParse(Environment.GetEnvironmentVariable("ANCODER_FUZZ_SEED"), out int s) ? s : 20261128;
        int total = int.TryParse(Environment.GetEnvironmentVariable("ANCODER_FUZZ_COUNT"), out int n) ? n : 3000;
        var random = new Random(seed);
        var cases = new List<string>();
        for (int i = 0; i < total; i++)
        {
            var sb = new StringBuilder();
            int count = random.Next(1, 25);
            for (int k = 0; k < count; k++) sb.Append(Fragments[random.Next(Fragments.Length)]);
            cases.Add(sb.ToString());
        }
        var sources = cases.Select(c => Encoding.UTF8.GetBytes(c)).ToList();
        var reference = CPythonReference.Run("--c", sources);
        var failures = new List<string>();
        for (int i = 0; i < cases.Count; i++)
        {
            string? failure = Compare(SourceText.FromUtf8(sources[i]), reference[i]);
            if (failure is not null)
                failures.Add($"case {i} {System.Text.Json.JsonSerializer.Serialize(cases[i])}: {failure}");
        }
        foreach (var f in failures) output.WriteLine(f);
        Assert.True(failures.Count == 0, $"{failures.Count}/{cases.Count} cases differ:\n" + string.Join("\n", failures.Take(40)));
    }

    [Fact]
    public void RandomFragmentsMatchTokenizeModule()
    {
        int seed = int.TryParse(Environment.GetEnvironmentVariable("ANCODER_FUZZ_SEED"), out int s) ? s : 1128;
        int total = int.TryParse(Environment.GetEnvironmentVariable("ANCODER_FUZZ_COUNT"), out int n) ? n : 3000;
        var random = new Random(seed);
        var cases = new List<string>();
        for (int i = 0; i < total; i++)
        {
            var sb = new StringBuilder();
            int count = random.Next(1, 25);
            for (int k = 0; k < count; k++) sb.Append(Fragments[random.Next(Fragments.Length)]);
            cases.Add(sb.ToString());
        }
        var sources = cases.Select(c => Encoding.UTF8.GetBytes(c)).ToList();
        var reference = CPythonReference.Run("--module", sources);
        var failures = new List<string>();
        for (int i = 0; i < cases.Count; i++)
        {
            var (ours, error) = ModuleModeTokenizerTests.ModuleLines(SourceText.FromUtf8(sources[i]));
            var expected = reference[i].Tokens.Select(t => t.ToString()).ToList();
            string? failure = null;
            for (int k = 0; k < Math.Min(ours.Count, expected.Count) && failure is null; k++)
                if (ours[k] != expected[k]) failure = $"token {k}: ours {ours[k]}, tokenize {expected[k]}";
            if (failure is null && ours.Count != expected.Count) failure = $"{ours.Count} tokens vs tokenize {expected.Count}";
            if (failure is null && (error is not null) != reference[i].ModuleError)
                failure = $"error ours {error?.ToString() ?? "none"}, tokenize {(reference[i].ModuleError ? "raises" : "none")}";
            if (failure is not null)
                failures.Add($"case {i} {System.Text.Json.JsonSerializer.Serialize(cases[i])}: {failure}");
        }
        foreach (var f in failures) output.WriteLine(f);
        Assert.True(failures.Count == 0, $"{failures.Count}/{cases.Count} cases differ:\n" + string.Join("\n", failures.Take(40)));
    }

    private static string? Compare(SourceText text, ReferenceFile theirs)
    {
        var tokenizer = new PythonTokenizer(text);
        var ours = new List<string>();
        while (tokenizer.TryNext(out Token t))
            if (t.Kind != TokenKind.EndMarker) ours.Add(StdlibTokenizerTests.ParserModeLine(tokenizer, t));
        var expected = theirs.Tokens.Select(t => t.ToString()).ToList();
        for (int k = 0; k < Math.Min(ours.Count, expected.Count); k++)
            if (ours[k] != expected[k]) return $"token {k}: ours {ours[k]}, CPython {expected[k]}";
        var error = tokenizer.Error;
        if (theirs.TokenizerError is not null)
        {
            if (error is null) return $"CPython's tokenizer raises ({theirs.TokenizerError}), ours does not";
            if (error.Message != theirs.TokenizerError || error.Line != theirs.TokenizerErrorLine || error.Column != theirs.TokenizerErrorOffset)
                return $"error ours {error}, CPython {theirs.TokenizerErrorLine}:{theirs.TokenizerErrorOffset} {theirs.TokenizerError}";
            return ours.Count == expected.Count ? null : $"{ours.Count} tokens before the error vs CPython {expected.Count}";
        }
        if (ours.Count != expected.Count) return $"{ours.Count} tokens vs CPython {expected.Count}";
        if (error is null) return theirs.AstMessage is not null && SilentTokenizerMessages.Contains(theirs.AstMessage)
            ? $"ast.parse reports a tokenizer error ({theirs.AstMessage}), ours has none" : null;
        // CPython's C tokenizer iterator stops silently on these; ast.parse shows the message when it gets there.
        if (error.Message == theirs.AstMessage && (error.Line != theirs.AstLine || error.Column != theirs.AstOffset))
            return $"error ours {error}, ast.parse {theirs.AstLine}:{theirs.AstOffset} {theirs.AstMessage}";
        if (!SilentTokenizerMessages.Contains(error.Message) && !error.Message.EndsWith("was never closed"))
            return $"we reject ({error}) where CPython's tokenizer does not";
        return null;
    }
}
