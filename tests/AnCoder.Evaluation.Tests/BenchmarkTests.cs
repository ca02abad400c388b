using System.Text.Json;
using AnCoder.Evaluation.Benchmarks;

namespace AnCoder.Evaluation.Tests;

public class BenchmarkTests
{
    [Fact]
    public void Loads_all_problems_as_published()
    {
        Assert.Equal(164, TestData.HumanEval.Problems.Count);
        Assert.Equal("HumanEval/0", TestData.HumanEval.Problems[0].TaskId);
        Assert.Equal(974, TestData.Mbpp.Problems.Count);
        var split = BenchmarkLoader.Load(BenchmarkKind.Mbpp, TestData.Directory_, mbppTestSplitOnly: true);
        Assert.Equal(500, split.Problems.Count);
        Assert.Equal(["11", "510"], new[] { split.Problems[0].TaskId, split.Problems[^1].TaskId });
    }

    [Fact]
    public void Programs_and_prompts_follow_the_published_conventions()
    {
        // The expected strings are built by python3 from the raw files, independently of our loader.
        var script = """"
            import gzip, json, sys
            data = sys.argv[1]
            he = [json.loads(l) for l in gzip.open(data + "/humaneval/HumanEval.jsonl.gz", "rt")]
            mb = [json.loads(l) for l in open(data + "/mbpp/mbpp.jsonl")]
            out = {}
            for p in he:
                out[p["task_id"]] = p["prompt"] + "COMPLETION" + "\n" + p["test"] + "\n" + f"check({p['entry_point']})"
            for p in mb:
                out["mbpp/" + str(p["task_id"])] = p["test_setup_code"] + "\n" + "SOLUTION" + "\n" + "\n".join(p["test_list"])
                out["mbpp-prompt/" + str(p["task_id"])] = f'"""\n{p["text"]}\n{p["test_list"][0]}\n"""\n'
            print(json.dumps(out))
            """";
        var expected = JsonSerializer.Deserialize<Dictionary<string, string>>(Python.Run(["-c", script, TestData.Directory_]))!;
        foreach (var p in TestData.HumanEval.Problems)
            Assert.Equal(expected[p.TaskId], TestData.HumanEval.AssembleProgram(p, "COMPLETION"));
        foreach (var p in TestData.Mbpp.Problems)
        {
            Assert.Equal(expected["mbpp/" + p.TaskId], TestData.Mbpp.AssembleProgram(p, "SOLUTION"));
            Assert.Equal(expected["mbpp-prompt/" + p.TaskId], p.Prompt);
        }
    }

    [Fact]
    public void Finds_the_shared_datasets_beside_the_repository()
    {
        var found = DatasetLocator.Find(null, AppContext.BaseDirectory);
        Assert.NotNull(found);
        Assert.True(File.Exists(Path.Combine(found, BenchmarkLoader.HumanEvalRelativePath)));
    }
}
