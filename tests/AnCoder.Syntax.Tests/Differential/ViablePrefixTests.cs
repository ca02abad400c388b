using System.Diagnostics;
using System.Globalization;
using System.Text;
using Xunit;
using Xunit.Abstractions;

namespace AnCoder.Syntax.Tests.Differential;

/// <summary>
/// PythonParser.CheckPrefix against CPython (Reference/prefix_oracle.py): on every prefix cut at a token start or a
/// line start of stdlib documents and of token mutants, complete / viable / not viable must equal the oracle's.
/// CI runs a sample (8 files, 60 mutants); ANCODER_PREFIX_FULL=1 runs the held-out set of 200 files and 2,000
/// mutants (minutes: the oracle compiles every prefix several times).
/// </summary>
public sealed class ViablePrefixTests(ITestOutputHelper output)
{
    private const int MismatchesListed = 20;

    [Theory]
    [InlineData("x = 1", PrefixStatus.Complete)]
    [InlineData("x = 1 # comment", PrefixStatus.Complete)]
    [InlineData("", PrefixStatus.Complete)]
    [InlineData("x = 1 +", PrefixStatus.ViablePrefix)]
    [InlineData("if x", PrefixStatus.ViablePrefix)]
    [InlineData("if x:\n", PrefixStatus.ViablePrefix)]
    [InlineData("def f(a, b", PrefixStatus.ViablePrefix)]
    [InlineData("x = 1 i", PrefixStatus.ViablePrefix)]        // `i` cut from `if`
    [InlineData("x = 0x", PrefixStatus.ViablePrefix)]         // a number cut short
    [InlineData("def f() -", PrefixStatus.ViablePrefix)]      // `-` cut from `->`
    [InlineData("x = 'ab", PrefixStatus.ViablePrefix)]        // an open string
    [InlineData("x = '''doc\nmore", PrefixStatus.ViablePrefix)]
    [InlineData("x = 1 + \\", PrefixStatus.ViablePrefix)]     // a line continuation cut before its newline
    [InlineData("x = 'a' f", PrefixStatus.ViablePrefix)]      // `f` as a string prefix or a name
    [InlineData("x = )", PrefixStatus.NotViable)]
    [InlineData("1 = ", PrefixStatus.NotViable)]
    [InlineData("x = 1 2", PrefixStatus.NotViable)]
    [InlineData("if x:\npass", PrefixStatus.NotViable)]
    [InlineData("x = 1 +\n", PrefixStatus.NotViable)]          // the newline ended the statement
    [InlineData("f(**a, *b", PrefixStatus.NotViable)]
    public void HandPickedPrefixes(string text, PrefixStatus expected)
    {
        var check = PythonParser.CheckPrefix(text);
        Assert.Equal(expected, check.Status);
        Assert.Equal(expected == PrefixStatus.NotViable, check.Error != null);
    }

    [Fact]
    public void ByteInputDropsACutShortCharacter()
    {
        var bytes = Encoding.UTF8.GetBytes("x = 'é");
        Assert.Equal(PrefixStatus.ViablePrefix, PythonParser.CheckPrefix(bytes.AsSpan(0, bytes.Length - 1)).Status);
        Assert.Equal(PrefixStatus.Complete, PythonParser.CheckPrefix("x = 'é'"u8).Status);
    }

    [Fact]
    public void NotViableReportsWhereTheTextBroke()
    {
        var check = PythonParser.CheckPrefix("def f(x):\n    return x\nx = (1, 2))\ny = [");
        Assert.Equal(PrefixStatus.NotViable, check.Status);
        Assert.Equal(3, check.Error!.Line);
    }

    [Fact]
    public void EveryPrefixOfStdlibDocumentsAndMutantsGetsCPythonsVerdict()
    {
        bool full = Environment.GetEnvironmentVariable("ANCODER_PREFIX_FULL") == "1";
        string[] args = full ? ["--files", "200", "--mutants", "2000"] : ["--files", "8", "--mutants", "60"];
        var clock = Stopwatch.StartNew();
        var lines = CPythonReference.Run(Path.Combine(CPythonReference.ReferenceDirectory, "prefix_oracle.py"), args,
                timeout: TimeSpan.FromHours(2))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries);
        output.WriteLine($"oracle: {lines.Length} lines in {clock.Elapsed.TotalSeconds:F0} s ({string.Join(' ', args)})");

        var documents = new Dictionary<int, (string Kind, string Path, byte[] Bytes)>();
        var cases = new List<(int Doc, int Cut, PrefixStatus Expected)>();
        foreach (var line in lines)
        {
            var f = line.Split('\t');
            if (f[0] == "doc")
            {
                documents[int.Parse(f[1], CultureInfo.InvariantCulture)] = (f[2], f[3], Convert.FromHexString(f[4]));
                continue;
            }
            cases.Add((int.Parse(f[0], CultureInfo.InvariantCulture), int.Parse(f[1], CultureInfo.InvariantCulture), f[2] switch
            {
                "complete" => PrefixStatus.Complete,
                "viable" => PrefixStatus.ViablePrefix,
                "notviable" => PrefixStatus.NotViable,
                _ => throw new FormatException(line),
            }));
        }
        Assert.True(cases.Count > (full ? 50_000 : 1_000), $"the oracle produced only {cases.Count} prefixes");

        clock.Restart();
        var ours = new PrefixStatus[cases.Count];
        Parallel.For(0, cases.Count, i =>
        {
            var (doc, cut, _) = cases[i];
            ours[i] = PythonParser.CheckPrefix(documents[doc].Bytes.AsSpan(0, cut)).Status;
        });
        output.WriteLine($"ours: {cases.Count} prefixes in {clock.Elapsed.TotalSeconds:F1} s");
        foreach (var kind in new[] { "file", "mutant" })
        {
            var counts = cases.Where(c => documents[c.Doc].Kind == kind).GroupBy(c => c.Expected).OrderBy(g => g.Key)
                .Select(g => $"{g.Key} {g.Count()}");
            output.WriteLine($"{kind}s ({documents.Values.Count(d => d.Kind == kind)}): {string.Join(", ", counts)}");
        }

        var failing = Enumerable.Range(0, cases.Count).Where(i => ours[i] != cases[i].Expected).ToList();
        Assert.True(failing.Count == 0,
            $"{failing.Count} of {cases.Count} prefixes get another verdict than CPython's. First {Math.Min(MismatchesListed, failing.Count)}:\n"
            + string.Join('\n', failing.Take(MismatchesListed).Select(i =>
            {
                var (doc, cut, expected) = cases[i];
                var bytes = documents[doc].Bytes;
                var tail = Encoding.UTF8.GetString(bytes, 0, cut);
                tail = tail.Length > 60 ? tail[^60..] : tail;
                return $"{documents[doc].Kind} {documents[doc].Path} cut {cut}: ours {ours[i]}, cpython {expected}; ends with {tail.Replace("\n", "\\n")}";
            })));
    }
}
