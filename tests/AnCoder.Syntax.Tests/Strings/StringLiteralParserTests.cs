using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Text;
using AnCoder.Syntax.Ast;
using AnCoder.Syntax.Parsing.Strings;
using AnCoder.Syntax.Text;
using AnCoder.Syntax.Tokenizing;
using Xunit;
using Assert = Xunit.Assert;

namespace AnCoder.Syntax.Tests.Strings;

/// <summary>
/// StringLiteralParser against CPython 3.11 (string_facts.py): values, node kinds, positions, the positions handed to
/// the expression sub-parser, and error messages. The sub-parser is a fake that returns a marker node located where
/// the contract says the first token of the expression would be.
/// </summary>
public class StringLiteralParserTests
{
    public static IEnumerable<object[]> Cases() => StringCases.All.Select((_, i) => new object[] { i });

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesCPython(int index)
    {
        string source = StringCases.All[index];
        var expected = StringFacts.Expected[index];
        Assert.True(expected.Tokens.Length > 0, $"python found no STRING token in {Show(source)}");
        var sourceText = MakeSourceText(StringCases.ToSourceBytes(source));
        var fake = new FakeExpressionParser();
        var node = StringLiteralParser.Concatenate(sourceText, expected.Tokens, fake, out var error);
        if (expected.Error != null)
        {
            Assert.True(node == null, $"{Show(source)}: expected SyntaxError '{expected.Error.Message}', got a node");
            Assert.NotNull(error);
            Assert.Equal(expected.Error.Message, error!.Message);
            if (error.Line != FakeExpressionParser.AtLastToken)
                Assert.Equal((expected.Error.Line, expected.Error.Column), (error.Line, error.Column));
            return;
        }
        Assert.True(node != null, $"{Show(source)}: unexpected error {error}");
        var lines = new List<string>();
        Dump(node!, 0, lines);
        Assert.Equal(expected.Dump, string.Join("\n", lines));
    }

    [Fact]
    public void FakeParserSeesParenthesizedExpressionText()
    {
        var source = "x = f'{ a + b !r}'";
        var fake = new FakeExpressionParser();
        var sourceText = MakeSourceText(Encoding.UTF8.GetBytes(source));
        var token = new Token(TokenKind.String, OpKind.None, 1, 4, 1, 18, 4, 18);
        var node = StringLiteralParser.Concatenate(sourceText, new[] { token }, fake, out var error);
        Assert.Null(error);
        Assert.IsType<JoinedStr>(node);
        Assert.Equal(new[] { "( a + b )" }, fake.Texts);
    }

    private static string Show(string source) => "`" + source.Replace("\n", "\\n").Replace("\r", "\\r") + "`";

    internal static SourceText MakeSourceText(byte[] utf8)
    {
        var ctor = typeof(SourceText).GetConstructor(BindingFlags.NonPublic | BindingFlags.Instance, new[] { typeof(byte[]), typeof(int) })
            ?? throw new InvalidOperationException("SourceText(byte[], int) constructor not found");
        return (SourceText)ctor.Invoke(new object[] { utf8, 0 });
    }

    private static void Dump(Node node, int depth, List<string> lines)
    {
        string indent = new string(' ', 2 * depth);
        switch (node)
        {
            case Constant c:
                string value = c.Value switch
                {
                    byte[] b => "bytes:" + Convert.ToHexString(b).ToLowerInvariant(),
                    string s => "str:" + string.Join(".", CodePoints(s).Select(cp => cp.ToString("x"))),
                    _ => "?" + c.Value,
                };
                lines.Add($"{indent}Constant {Pos(c)} kind={c.Kind ?? "None"} {value}");
                break;
            case JoinedStr j:
                lines.Add($"{indent}JoinedStr {Pos(j)}");
                foreach (var v in j.Values) Dump(v, depth + 1, lines);
                break;
            case FormattedValue f:
                lines.Add($"{indent}FormattedValue {Pos(f)} conv={f.Conversion}");
                var e = (PositionedNode)f.Value;
                lines.Add($"{indent}  Expr {e.Lineno}:{e.ColOffset}");
                if (f.FormatSpec != null) Dump(f.FormatSpec, depth + 1, lines);
                break;
            default:
                lines.Add($"{indent}?{node.TypeName}");
                break;
        }
    }

    // Python str → code points (a surrogate pair counts as one code point).
    private static IEnumerable<int> CodePoints(string s)
    {
        for (int i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
                yield return char.ConvertToUtf32(s[i], s[++i]);
            else
                yield return s[i];
        }
    }

    private static string Pos(PositionedNode n) => $"{n.Lineno}:{n.ColOffset}-{n.EndLineno}:{n.EndColOffset}";
}

/// <summary>
/// Stands in for the parser: returns a Name at the position the real sub-parser would give the expression's first
/// token under the contract (first line: column + firstLineColOffset; later lines: the plain column).
/// </summary>
internal sealed class FakeExpressionParser : IFStringExpressionParser
{
    public const int AtLastToken = -1;
    public readonly List<string> Texts = new();

    public ExprNode? ParseFStringExpression(byte[] text, int firstLineno, int firstLineColOffset, out PythonSyntaxError? error)
    {
        error = null;
        string s = Encoding.UTF8.GetString(text);
        Texts.Add(s);
        int line = 0, col = 0, i = 1;  // past the added "("
        col = 1;
        for (; i < text.Length - 1; i++)
        {
            byte b = text[i];
            if (b == (byte)'\n') { line++; col = 0; continue; }
            if (b is (byte)' ' or (byte)'\t' or (byte)'\f') { col++; continue; }
            break;
        }
        var name = new Name { Id = s, Ctx = new Load() };
        int lineno = firstLineno + line;
        int colOffset = line == 0 ? col + firstLineColOffset : col;
        name.SetPosition(lineno, colOffset, lineno, colOffset);
        return name;
    }

    public PythonSyntaxError SyntaxErrorAtLastToken(string message) => new(message, AtLastToken, AtLastToken);

    // string_facts.py parses bytes, for which CPython leaves error columns in bytes.
    public PythonSyntaxError SyntaxErrorAtToken(string message, Token token) => new(message, token.StartLine, token.StartColumn + 1);
}

internal sealed record ExpectedFacts(Token[] Tokens, PythonSyntaxError? Error, string Dump);

/// <summary>Runs string_facts.py once over all cases.</summary>
internal static class StringFacts
{
    private static readonly Lazy<ExpectedFacts[]> s_expected = new(Load);
    public static ExpectedFacts[] Expected => s_expected.Value;

    private static ExpectedFacts[] Load()
    {
        string script = Path.Combine(Path.GetDirectoryName(ThisFile())!, "string_facts.py");
        var psi = new ProcessStartInfo("python3", $"\"{script}\"")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
        };
        using var process = Process.Start(psi)!;
        var stderrTask = process.StandardError.ReadToEndAsync();
        var input = new StringBuilder();
        foreach (var source in StringCases.All) input.Append(Convert.ToHexString(StringCases.ToSourceBytes(source))).Append('\n');
        var writer = process.StandardInput;
        var stdoutTask = process.StandardOutput.ReadToEndAsync();
        writer.Write(input.ToString());
        writer.Close();
        string output = stdoutTask.Result;
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException("string_facts.py failed: " + stderrTask.Result);

        var results = new List<ExpectedFacts>();
        var block = new List<string>();
        foreach (var line in output.Split('\n'))
        {
            if (line != "END") { if (line.Length > 0) block.Add(line); continue; }
            results.Add(ParseBlock(block));
            block.Clear();
        }
        if (results.Count != StringCases.All.Length) throw new InvalidOperationException("string_facts.py: case count mismatch");
        return results.ToArray();
    }

    private static string ThisFile([System.Runtime.CompilerServices.CallerFilePath] string path = "") => path;

    private static ExpectedFacts ParseBlock(List<string> block)
    {
        var tokens = block[0]["TOKENS ".Length..].Split(';', StringSplitOptions.RemoveEmptyEntries).Select(t =>
        {
            var n = t.Split(',').Select(int.Parse).ToArray();
            return new Token(TokenKind.String, OpKind.None, n[0], n[1], n[2], n[3], n[4], n[5]);
        }).ToArray();
        if (block.Count > 1 && block[1].StartsWith("ERROR "))
        {
            var parts = block[1]["ERROR ".Length..].Split('|', 3);
            return new ExpectedFacts(tokens, new PythonSyntaxError(parts[2], int.Parse(parts[0]), int.Parse(parts[1])), "");
        }
        return new ExpectedFacts(tokens, null, string.Join("\n", block.Skip(1)));
    }
}
