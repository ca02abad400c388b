using System.Diagnostics;
using System.Text;
using Xunit;
using Xunit.Abstractions;

namespace AnCoder.Syntax.Tests.Differential;

/// <summary>
/// (d) Deep nesting: the verdicts must match CPython's, without a stack overflow. Our side runs in a child process
/// (<see cref="ParserProcess"/>: several files on thread-pool threads, as `ancoder parse` does), one per shape, so that
/// a stack overflow, which ends a process, fails only the inputs that cause it and not the whole test run.
/// </summary>
public sealed class DeepNestingTests(ITestOutputHelper output) : IDisposable
{
    private readonly DirectoryInfo scratch = Directory.CreateTempSubdirectory("ancoder-deep-");

    public void Dispose() => scratch.Delete(recursive: true);

    /// <summary>Deep nesting of every kind at sizes around CPython's limits (200 parentheses, 100 indents, the
    /// parser's 6000-level stack, the recursion limit of AST construction): the verdicts must match CPython's.</summary>
    [Fact]
    public void DeepNestingVerdictsMatchCPython()
    {
        // Reference/ast_dump.py judges with ast.parse's default recursion limit (trees nested deeper than ~2,991 nodes
        // are a RecursionError there); the sizes go well past it. (Much deeper left-recursive chains, e.g. 300,000
        // `.a`, overflow CPython's own C stack: there is no reference.)
        int[] sizes = [1, 2, 3, 4, 5, 50, 99, 100, 101, 199, 200, 201, 500, 1000, 1500, 2000, 2999, 3000, 3001, 4000, 5000, 5999, 6000, 6001,
                       10_000, 33_333, 50_000, 99_999, 100_000, 100_001];
        var cases = new List<(string Name, byte[] Source)>();
        foreach (var (shape, make) in DeepShapes)
            foreach (var n in sizes)
            {
                // Indented blocks grow quadratically (n levels of n/2 spaces); CPython stops at 100 levels anyway.
                if (shape.StartsWith("nested") && shape.EndsWith("blocks") && n > 3001) continue;
                cases.Add(($"{shape} n={n}", Encoding.UTF8.GetBytes(make(n))));
            }
        var clock = Stopwatch.StartNew();
        var cpython = CPythonReference.Verdicts(cases.Select(c => c.Source).ToList());
        output.WriteLine($"{cases.Count} deep-nesting cases, CPython verdicts in {clock.Elapsed.TotalSeconds:F1} s");

        // Our verdicts: one child process per shape (several files, so it parses them on thread-pool threads).
        var paths = cases.Select((c, i) => Path.Combine(scratch.FullName, $"{i:D4}.py")).ToArray();
        for (int i = 0; i < cases.Count; i++) File.WriteAllBytes(paths[i], cases[i].Source);
        clock.Restart();
        var ours = new string[cases.Count];
        var byShape = Enumerable.Range(0, cases.Count).GroupBy(i => cases[i].Name[..cases[i].Name.LastIndexOf(" n=", StringComparison.Ordinal)]);
        Parallel.ForEach(byShape, new ParallelOptions { MaxDegreeOfParallelism = 2 }, shape =>
        {
            var indices = shape.ToArray();
            var verdicts = ParserProcess.Verdicts(indices.Select(i => paths[i]).ToArray());
            for (int k = 0; k < indices.Length; k++) ours[indices[k]] = verdicts[k];
        });
        output.WriteLine($"our verdicts (child processes) in {clock.Elapsed.TotalSeconds:F1} s");

        var failures = new List<string>();
        for (int i = 0; i < cases.Count; i++)
        {
            if (!Agreement.VerdictsAgree(ours[i], cpython[i]))
                failures.Add($"{cases[i].Name}: ours {ours[i]} | cpython {cpython[i]}");
        }
        Assert.True(failures.Count == 0, $"{failures.Count} of {cases.Count} deep-nesting verdicts differ from CPython. First 40:\n" + string.Join('\n', failures.Take(40)));
    }

    internal static readonly (string Shape, Func<int, string> Make)[] DeepShapes =
    [
        ("parentheses", n => new string('(', n) + new string(')', n)),
        ("unclosed parentheses", n => new string('(', n)),
        ("parenthesised name", n => new string('(', n) + "x" + new string(')', n)),
        ("brackets", n => new string('[', n) + new string(']', n)),
        ("braces", n => "x = " + Repeat("{1: ", n) + "1" + new string('}', n)),
        ("unary minus", n => new string('-', n) + "x"),
        ("unary invert", n => new string('~', n) + "x"),
        ("not", n => Repeat("not ", n) + "x"),
        ("await", n => "async def f():\n    " + Repeat("await ", n) + "x\n"),
        ("lambdas", n => Repeat("lambda: ", n) + "x"),
        ("conditional expressions", n => Repeat("a if b else ", n) + "c"),
        ("power chain", n => Repeat("2 ** ", n) + "2"),
        ("sum chain", n => "1" + Repeat("+1", n)),
        ("attribute chain", n => "x" + Repeat(".a", n)),
        ("call chain", n => "f" + Repeat("()", n)),
        ("subscript chain", n => "x" + Repeat("[0]", n)),
        ("nested calls", n => Repeat("f(", n) + new string(')', n)),
        ("nested if blocks", n => NestedBlocks(n, "if x:")),
        ("nested def blocks", n => NestedBlocks(n, "def f():")),
        ("nested f-strings", NestedFStrings),
        ("nested f-string format specs", n => "f'" + Repeat("{x:", n) + new string('}', n) + "'"),
        ("comparison chain", n => "a" + Repeat(" < a", n)),
        ("boolean chain", n => "a" + Repeat(" and a", n)),
        ("tuple of tuples", n => Repeat("(1, ", n) + "1" + new string(')', n)),
        ("starred targets", n => Repeat("[*", n) + "a" + new string(']', n) + " = b"),
    ];

    private static string Repeat(string s, int n) => new StringBuilder(s.Length * n).Insert(0, s, n).ToString();

    private static string NestedBlocks(int n, string header)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < n; i++) sb.Append(' ', i).Append(header).Append('\n');
        return sb.Append(' ', n).Append("pass\n").ToString();
    }

    /// <summary>f-strings nested through the four quote kinds (3.11 cannot reuse the enclosing quote).</summary>
    private static string NestedFStrings(int n)
    {
        string[] quotes = ["'", "\"", "'''", "\"\"\""];
        var inner = "x";
        for (int level = Math.Min(n, 8) - 1; level >= 0; level--)
        {
            var q = quotes[level % quotes.Length];
            inner = $"f{q}{{{inner}}}{q}";
        }
        return inner;
    }
}
