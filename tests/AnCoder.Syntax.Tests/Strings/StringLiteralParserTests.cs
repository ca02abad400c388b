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
        string? problem = Check(StringCases.All[index], StringFacts.Expected[index]);
        Assert.True(problem == null, problem);
    }

    /// <summary>Runs one case; null when it matches CPython, else what differs.</summary>
    internal static string? Check(string source, ExpectedFacts expected)
    {
        if (expected.Tokens.Length == 0) return $"python found no STRING token in {Show(source)}";
        var sourceText = MakeSourceText(StringCases.ToSourceBytes(source));
        var fake = new FakeExpressionParser();
        var node = StringLiteralParser.Concatenate(sourceText, expected.Tokens, fake, out var error);
        if (expected.Error != null)
        {
            if (node != null || error == null) return $"{Show(source)}: expected SyntaxError '{expected.Error.Message}', got a node";
            if (expected.Error.Message != error.Message) return $"{Show(source)}: expected '{expected.Error.Message}', got '{error.Message}'";
            if (error.Line != FakeExpressionParser.AtLastToken && (expected.Error.Line, expected.Error.Column) != (error.Line, error.Column))
                return $"{Show(source)}: expected error at {expected.Error.Line}:{expected.Error.Column}, got {error.Line}:{error.Column}";
            return null;
        }
        if (node == null) return $"{Show(source)}: unexpected error {error}";
        var lines = new List<string>();
        Dump(node, 0, lines);
        string actual = string.Join("\n", lines);
        return actual == expected.Dump ? null : $"{Show(source)}:\nexpected:\n{expected.Dump}\nactual:\n{actual}";
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

    [Fact]
    public void HugeFStringsStayLinear()
    {
        // 200k fields on one line and on 200k lines: CPython rescans the token for each field (quadratic).
        foreach (string separator in new[] { " ", "\n" })
        {
            var body = string.Concat(Enumerable.Repeat("{a}" + separator, 200_000));
            string source = "x = f'''" + body + "'''";
            var bytes = Encoding.UTF8.GetBytes(source);
            int lines = body.Count(c => c == '\n');
            int lastLineStart = source.LastIndexOf('\n') + 1;
            var token = new Token(TokenKind.String, OpKind.None, 1, 4, 1 + lines, bytes.Length - lastLineStart, 4, bytes.Length);
            var fake = new FakeExpressionParser();
            double cpuStart = ThreadCpuSeconds();
            var node = StringLiteralParser.Concatenate(MakeSourceText(bytes), new[] { token }, fake, out var error);
            Assert.Null(error);
            var joined = Assert.IsType<JoinedStr>(node);
            Assert.Equal(400_000, joined.Values.Count);
            var lastField = (Name)((FormattedValue)joined.Values[^2]).Value;
            // CPython: the last field's "{" is at column 0 of line 200000 ("\n" case) or at 4 + 8 + 4 * 199999.
            Assert.Equal(separator == "\n" ? (200_000, 1) : (1, 4 + 4 + 4 * 199_999 + 1), (lastField.Lineno, lastField.ColOffset));
            // Linear: well under a second of this thread's CPU time; quadratic: minutes. CPU time of this thread, so
            // other processes' load does not count (only cache effects, a few x at most).
            double cpu = ThreadCpuSeconds() - cpuStart;
            Assert.True(cpu < 5, $"took {cpu:F1} s of CPU time");
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clockId, out Timespec time);

    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    /// <summary>CPU time of the calling thread (CLOCK_THREAD_CPUTIME_ID on Linux; the process's elsewhere).</summary>
    private static double ThreadCpuSeconds()
    {
        if (OperatingSystem.IsLinux() && ClockGetTime(3, out var t) == 0) return t.Seconds + t.Nanoseconds * 1e-9;
        return System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
    }

    internal static string Show(string source) => "`" + source.Replace("\n", "\\n").Replace("\r", "\\r") + "`";

    internal static SourceText MakeSourceText(byte[] utf8)
    {
        var ctor = typeof(SourceText).GetConstructor(BindingFlags.NonPublic | BindingFlags.Instance, new[] { typeof(byte[]), typeof(int) })
            ?? throw new InvalidOperationException("SourceText(byte[], int) constructor not found");
        return (SourceText)ctor.Invoke(new object[] { utf8, 0 });
    }

    internal static void Dump(Node node, int depth, List<string> lines)
    {
        string indent = new string(' ', 2 * depth);
        switch (node)
        {
            case Constant c:
                string value = c.Value switch
                {
                    byte[] b => "bytes:" + Convert.ToHexString(b).ToLowerInvariant(),
                    string s => "str:" + string.Join(".", s.Select(unit => ((int)unit).ToString("x"))),
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
        // "(a, b)" parses as a parenthesized Tuple, which starts at the added "(".
        if (HasTopLevelComma(text)) { line = 0; col = 0; }
        else
        {
            // "((x))": a group is its inner expression, so skip parentheses that enclose the whole expression.
            int close = MatchingParen(text, i);
            int last = text.Length - 2;
            while (last > i && text[last] is (byte)' ' or (byte)'\t') last--;
            if (text[i] == (byte)'(' && close == last)
            {
                var inner = text.AsSpan(i, close - i + 1).ToArray();
                var innerNode = ParseFStringExpression(inner, firstLineno + line, line == 0 ? col + firstLineColOffset : col, out error)!;
                Texts.RemoveAt(Texts.Count - 1);
                return innerNode;
            }
        }
        var name = new Name { Id = s, Ctx = new Load() };
        int lineno = firstLineno + line;
        int colOffset = line == 0 ? col + firstLineColOffset : col;
        name.SetPosition(lineno, colOffset, lineno, colOffset);
        return name;
    }

    private static int MatchingParen(byte[] text, int open)
    {
        int depth = 0;
        byte quote = 0;
        for (int k = open; k < text.Length; k++)
        {
            byte b = text[k];
            if (quote != 0) { if (b == quote) quote = 0; continue; }
            if (b is (byte)'\'' or (byte)'"') quote = b;
            else if (b is (byte)'(' or (byte)'[' or (byte)'{') depth++;
            else if (b is (byte)')' or (byte)']' or (byte)'}' && --depth == 0) return k;
        }
        return -1;
    }

    private static bool HasTopLevelComma(byte[] text)
    {
        int depth = 0;
        byte quote = 0;
        foreach (byte b in text)
        {
            if (quote != 0) { if (b == quote) quote = 0; continue; }
            if (b is (byte)'\'' or (byte)'"') quote = b;
            else if (b is (byte)'(' or (byte)'[' or (byte)'{') depth++;
            else if (b is (byte)')' or (byte)']' or (byte)'}') depth--;
            else if (b == (byte)',' && depth == 1) return true;
        }
        return false;
    }

    public PythonSyntaxError SyntaxErrorAtLastToken(string message) => new(message, AtLastToken, AtLastToken);

    // string_facts.py parses bytes, for which CPython leaves error columns in bytes.
    public PythonSyntaxError SyntaxErrorAtToken(string message, Token token) => new(message, token.StartLine, token.StartColumn + 1);
}

internal sealed record ExpectedFacts(Token[] Tokens, PythonSyntaxError? Error, string Dump);

/// <summary>Runs string_facts.py once over all cases.</summary>
internal static class StringFacts
{
    private static readonly Lazy<ExpectedFacts[]> s_expected = new(() => Run(StringCases.All));
    public static ExpectedFacts[] Expected => s_expected.Value;

    public static ExpectedFacts[] Run(string[] sources)
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
        foreach (var source in sources) input.Append(Convert.ToHexString(StringCases.ToSourceBytes(source))).Append('\n');
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
        if (results.Count != sources.Length) throw new InvalidOperationException("string_facts.py: case count mismatch");
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
