using System.Text.Json;
using AnCoder.Evaluation.Scoring;

namespace AnCoder.Evaluation.Tests;

/// <summary>The valid-prefix line fraction: hand cases, and CPython's ast.parse on prefixes as the reference.</summary>
public class ValidPrefixTests
{
    [Theory]
    [InlineData("a = 1\nb = 2\n", 1.0)]            // parses whole
    [InlineData("", 1.0)]                          // nothing to break
    [InlineData("a = 1\nb = (\nc = 3\n", 1 / 3.0)] // line 2 opens a bracket that never closes
    [InlineData("a = 1\nb = 2\nc = )", 2 / 3.0)]   // a last line without a newline counts
    [InlineData(")\na = 1\n", 0.0)]                 // broken from the first line
    [InlineData("if a:\n", 0.0)]                   // a header without its body is not a valid module
    [InlineData("a = 1\r\nb = )\r\n", 0.5)]        // CRLF lines
    public void Fraction_of_leading_lines_that_parse(string completion, double expected)
    {
        var checker = new AnCoderSyntaxChecker();
        Assert.Equal(expected, ValidPrefix.LineFraction(completion, text => checker.IsValid(text) == true), 12);
    }

    [Fact]
    public void Longest_prefix_wins_even_when_a_shorter_one_fails()
    {
        // "if a:" alone fails, but with its body the two-line prefix parses again: the longest valid prefix counts.
        var checker = new AnCoderSyntaxChecker();
        Assert.Equal(0.5, ValidPrefix.LineFraction("if a:\n    b = 1\n)\n(\n", text => checker.IsValid(text) == true), 12);
    }

    [Fact]
    public void Agrees_with_ast_parse_on_HumanEval_completions_broken_at_varied_lines()
    {
        var humanEval = TestData.HumanEval;
        var cases = new List<(string Prompt, string Completion)>();
        for (int i = 0; i < 30; i++)
        {
            var problem = humanEval.Problems[i];
            var lines = problem.CanonicalCompletion.Split('\n').ToList();
            // Insert a line that cannot be kept at a position that varies with i (sometimes unbroken: i % 5 == 4).
            if (i % 5 != 4) lines.Insert(i % lines.Count, i % 2 == 0 ? "    x = (" : "    return )");
            cases.Add((problem.Prompt, string.Join('\n', lines)));
        }
        const string script = """
            import ast, json, sys
            def ok(text):
                try:
                    ast.parse(text)
                    return True
                except (SyntaxError, ValueError):
                    return False
            out = []
            for prompt, completion in json.load(sys.stdin):
                if ok(prompt + completion):
                    out.append(1.0)
                    continue
                ends = [i + 1 for i, ch in enumerate(completion) if ch == '\n']
                if not ends or ends[-1] < len(completion):
                    ends.append(len(completion))
                best = 0
                for k in range(len(ends) - 1, 0, -1):
                    if ok(prompt + completion[:ends[k - 1]]):
                        best = k
                        break
                out.append(best / len(ends))
            print(json.dumps(out))
            """;
        var expected = JsonSerializer.Deserialize<List<double>>(Python.Run(["-c", script], JsonSerializer.Serialize(cases.Select(c => new[] { c.Prompt, c.Completion }))))!;
        var checker = new AnCoderSyntaxChecker();
        for (int i = 0; i < cases.Count; i++)
        {
            var problem = humanEval.Problems[i];
            Assert.Equal(expected[i], ValidPrefix.ForSample(humanEval, problem, cases[i].Completion, checker)!.Value, 12);
        }
        Assert.Contains(1.0, expected);
        Assert.Contains(expected, f => f is > 0 and < 1);
    }
}
