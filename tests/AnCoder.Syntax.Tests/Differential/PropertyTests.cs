using System.Diagnostics;
using System.Text;
using CsCheck;
using Xunit;
using Xunit.Abstractions;

namespace AnCoder.Syntax.Tests.Differential;

/// <summary>
/// (d) Property tests: the parser never throws on arbitrary input (random bytes, token soup, truncated stdlib files),
/// its verdict matches CPython's on seeded batches of those inputs and on deep nesting of every kind.
/// Parsing runs on fresh threads with the platform's default stack size, as on the thread-pool threads where the
/// CLI parses files.
/// </summary>
public sealed class PropertyTests(ITestOutputHelper output)
{
    /// <summary>Runs <paramref name="work"/> on a fresh thread with the default stack size (not on xunit's thread,
    /// whose stack depth the test framework already uses).</summary>
    internal static T OnFreshThread<T>(Func<T> work)
    {
        T result = default!;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try { result = work(); }
            catch (Exception e) { failure = e; }
        });
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

    private void CompareVerdicts(string what, List<byte[]> sources, Func<byte[], string> describe)
    {
        var cpython = CPythonReference.Verdicts(sources);
        var failures = new List<string>();
        int messageDifferences = 0;
        for (int i = 0; i < sources.Count; i++)
        {
            var ours = OnFreshThread(() => OurParser.Verdict(sources[i]));
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
