using System.Text.Json;

namespace AnCoder.Cli.Tests;

/// <summary><c>ancoder eval --model M --canonical</c>: the model's left-to-right NLL of the reference solutions.</summary>
public sealed class EvalReferenceNllCommandTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "ancoder-eval-nll-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public void The_model_with_canonical_writes_the_reference_NLL_of_the_first_problems()
    {
        var result = AncoderCli.Run("eval", "--benchmark", "humaneval", "--model", "random:tiny", "--canonical", "--limit", "2", "--length", "16", "--threads", "1", "--out", _root);
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains("humaneval: 2 reference solutions", result.Stdout);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(_root, "reference-nll.json")));
        var problems = json.RootElement.GetProperty("problems").EnumerateArray().ToList();
        Assert.Equal(["HumanEval/0", "HumanEval/1"], problems.Select(p => p.GetProperty("task_id").GetString()));
        Assert.All(problems, p => Assert.Equal(16, p.GetProperty("tokens").GetInt32()));     // both references are longer than 16 tokens
        // An untrained model over 8,192 ids: about ln 8192 ≈ 9.0 nats per token, far from 0.
        Assert.InRange(json.RootElement.GetProperty("nll_per_token").GetDouble(), 5, 15);
    }

    [Fact]
    public void Samples_with_canonical_is_still_one_line_and_exit_2()
    {
        var result = AncoderCli.Run("eval", "--benchmark", "humaneval", "--samples", "x.jsonl", "--canonical");
        Assert.Equal(2, result.ExitCode);
        Assert.Equal("ancoder eval: give exactly one of --samples FILE, --canonical, --model DIR (or --model DIR --canonical)", result.Stderr.Trim());
    }
}
