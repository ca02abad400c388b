using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using AnCoder.Syntax.Parsing.Strings;
using AnCoder.Syntax.Tokenizing;
using Xunit;
using Assert = Xunit.Assert;

namespace AnCoder.Syntax.Tests.Strings;

/// <summary>
/// Randomly assembled literal runs (prefixes, quotes, escapes valid and invalid, non-ASCII, braces, fields with
/// conversions / '=' / nested specs, concatenations) compared with CPython through string_facts.py. Replacement
/// fields only hold valid expressions, so every SyntaxError CPython reports comes from string parsing itself.
/// </summary>
public class RandomLiteralTests
{
    private const int CaseCount = 3000;
    private static readonly Lazy<(string[] Sources, ExpectedFacts[] Expected)> s_cases = new(() =>
    {
        var random = new Random(20261128);
        var sources = Enumerable.Range(0, CaseCount).Select(_ => "x = " + RandomRun(random)).ToArray();
        return (sources, StringFacts.Run(sources));
    });

    private readonly Xunit.Abstractions.ITestOutputHelper _output;
    public RandomLiteralTests(Xunit.Abstractions.ITestOutputHelper output) => _output = output;

    [Fact]
    public void CasesCoverValuesAndErrors()
    {
        var expected = s_cases.Value.Expected;
        var errors = expected.Where(e => e.Error != null).GroupBy(e => e.Error!.Message.Split(':')[0]).ToList();
        _output.WriteLine($"{expected.Length} cases, {expected.Count(e => e.Error == null)} values");
        foreach (var group in errors.OrderByDescending(g => g.Count())) _output.WriteLine($"  {group.Count()} x {group.Key}");
        Assert.True(expected.Count(e => e.Error == null) > CaseCount / 4);
        Assert.True(errors.Count >= 8);
    }

    public static IEnumerable<object[]> Batches() => Enumerable.Range(0, 10).Select(i => new object[] { i });

    [Theory]
    [MemberData(nameof(Batches))]
    public void MatchesCPython(int batch)
    {
        var (sources, expected) = s_cases.Value;
        var failures = new List<string>();
        for (int i = batch; i < sources.Length; i += 10)
        {
            string? problem = StringLiteralParserTests.Check(sources[i], expected[i]);
            if (problem != null) failures.Add(problem);
        }
        Assert.True(failures.Count == 0, string.Join("\n\n", failures.Take(10)));
    }

    [Fact]
    public void ArbitraryBytesNeverThrow()
    {
        // Bodies of arbitrary bytes (invalid UTF-8, lone braces, backslashes, quotes) and malformed tokens.
        var random = new Random(7);
        byte[] alphabet = Encoding.UTF8.GetBytes("ab{}{}!:=\\\\Nxu{}\'\"\n\r #()[]0 é");
        var fake = new FakeExpressionParser();
        for (int n = 0; n < 20000; n++)
        {
            var bytes = new List<byte>();
            bytes.AddRange(Encoding.ASCII.GetBytes(s_prefixes[random.Next(s_prefixes.Length)]));
            byte quote = random.Next(2) == 0 ? (byte)'\'' : (byte)'"';
            int quotes = random.Next(4) == 0 ? 3 : 1;
            for (int q = 0; q < quotes; q++) bytes.Add(quote);
            int length = random.Next(0, 30);
            for (int i = 0; i < length; i++)
                bytes.Add(random.Next(8) == 0 ? (byte)random.Next(256) : alphabet[random.Next(alphabet.Length)]);
            int closing = random.Next(5) == 0 ? random.Next(0, 3) : quotes;
            for (int q = 0; q < closing; q++) bytes.Add(quote);
            var data = bytes.ToArray();
            var token = new Token(TokenKind.String, OpKind.None, 1, 0, 1, data.Length, 0, data.Length);
            var node = StringLiteralParser.Concatenate(StringLiteralParserTests.MakeSourceText(data), new[] { token, token }, fake, out var error);
            Assert.True((node == null) != (error == null));
        }
    }

    private static readonly string[] s_prefixes = { "", "", "", "r", "u", "R", "b", "rb", "Br", "f", "f", "f", "rf", "F", "fR" };
    private static readonly string[] s_text =
    {
        "a", "bc", " ", "é", "𝄞", "€", "\\n", "\\t", "\\\\", "\\x41", "\\x4", "\\xZ", "\\u00e9", "\\u12", "\\U0001F600",
        "\\U00110000", "\\N{DIGIT ONE}", "\\N{digit two}", "\\N{NOPE}", "\\N{", "\\N", "\\d", "\\0", "\\777", "\\18",
        "\\\n", "\\a\\b\\f\\v\\r", "{{", "}}", "}", "\\N{LATIN SMALL LETTER A}", "\\é", "#", "!", ":", "=",
    };
    private static readonly string[] s_expressions = { "a", " a ", "a.b", "a[1]", "f(x)", "a + b", "x == y", "a != b", "a<b", "a >= b", "{a: 1}[a]", "[a, b]", "(a)", "a, b", " (a,)", "'s'", "\"t\"", "'{'", "a['}']" };

    private static string RandomRun(Random random)
    {
        int count = random.Next(1, 4);
        var parts = new List<string>();
        for (int i = 0; i < count; i++) parts.Add(RandomLiteral(random));
        return string.Join(random.Next(3) == 0 ? "  " : " ", parts);
    }

    private static string RandomLiteral(Random random)
    {
        string prefix = s_prefixes[random.Next(s_prefixes.Length)];
        bool triple = random.Next(4) == 0;
        char quote = random.Next(2) == 0 ? '\'' : '"';
        string q = triple ? new string(quote, 3) : quote.ToString();
        bool fString = prefix.Contains('f') || prefix.Contains('F');
        var body = new StringBuilder();
        int pieces = random.Next(0, 6);
        for (int i = 0; i < pieces; i++)
        {
            int kind = random.Next(10);
            if (fString && kind < 3) body.Append(RandomField(random, 0, quote, prefix.Contains('r') || prefix.Contains('R')));
            else if (triple && kind == 3) body.Append('\n');
            else if (kind == 4) body.Append('\\').Append(quote);
            else if (kind == 5) body.Append(quote == '\'' ? '"' : '\'');
            else
            {
                string piece = s_text[random.Next(s_text.Length)];
                // In a raw f-string "\N{...}" is no escape: its brace would open a field with an invalid expression.
                bool raw = prefix.Contains('r') || prefix.Contains('R');
                if (fString && raw && piece.Contains('{') && piece != "{{") piece = "bc";
                body.Append(piece);
            }
        }
        string text = body.ToString();
        // Keep the literal well-formed for the tokenizer: no bare newline outside triple quotes, no unescaped
        // closing quote, and no odd backslash run right before the closing quote.
        if (!triple) text = text.Replace("\\\n", "\\n").Replace("\n", "");
        if (text.EndsWith(quote) && triple) text += " ";
        if (EndsWithOddBackslashes(text)) text += "\\";
        if (!triple && (UnescapedQuote(text, quote) || text.Contains('\n'))) text = "a";
        if (triple && text.Contains(new string(quote, 3))) text = "a";
        return prefix + q + text + q;
    }

    private static string RandomField(Random random, int depth, char outerQuote, bool raw)
    {
        string expression = s_expressions[random.Next(s_expressions.Length)];
        if (expression.Contains(outerQuote)) expression = "a";
        var field = new StringBuilder("{").Append(expression);
        if (random.Next(4) == 0) field.Append(random.Next(2) == 0 ? "=" : " = ");
        if (random.Next(3) == 0) field.Append('!').Append("rsax"[random.Next(4)]);
        if (random.Next(3) == 0)
        {
            field.Append(':');
            int specPieces = random.Next(0, 3);
            for (int i = 0; i < specPieces; i++)
            {
                if (random.Next(2) == 0 && depth < 2) field.Append(RandomField(random, depth + 1, outerQuote, raw));
                else field.Append(new[] { ">10", "x", raw ? "y" : "\\N{DIGIT ONE}", "é", " ", "\\x41" }[random.Next(6)]);
            }
        }
        if (random.Next(20) != 0) field.Append('}');
        return field.ToString();
    }

    private static bool EndsWithOddBackslashes(string s)
    {
        int n = 0;
        for (int i = s.Length - 1; i >= 0 && s[i] == '\\'; i--) n++;
        return n % 2 == 1;
    }

    private static bool UnescapedQuote(string s, char quote)
    {
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == '\\') { i++; continue; }
            if (s[i] == quote) return true;
        }
        return false;
    }
}
