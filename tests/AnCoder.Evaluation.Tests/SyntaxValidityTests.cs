using System.Text.Json;
using AnCoder.Evaluation.Scoring;

namespace AnCoder.Evaluation.Tests;

/// <summary>
/// Syntax validity through our parser agrees with CPython's ast.parse (computed by python3 here) on canonical
/// solutions and on truncated or mis-indented variants of them.
/// </summary>
public class SyntaxValidityTests
{
    private static Dictionary<string, bool> CPythonVerdicts(IReadOnlyList<string> sources)
    {
        const string script = "import ast, json, sys\nout = []\nfor s in json.load(sys.stdin):\n    try:\n        ast.parse(s)\n        out.append(True)\n    except (SyntaxError, ValueError):\n        out.append(False)\nprint(json.dumps(out))\n";
        var verdicts = JsonSerializer.Deserialize<List<bool>>(Python.Run(["-c", script], JsonSerializer.Serialize(sources)))!;
        return sources.Select((s, i) => (s, verdicts[i])).DistinctBy(p => p.s).ToDictionary(p => p.s, p => p.Item2);
    }

    [Fact]
    public void Agrees_with_ast_parse_on_canonical_and_broken_completions()
    {
        var humanEval = TestData.HumanEval;
        var texts = new List<string>();
        for (var i = 0; i < humanEval.Problems.Count; i++)
        {
            var problem = humanEval.Problems[i];
            texts.Add(humanEval.ValidityText(problem, problem.CanonicalCompletion));
            texts.Add(humanEval.ValidityText(problem, CompletionPostProcessor.HumanEval(problem.CanonicalCompletion[..(problem.CanonicalCompletion.Length / 2)])));
            texts.Add(humanEval.ValidityText(problem, problem.CanonicalCompletion + "\n  x = 1\n"));
        }
        texts.AddRange(TestData.Mbpp.Problems.Select(p => p.CanonicalCompletion));
        texts.AddRange(TestData.Mbpp.Problems.Select(p => p.CanonicalCompletion[..(p.CanonicalCompletion.Length * 2 / 3)]));
        var expected = CPythonVerdicts(texts);
        var checker = new AnCoderSyntaxChecker();
        foreach (var (text, valid) in expected)
            Assert.True(checker.IsValid(text) == valid, $"ast.parse says {(valid ? "valid" : "invalid")}:\n{text}");
        Assert.Contains(false, expected.Values);
        Assert.Contains(true, expected.Values);
    }
}
