using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using AnCoder.Syntax.Ast;
using AnCoder.Syntax.Parsing.Strings;
using AnCoder.Syntax.Text;
using AnCoder.Syntax.Tokenizing;
using Xunit;
using Xunit.Abstractions;
using Assert = Xunit.Assert;

namespace AnCoder.Syntax.Tests.Strings;

/// <summary>
/// Real files: every run of adjacent STRING tokens (from our tokenizer) goes through StringLiteralParser with the
/// fake expression parser and is compared with CPython's string nodes (strings_corpus.py): values, kinds, positions,
/// conversions and where each replacement-field expression starts. By default a set of literal-heavy stdlib files;
/// STRINGS_CORPUS=all runs the whole stdlib (Lib/, without site-packages), STRINGS_CORPUS=DIR every .py file under DIR.
/// </summary>
public class StringCorpusTests
{
    private readonly ITestOutputHelper _output;
    public StringCorpusTests(ITestOutputHelper output) => _output = output;

    private static readonly string[] s_defaultFiles =
    {
        "test/test_fstring.py", "test/test_traceback.py", "test/test_codecs.py", "test/test_unicode.py",
        "html/entities.py", "test/test_decimal.py", "test/test_string_literals.py", "test/test_ucn.py",
        "test/test_bytes.py", "email/_header_value_parser.py", "test/test_grammar.py", "test/test_tokenize.py",
        "test/test_unicodedata.py", "test/test_str.py", "test/test_format.py", "test/test_ast.py",
        "test/test_re.py", "test/test_utf8source.py", "test/test_source_encoding.py", "test/test_pep263.py",
    };

    [Fact]
    public void StringNodesMatchCPython()
    {
        string stdlib = RunPython("-c", "import sysconfig;print(sysconfig.get_paths()['stdlib'])").Trim();
        string? corpus = Environment.GetEnvironmentVariable("STRINGS_CORPUS");
        string[] files = corpus == "all"
            ? Directory.GetFiles(stdlib, "*.py", SearchOption.AllDirectories)
                .Where(f => !f.Contains("site-packages")).OrderBy(f => f, StringComparer.Ordinal).ToArray()
            : corpus != null && Directory.Exists(corpus)
                ? Directory.GetFiles(corpus, "*.py", SearchOption.AllDirectories).OrderBy(f => f, StringComparer.Ordinal).ToArray()
                : s_defaultFiles.Select(f => Path.Combine(stdlib, f)).Where(File.Exists).ToArray();
        Assert.NotEmpty(files);

        string script = Path.Combine(Path.GetDirectoryName(ThisFile())!, "strings_corpus.py");
        string expectedAll = RunPython(script + " --stdin-list", null, string.Join("\0", files));
        var expectedByFile = SplitByFile(expectedAll);

        int compared = 0, nodes = 0;
        var failures = new List<string>();
        foreach (var file in files)
        {
            if (!expectedByFile.TryGetValue(file, out var expected)) { failures.Add($"{file}: no CPython output"); continue; }
            if (expected == null) continue;  // CPython rejects the file
            var actual = DumpOurs(File.ReadAllBytes(file), out string? problem);
            if (problem != null) { failures.Add($"{file}: {problem}"); continue; }
            compared++;
            nodes += expected.Count(l => !l.StartsWith(' '));
            int n = Math.Min(expected.Count, actual.Count);
            int i = 0;
            while (i < n && expected[i] == actual[i]) i++;
            if (i < n || expected.Count != actual.Count)
                failures.Add($"{file}: first difference at dump line {i}:\n  expected {Clip(i < expected.Count ? expected[i] : "<end>")}\n  actual   {Clip(i < actual.Count ? actual[i] : "<end>")}");
        }
        _output.WriteLine($"{compared} files, {nodes} string nodes compared, {failures.Count} mismatching files");
        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(30)));
    }

    private static string Clip(string s) => s.Length > 400 ? s[..400] + "..." : s;

    private static List<string> DumpOurs(byte[] fileBytes, out string? problem)
    {
        problem = null;
        var lines = new List<string>();
        if (!SourceText.TryDecode(fileBytes, out var source, out var decodeError)) { problem = "decode: " + decodeError; return lines; }
        var tokens = PythonTokenizer.Tokenize(source!).Tokens;
        var fake = new FakeExpressionParser();
        for (int i = 0; i < tokens.Count; i++)
        {
            if (tokens[i].Kind != TokenKind.String) continue;
            int j = i;
            while (j < tokens.Count && tokens[j].Kind == TokenKind.String) j++;
            var run = tokens.Skip(i).Take(j - i).ToArray();
            var node = StringLiteralParser.Concatenate(source!, run, fake, out var error);
            if (node == null) { problem = $"line {run[0].StartLine}: {error}"; return lines; }
            StringLiteralParserTests.Dump(node, 0, lines);
            i = j - 1;
        }
        return lines;
    }

    private static Dictionary<string, List<string>?> SplitByFile(string output)
    {
        var result = new Dictionary<string, List<string>?>();
        List<string>? current = null;
        foreach (var line in output.Split('\n'))
        {
            if (line.StartsWith("# "))
            {
                bool reject = line.EndsWith(" REJECT");
                string path = reject ? line[2..^" REJECT".Length] : line[2..];
                current = reject ? null : new List<string>();
                result[path] = current;
            }
            else if (line.Length > 0) current?.Add(line);
        }
        return result;
    }

    private static string RunPython(string arguments, string? extra = null, string? stdin = null)
    {
        var psi = new ProcessStartInfo("python3", extra == null ? arguments : $"{arguments} \"{extra}\"")
        {
            RedirectStandardInput = stdin != null,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
        };
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin != null)
        {
            process.StandardInput.Write(stdin);
            process.StandardInput.Close();
        }
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException("python3 failed: " + stderr.Result);
        return stdout.Result;
    }

    private static string ThisFile([System.Runtime.CompilerServices.CallerFilePath] string path = "") => path;
}
