using System.Text;
using Xunit;

namespace AnCoder.Syntax.Tests.Differential;

/// <summary>
/// Parse drops the tokens of finished top-level statements once a source passes the token window (16,384 tokens), and
/// parses a rejected windowed source again with every token kept. Sources long enough to be windowed several times
/// must still get CPython's exact dump (positions after the compactions) and CPython's exact error.
/// </summary>
public sealed class WindowedParseTests
{
    private static readonly string Filler = string.Concat(Enumerable.Repeat("x = 1\n", 20_000));

    public static readonly string[] Sources =
    [
        Filler + "(\n",                                              // unclosed bracket after compaction
        Filler + "if x:\npass\n",                                    // missing indented block
        Filler + "x = 'abc\n",                                       // tokenizer error
        Filler + "a b\n",                                            // generic error at the last token
        Filler + "f(a b)\n",                                         // second-pass (missing comma) message
        Filler + "print 'hello'\n",                                  // legacy print message
        Filler + "x = a" + string.Concat(Enumerable.Repeat(".a", 3000)) + "\n", // too deep for ast2obj
        "class A:\n" + string.Concat(Enumerable.Repeat("    def f(self):\n        pass\n", 10_000)) + "x = (\n", // one huge statement
    ];

    private static readonly Lazy<string[]> Expected = new(() => CPythonReference.Verdicts(Sources.Select(Encoding.UTF8.GetBytes).ToList()));

    public static IEnumerable<object[]> Cases() => Sources.Select((_, i) => new object[] { i });

    [Theory]
    [MemberData(nameof(Cases))]
    public void RejectedLongSourcesGetCPythonsError(int index)
    {
        var expected = Expected.Value[index];
        var ours = OurParser.Verdict(Encoding.UTF8.GetBytes(Sources[index]));
        Assert.StartsWith("!SyntaxError", expected);
        // ast2obj's RecursionError has our own message (see AstDepth); its verdict must agree, as in DeepNestingTests.
        if (expected.Contains("maximum recursion depth", StringComparison.Ordinal)) Assert.StartsWith("!SyntaxError: too many nested levels", ours);
        else Assert.Equal(expected, ours);
    }

    /// <summary>The memory bound behind a 27 MB file's peak RSS, in machine-independent units: the tokens a full
    /// Parse holds at once stay at one window (plus the statement being parsed), not the file's ~8 tokens per 27 bytes.</summary>
    [Fact]
    public void FullParseOfALongSourceHoldsOneWindowOfTokens()
    {
        var source = AnCoder.Syntax.Benchmarking.ParseBenchmark.GeneratedSource(2_000_000);
        Assert.True(PythonParser.Parse(source).Success);
        int held = AnCoder.Syntax.Parsing.Parser.LastPeakTokensHeld;
        Assert.InRange(held, 16_384, 2 * 16_384 + 1_000); // the file has ~590,000 tokens
    }

    [Fact]
    public void AcceptedLongSourcesDumpAsCPython()
    {
        var sources = new[]
        {
            string.Concat(Enumerable.Repeat("def f(a, b=1):\n    return [x for x in a if x > b]\n\nx = f'{a!r:>{w}}' 'é'\n", 2000)),
            string.Concat(Enumerable.Repeat("x = 1\n", 40_000)) + "y = (1,\n 2)\n",
        };
        var directory = Directory.CreateTempSubdirectory("ancoder-windowed-");
        try
        {
            var paths = sources.Select((s, i) => Path.Combine(directory.FullName, $"{i}.py")).ToArray();
            for (int i = 0; i < sources.Length; i++) File.WriteAllText(paths[i], sources[i]);
            var expected = CPythonReference.DumpFiles(paths);
            foreach (var path in paths)
                Assert.True(expected[path] == OurParser.Dump(File.ReadAllBytes(path)), $"dump of {Path.GetFileName(path)} differs from CPython's");
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
