using System.Diagnostics;
using System.Text;
using AnCoder.Syntax.Text;
using AnCoder.Syntax.Tokenizing;
using CsCheck;
using Xunit;
using Xunit.Abstractions;

namespace AnCoder.Syntax.Tests.Tokenizing;

/// <summary>Arbitrary input never throws, tokens stay inside the source, and time grows linearly.</summary>
public sealed class RobustnessTests(ITestOutputHelper output)
{
    private static readonly byte[] Alphabet = Encoding.Latin1.GetBytes(
        " \t\f\r\n\\'\"#()[]{}:;.,_=<>!$?`@*-+/%&|^~0123456789abefjoxlrnduBRUFXJE\0\x0b\x80\xc3\xa9\xe2\x82\xac\xff\xef\xbb\xbf");

    private static void Exercise(byte[] bytes)
    {
        if (!SourceText.TryDecode(bytes, out SourceText? text, out PythonSyntaxError? error))
        {
            Assert.NotNull(error);
            return;
        }
        foreach (var mode in new[] { TokenizerMode.Parser, TokenizerMode.Module })
        {
            var tokenizer = new PythonTokenizer(text!, mode);
            int previousStart = 0;
            Token last = default;
            int count = 0;
            while (tokenizer.TryNext(out Token t))
            {
                Assert.InRange(t.StartOffset, 0, text!.Utf8.Length);
                Assert.InRange(t.EndOffset, t.StartOffset, text.Utf8.Length);
                Assert.True(t.StartLine >= 0 && t.EndLine >= t.StartLine);
                if (mode == TokenizerMode.Parser) Assert.True(t.StartOffset >= previousStart);
                previousStart = t.StartOffset;
                if (t.Kind == TokenKind.Name) Assert.NotNull(tokenizer.NameOf(t));
                last = t;
                count++;
            }
            if (tokenizer.Error is null) Assert.Equal(TokenKind.EndMarker, last.Kind);
            Assert.True(count > 0 || tokenizer.Error is not null);
        }
    }

    [Fact]
    public void RandomBytesNeverThrow()
    {
        Gen.Int[0, Alphabet.Length - 1].Select(i => Alphabet[i]).Array[0, 200]
            .Sample(Exercise, iter: 20000);
    }

    [Fact]
    public void RandomTextNeverThrows()
    {
        Gen.Char.Array[0, 100].Select(chars => new string(chars))
            .Sample(s =>
            {
                var text = SourceText.FromString(s);
                foreach (var mode in new[] { TokenizerMode.Parser, TokenizerMode.Module })
                {
                    var result = PythonTokenizer.Tokenize(text, mode);
                    Assert.True(result.Error is not null || result.Tokens[^1].Kind == TokenKind.EndMarker);
                }
            }, iter: 5000);
    }

    [Fact]
    public void TruncatedStdlibFilesNeverThrow()
    {
        var files = CPythonReference.StdlibFiles();
        var random = new Random(12345);
        for (int f = 0; f < 60; f++)
        {
            byte[] bytes = File.ReadAllBytes(files[random.Next(files.Count)]);
            for (int cut = 0; cut < 15; cut++)
                Exercise(bytes[..random.Next(bytes.Length + 1)]);
        }
    }

    public static IEnumerable<object[]> Pathological()
    {
        yield return ["open parens", (Func<int, string>)(n => new string('(', n))];
        yield return ["list", (Func<int, string>)(n => "[" + string.Concat(Enumerable.Repeat("1,", n)))];
        yield return ["long name", (Func<int, string>)(n => new string('x', n))];
        yield return ["quotes", (Func<int, string>)(n => new string('\'', n))];
        yield return ["unterminated triple", (Func<int, string>)(n => "'''" + new string('a', n))];
        yield return ["unterminated triple lines", (Func<int, string>)(n => "'''" + string.Concat(Enumerable.Repeat("a\n", n)))];
        yield return ["zeros", (Func<int, string>)(n => new string('0', n))];
        yield return ["digits and underscores", (Func<int, string>)(n => "1" + string.Concat(Enumerable.Repeat("_1", n)))];
        yield return ["spaces then dollar", (Func<int, string>)(n => "x" + new string(' ', n) + "$")];
        yield return ["continuations", (Func<int, string>)(n => "x = " + string.Concat(Enumerable.Repeat("\\\n", n)) + "1\n")];
        yield return ["comment", (Func<int, string>)(n => "#" + new string('#', n))];
        yield return ["combining marks", (Func<int, string>)(n => "a" + string.Concat(Enumerable.Repeat("\u0316\u0301", n / 8)))];
        yield return ["accented name", (Func<int, string>)(n => new string('é', n / 8))];
        yield return ["carriage returns", (Func<int, string>)(n => new string('\r', n))];
        yield return ["tabs", (Func<int, string>)(n => new string('\t', n) + "x")];
        yield return ["indent staircase", (Func<int, string>)(n => string.Concat(Enumerable.Range(0, n / 50).Select(i => new string(' ', i % 90) + "if 1:\n")) + " $\n")];
        // about n bytes: sqrt(n) lines indented one more space each, then a dedent to a column never used
        yield return ["module dedent error", (Func<int, string>)(n => string.Concat(Enumerable.Range(0, (int)Math.Sqrt(n)).Select(i => new string(' ', 2 * i) + "x\n")) + " x\n")];
        yield return ["single-quote continuations", (Func<int, string>)(n => "'" + string.Concat(Enumerable.Repeat("a\\\n", n)))];
        yield return ["dots", (Func<int, string>)(n => new string('.', n))];
        yield return ["backticks", (Func<int, string>)(n => new string('`', n))];
    }

    /// <summary>16x the input may cost at most 20x the work: bytes examined by the parser-mode tokenizer (every
    /// rescan counted, <see cref="PythonTokenizer.Work"/>) and bytes allocated by both modes. Quadratic behaviour
    /// gives 256x. Counted, not timed, so a busy machine cannot fail it.</summary>
    [Theory]
    [MemberData(nameof(Pathological))]
    public void WorkIsLinear(string name, Func<int, string> make)
    {
        (long Work, long Allocated) Measure(int n)
        {
            var text = SourceText.FromString(make(n));
            long allocated = GC.GetAllocatedBytesForCurrentThread();
            var tokenizer = new PythonTokenizer(text, TokenizerMode.Parser);
            while (tokenizer.TryNext(out _)) { }
            PythonTokenizer.Tokenize(text, TokenizerMode.Module);
            return (tokenizer.Work, GC.GetAllocatedBytesForCurrentThread() - allocated);
        }
        Measure(2_000); // lazy tables loaded
        var small = Measure(25_000);
        var large = Measure(400_000);
        output.WriteLine($"{name}: 25k work {small.Work:N0}, allocated {small.Allocated:N0}; 400k work {large.Work:N0}, allocated {large.Allocated:N0}");
        Assert.True(large.Work < 20.0 * Math.Max(small.Work, 1), $"{name}: work {small.Work:N0} -> {large.Work:N0} for 16x the input");
        Assert.True(large.Allocated < 24.0 * Math.Max(small.Allocated, 4096), $"{name}: allocated {small.Allocated:N0} -> {large.Allocated:N0} bytes for 16x the input");
    }
}
