using System.Diagnostics;
using System.Text;
using CsCheck;
using Xunit;
using Xunit.Abstractions;

namespace AnCoder.Syntax.Tests.Differential;

/// <summary>
/// (d) Property tests: the parser never throws on arbitrary input (random bytes, token soup, truncated stdlib files),
/// its verdict matches CPython's on seeded batches of those inputs and on deep nesting of every kind.
/// Parsing runs on 1.5 MB stacks, the size of a .NET thread-pool thread on Linux, where the CLI parses files.
/// </summary>
public sealed class PropertyTests(ITestOutputHelper output)
{
    private const int ThreadPoolStackBytes = 1536 * 1024;

    /// <summary>Runs <paramref name="work"/> on a fresh thread with a thread-pool-sized stack.</summary>
    internal static T OnSmallStack<T>(Func<T> work)
    {
        T result = default!;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try { result = work(); }
            catch (Exception e) { failure = e; }
        }, ThreadPoolStackBytes);
        thread.Start();
        thread.Join();
        if (failure != null) throw new InvalidOperationException("the work threw", failure);
        return result;
    }

    private static void AssertNeverThrows(byte[] source)
    {
        var verdict = OurParser.Verdict(source);
        Assert.False(verdict.StartsWith("!Exception", StringComparison.Ordinal),
            $"parser threw on {Convert.ToHexString(source.AsSpan(0, Math.Min(source.Length, 200)))}: {verdict}");
    }

    // ---- never throws -------------------------------------------------------------------------------------------

    [Fact]
    public void RandomBytesNeverThrow() =>
        Gen.Byte.Array[0, 400].Sample(AssertNeverThrows, iter: 3000);

    [Fact]
    public void RandomPrintableAsciiNeverThrows() =>
        Gen.Char['\t', '~'].Array[0, 400].Select(chars => Encoding.ASCII.GetBytes(chars))
            .Sample(AssertNeverThrows, iter: 3000);

    [Fact]
    public void PythonTokenSoupNeverThrows() =>
        TokenSoupGen.Sample(AssertNeverThrows, iter: 5000);

    [Fact]
    public void TruncatedStdlibFilesNeverThrow()
    {
        var files = SampleStdlibFiles(60, seed: 7);
        Gen.Int[0, files.Length - 1].Select(Gen.Double[0, 1])
            .Sample((fileIndex, fraction) =>
            {
                var bytes = files[fileIndex];
                AssertNeverThrows(bytes[..(int)(bytes.Length * fraction)]);
            }, iter: 600);
    }

    // ---- verdicts equal CPython's -------------------------------------------------------------------------------

    [Fact]
    public void TokenSoupVerdictsMatchCPython()
    {
        var random = new Random(12345);
        var sources = Enumerable.Range(0, 1500).Select(_ => TokenSoup(random)).ToList();
        CompareVerdicts("token soup", sources, s => Encoding.UTF8.GetString(s));
    }

    private const string RandomByteAlphabet = " \n\t()[]{}:=,.+-*ab1'\"#\\fr";

    [Fact]
    public void RandomBytesVerdictsMatchCPython()
    {
        var random = new Random(54321);
        var sources = Enumerable.Range(0, 500).Select(_ =>
        {
            var bytes = new byte[random.Next(0, 60)];
            // Mostly printable bytes with some raw ones, so that inputs are not all rejected at the first byte.
            for (int i = 0; i < bytes.Length; i++)
                bytes[i] = random.Next(10) == 0 ? (byte)random.Next(256) : (byte)RandomByteAlphabet[random.Next(RandomByteAlphabet.Length)];
            return bytes;
        }).ToList();
        CompareVerdicts("random bytes", sources, Convert.ToHexString);
    }

    [Fact]
    public void TruncatedStdlibFileVerdictsMatchCPython()
    {
        var files = SampleStdlibFiles(100, seed: 11);
        var random = new Random(99);
        var sources = Enumerable.Range(0, 400).Select(_ =>
        {
            var bytes = files[random.Next(files.Length)];
            return bytes[..random.Next(bytes.Length + 1)];
        }).ToList();
        CompareVerdicts("truncated stdlib files", sources, s => $"{s.Length} bytes ending `{Encoding.UTF8.GetString(s[Math.Max(0, s.Length - 40)..])}`");
    }

    /// <summary>Deep nesting of every kind at sizes around CPython's limits (200 parentheses, 100 indents,
    /// the parser's 6000-level stack, ast construction recursion): the verdicts must match CPython's.</summary>
    [Fact]
    public void DeepNestingVerdictsMatchCPython()
    {
        int[] sizes = [1, 2, 3, 4, 5, 50, 99, 100, 101, 199, 200, 201, 500, 1000, 1500, 2000, 2999, 3000, 3001, 4000, 5000, 5999, 6000, 6001, 10_000, 50_000];
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

        var failures = new List<string>();
        for (int i = 0; i < cases.Count; i++)
        {
            var ours = OnSmallStack(() => OurParser.Verdict(cases[i].Source));
            if (!Agreement.VerdictsAgree(ours, cpython[i]))
                failures.Add($"{cases[i].Name}: ours {ours} | cpython {cpython[i]}");
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

    private void CompareVerdicts(string what, List<byte[]> sources, Func<byte[], string> describe)
    {
        var cpython = CPythonReference.Verdicts(sources);
        var failures = new List<string>();
        int messageDifferences = 0;
        for (int i = 0; i < sources.Count; i++)
        {
            var ours = OnSmallStack(() => OurParser.Verdict(sources[i]));
            if (!Agreement.VerdictsAgree(ours, cpython[i]))
                failures.Add($"{describe(sources[i])}: ours {ours} | cpython {cpython[i]}");
            else if (Agreement.MessagesDiffer(ours, cpython[i])) messageDifferences++;
        }
        output.WriteLine($"{what}: {sources.Count} inputs, {cpython.Count(v => v == "ok")} accepted by CPython; "
                       + $"{messageDifferences} rejected by both with a different message or location");
        Assert.True(failures.Count == 0, $"{what}: {failures.Count} of {sources.Count} verdicts differ from CPython. First 20:\n"
                                       + string.Join('\n', failures.Take(20)));
    }

    // ---- input generators ---------------------------------------------------------------------------------------

    private static readonly string[] SoupVocabulary =
    [
        "x", "y", "foo", "_", "é", "if", "else", "elif", "for", "in", "while", "def", "class", "return", "lambda", "yield",
        "async", "await", "with", "as", "try", "except", "finally", "raise", "from", "import", "not", "and", "or", "is",
        "None", "True", "match", "case", "del", "pass", "global", "nonlocal", "assert", "break", "continue",
        "0", "1", "0x1f", "1.5", "1e3", "2j", "1_0", "'s'", "\"t\"", "b'b'", "f'{x}'", "'''", "r'\\d'", "f'{", "'",
        "(", ")", "[", "]", "{", "}", ":", ",", ";", ".", "...", "=", "==", "+", "-", "*", "**", "/", "//", "%", "@",
        "<", ">", "<=", "!=", "->", ":=", "+=", "|", "&", "^", "~", "<<", "\\", "#c",
        " ", " ", " ", "\n", "\n", "    ", "\t", "\r\n",
    ];

    private static readonly Gen<byte[]> TokenSoupGen =
        Gen.OneOfConst(SoupVocabulary).Array[0, 80].Select(tokens => Encoding.UTF8.GetBytes(string.Concat(tokens)));

    private static byte[] TokenSoup(Random random)
    {
        var sb = new StringBuilder();
        int count = random.Next(1, 30);
        for (int i = 0; i < count; i++) sb.Append(SoupVocabulary[random.Next(SoupVocabulary.Length)]);
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    internal static byte[][] SampleStdlibFiles(int count, int seed)
    {
        var files = CPythonReference.StdlibFiles();
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => File.ReadAllBytes(files[random.Next(files.Length)])).ToArray();
    }
}
