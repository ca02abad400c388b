using System.Collections.Concurrent;
using System.Text;
using AnCoder.Syntax.Text;
using AnCoder.Syntax.Tokenizing;
using Xunit;
using Xunit.Abstractions;

namespace AnCoder.Syntax.Tests.Tokenizing;

/// <summary>Module mode against Python 3.11's <c>tokenize.tokenize</c> (ENCODING skipped; character columns).</summary>
public sealed class ModuleModeTokenizerTests(ITestOutputHelper output)
{
    /// <summary>Our module-mode tokens in tokenize_dump.py's line format, plus whether we stopped with an error.</summary>
    internal static (List<string> Lines, PythonSyntaxError? Error) ModuleLines(SourceText text)
    {
        byte[] utf8 = text.Utf8;
        // The module's lines end at '\n' only.
        var lineStarts = new List<int> { 0 };
        for (int i = 0; i < utf8.Length; i++)
            if (utf8[i] == '\n') lineStarts.Add(i + 1);
        int CharColumn(int line, int byteColumn)
        {
            if (line < 1 || line > lineStarts.Count) return byteColumn;
            int start = lineStarts[line - 1];
            int end = line < lineStarts.Count ? lineStarts[line] : utf8.Length;
            int inLine = Math.Min(byteColumn, end - start);
            return SourceText.CountChars(utf8.AsSpan(start, inLine)) + (byteColumn - inLine);
        }
        var tokenizer = new PythonTokenizer(text, TokenizerMode.Module);
        var lines = new List<string>();
        while (tokenizer.TryNext(out Token t))
        {
            lines.Add(CPythonReference.FormatLine(CPythonReference.ExactTypeName(t), t.StartLine, CharColumn(t.StartLine, t.StartColumn),
                t.EndLine, CharColumn(t.EndLine, t.EndColumn), tokenizer.Bytes(t)));
        }
        return (lines, tokenizer.Error);
    }

    [Fact]
    public void ModuleModeMatchesTokenizeOnHandWrittenCases()
    {
        var cases = ParserModeTokenizerTests.Cases.Concat(ExtraCases).ToList();
        var sources = cases.Select(c => Encoding.UTF8.GetBytes(c)).ToList();
        var reference = CPythonReference.Run("--module", sources);
        var failures = new List<string>();
        for (int i = 0; i < cases.Count; i++)
        {
            if (!SourceText.TryDecode(sources[i], out SourceText? text, out _)) continue;
            var (lines, error) = ModuleLines(text!);
            var theirs = reference[i].Tokens.Select(t => t.ToString()).ToList();
            int n = Math.Min(lines.Count, theirs.Count);
            int k = 0;
            while (k < n && lines[k] == theirs[k]) k++;
            string label = $"case {i} {System.Text.Json.JsonSerializer.Serialize(cases[i].Length > 50 ? cases[i][..50] : cases[i])}";
            if (k < n) failures.Add($"{label}: token {k}: ours {lines[k]}, tokenize {theirs[k]}");
            else if (lines.Count != theirs.Count) failures.Add($"{label}: {lines.Count} tokens vs tokenize {theirs.Count}");
            else if ((error is not null) != reference[i].ModuleError)
                failures.Add($"{label}: error ours {error?.ToString() ?? "none"}, tokenize {(reference[i].ModuleError ? "raises" : "none")}");
        }
        foreach (var f in failures) output.WriteLine(f);
        Assert.True(failures.Count == 0, $"{failures.Count}/{cases.Count} cases differ:\n" + string.Join("\n", failures));
    }

    private static readonly string[] ExtraCases =
    [
        "x = 'abc\ny = 1\n", "x = rb'abc\n", "s = 'a\\\nb'\n", "s = 'a\\\nb\n", "s = 'a\\\n\\\nb'\n", "s = '''a\\\nb'''\n",
        "s = \"\"\"a\n'''\n\"\"\"\n", "x = 1\\\n+ 2\n", "x = (\n# c\n  1)\n", ")\nx\n", "x = ]\n", "   ", "x\n   ", "# c",
        "x = 1 # c", "if 1:\n  x = 1\n  # c", "²x = 1\n", "x = 0x\n", "x = 012\n", "x = 1.5e\n", "x = 1_\n", "x = 1e5j\n",
        "x = .5j\n", "x = 1.j\n", "x = 09.5e-1_0J\n", "x = 0b12\n", "x = 0o_7\n", "x <> y\n", "x = a!b\n", "x = '€'\n",
        "s = '''a\n", "x = \\\n", "x = \\ \n", "\\", "if 1:\n    x\n  y\n", "x = (\n", "\tif 1:\n", "x = 1\r\ny = 2\r\n",
        "x = 'a\\\r\nb'\r\n", "x = '''a\r\nb'''\r\n", "# c\r\n", "x = 1\ry = 2\n", "f(**{'a': 1})\n", "a ... b .. c\n",
        "lambda\ffor\nbR...'R(else\\\n\r\n\nis -\n}'\'\'\n\\",
    ];

    [Fact]
    public void ModuleModeMatchesTokenizeOnStdlib()
    {
        var files = CPythonReference.StdlibFiles();
        var reference = CPythonReference.RunHashed("--module-stdin", files);
        var failures = new ConcurrentBag<string>();
        int compared = 0;
        Parallel.ForEach(files, path =>
        {
            var theirs = reference[path];
            byte[] bytes = File.ReadAllBytes(path);
            if (!SourceText.TryDecode(bytes, out SourceText? text, out _))
                return; // CPython rejects the file at decoding; tokenize's behaviour there is out of scope
            if (theirs.ModuleError)
            {
                // tokenize raised (e.g. a file that is not valid UTF-8 although compile accepts it): only files
                // CPython accepts are in scope; record it so the summary shows how many were skipped.
                return;
            }
            var (lines, error) = ModuleLines(text!);
            if (error is not null) failures.Add($"{path}: we stop with {error}, tokenize does not");
            else if (lines.Count != theirs.HashedCount || CPythonReference.Sha1(lines) != theirs.Hash)
                failures.Add($"{path}: tokens differ ({lines.Count} vs {theirs.HashedCount})");
            Interlocked.Increment(ref compared);
        });
        foreach (var f in failures) output.WriteLine(f);
        output.WriteLine($"{compared}/{files.Count} files compared, {failures.Count} differ");
        Assert.True(failures.IsEmpty, $"{failures.Count} of {compared} files differ:\n" + string.Join("\n", failures.Take(50)));
        Assert.True(compared >= files.Count - 10, $"only {compared} of {files.Count} files compared");
    }
}
