using AnCoder.Evaluation.Benchmarks;
using AnCoder.Evaluation.Generation;
using AnCoder.Evaluation.Scoring;

namespace AnCoder.Evaluation.Tests;

public class SampleFileTests
{
    private static List<Sample> Read(string text, Benchmark benchmark) => SampleFile.Read(new StringReader(text), "samples.jsonl", benchmark);

    [Fact]
    public void Reads_samples_and_numbers_them_per_task()
    {
        var samples = Read("{\"task_id\": \"HumanEval/3\", \"completion\": \"a\"}\n\n{\"task_id\": \"HumanEval/3\", \"completion\": \"b\", \"extra\": 1}\n{\"task_id\": \"HumanEval/0\", \"completion\": \"c\"}\n", TestData.HumanEval);
        Assert.Equal([("HumanEval/3", 0, "a"), ("HumanEval/3", 1, "b"), ("HumanEval/0", 0, "c")], samples.Select(s => (s.TaskId, s.Index, s.Completion)));
    }

    [Fact]
    public void Mbpp_ids_may_be_numbers_strings_or_prefixed()
    {
        var samples = Read("{\"task_id\": 11, \"completion\": \"x\"}\n{\"task_id\": \"11\", \"completion\": \"y\"}\n{\"task_id\": \"Mbpp/11\", \"completion\": \"z\"}\n", TestData.Mbpp);
        Assert.Equal([0, 1, 2], samples.Select(s => s.Index));
        Assert.All(samples, s => Assert.Equal("11", s.TaskId));
    }

    [Theory]
    [InlineData("{\"task_id\": \"HumanEval/0\", \"completion\": \"ok\"}\n{\"task_id\": \"HumanEval/0\", \"completion\": \"x\"\n", "samples.jsonl:2: not valid JSON")]
    [InlineData("{\"task_id\": \"HumanEval/0\", \"completion\": \"ok\"}\n\n{\"task_id\": \"HumanEval/999\", \"completion\": \"x\"}\n", "samples.jsonl:3: unknown task_id \"HumanEval/999\"")]
    [InlineData("{\"completion\": \"x\"}\n", "samples.jsonl:1: missing field \"task_id\"")]
    [InlineData("{\"task_id\": \"HumanEval/0\"}\n", "samples.jsonl:1: missing field \"completion\"")]
    [InlineData("{\"task_id\": \"HumanEval/0\", \"completion\": 5}\n", "samples.jsonl:1: \"completion\" must be a string")]
    [InlineData("[1, 2]\n", "samples.jsonl:1: expected a JSON object")]
    [InlineData("{\"task_id\": 0, \"completion\": \"x\"}\n", "samples.jsonl:1: \"task_id\" must be a string")]
    public void Malformed_lines_are_errors_naming_the_line(string text, string expectedStart)
    {
        var error = Assert.Throws<SampleFileException>(() => Read(text, TestData.HumanEval));
        Assert.StartsWith(expectedStart, error.Message);
    }
}

public class SummaryAndJournalTests
{
    private static SampleResult Result(string task, int index, Verdict verdict, bool? valid = true) =>
        new(task, index, verdict, verdict.ToString(), valid, 1, "c");

    [Fact]
    public void Summary_aggregates_verdicts_and_pass_at_k_per_problem()
    {
        var results = new List<SampleResult>();
        for (var i = 0; i < 10; i++)
            results.Add(Result("A", i, i < 3 ? Verdict.Passed : i == 3 ? Verdict.SyntaxError : Verdict.Failed, i != 3));
        for (var i = 0; i < 10; i++)
            results.Add(Result("B", i, i == 0 ? Verdict.Timeout : Verdict.Failed));
        var summary = EvaluationSummary.From("humaneval", 164, results);
        Assert.Equal((2, 20, 3, 15, 1, 1), (summary.ProblemsScored, summary.Samples, summary.Passed, summary.Failed, summary.Timeout, summary.SyntaxError));
        Assert.Equal(19 / 20.0, summary.SyntaxValidity!.Value, 12);
        Assert.Equal((0.3 + 0) / 2, summary.PassAtK["pass@1"]!.Value, 12);
        Assert.Equal((1.0 + 0) / 2, summary.PassAtK["pass@10"]!.Value, 12);   // 3 of 10 passed: every 10-subset holds one
        Assert.False(summary.PassAtK.ContainsKey("pass@100"));
    }

    [Fact]
    public void Journal_resumes_after_a_torn_last_line()
    {
        var path = Path.Combine(Path.GetTempPath(), "ancoder-journal-" + Guid.NewGuid().ToString("N") + ".jsonl");
        try
        {
            using (var journal = ResultsJournal.Open(path, resume: false))
            {
                journal.Append(Result("A", 0, Verdict.Passed));
                journal.Append(Result("A", 1, Verdict.Failed));
            }
            File.AppendAllText(path, "{\"task_id\":\"A\",\"sample_in");
            using (var journal = ResultsJournal.Open(path, resume: true))
            {
                Assert.Equal(2, journal.Results.Count);
                Assert.True(journal.Contains("A", 1));
                Assert.False(journal.Contains("A", 2));
                journal.Append(Result("A", 2, Verdict.Timeout));
            }
            using (var journal = ResultsJournal.Open(path, resume: true))
                Assert.Equal([Verdict.Passed, Verdict.Failed, Verdict.Timeout], journal.Results.Select(r => r.Verdict));
        }
        finally
        {
            File.Delete(path);
        }
    }
}

/// <summary>Generates the canonical solution with some junk after a stop sequence, or a wrong body, in turn.</summary>
internal sealed class ScriptedGenerator(Benchmark benchmark) : ICompletionGenerator
{
    public int Calls;
    public IReadOnlyList<string> EndOfSequenceMarkers => ["<EOS>"];

    public Task<IReadOnlyList<string>> GenerateAsync(string prompt, int count, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref Calls);
        var problem = benchmark.Problems.First(p => p.Prompt == prompt);
        IReadOnlyList<string> completions = Enumerable.Range(0, count)
            .Select(i => i % 2 == 0 ? problem.CanonicalCompletion + "\ndef junk(:\n" : "    return None<EOS>" + problem.CanonicalCompletion).ToList();
        return Task.FromResult(completions);
    }
}

/// <summary>A sandbox with its own worker uids, so it never shares process counts with the agreement tests' sandbox.</summary>
public sealed class ScoringSandbox() : SandboxFixture(61100, Environment.ProcessorCount, TimeSpan.FromSeconds(3));

public class GenerationAndEvaluatorTests(ScoringSandbox fixture) : IClassFixture<ScoringSandbox>
{
    private sealed class RejectEverything : ISyntaxChecker
    {
        public bool? IsValid(string source) => false;
    }

    [Fact]
    public async Task Generation_post_processes_scores_and_resumes_without_regenerating()
    {
        var humanEval = new Benchmark(BenchmarkKind.HumanEval, TestData.HumanEval.Problems.Take(3).ToList());
        var evaluator = new Evaluator(humanEval, fixture.Sandbox, new UndecidedSyntaxChecker());
        var path = Path.Combine(Path.GetTempPath(), "ancoder-gen-" + Guid.NewGuid().ToString("N") + ".jsonl");
        try
        {
            var generator = new ScriptedGenerator(humanEval);
            using (var journal = ResultsJournal.Open(path, resume: false))
                await GenerationRun.RunAsync(evaluator, generator, 2, journal);
            var lines = File.ReadAllLines(path);
            Assert.Equal(6, lines.Length);
            using (var journal = ResultsJournal.Open(path, resume: true))
            {
                Assert.Equal(3, journal.Results.Count(r => r.Passed));   // canonical + junk cut at "\ndef "
                Assert.All(journal.Results.Where(r => r.SampleIndex == 1), r => Assert.Equal("    return None", r.Completion));
                var again = new ScriptedGenerator(humanEval);
                await GenerationRun.RunAsync(evaluator, again, 3, journal);   // only index 2 of each problem is new
                Assert.Equal(3, again.Calls);
                Assert.Equal(9, journal.Results.Count);
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task A_rejected_completion_is_a_syntax_error_and_is_not_run()
    {
        var evaluator = new Evaluator(TestData.HumanEval, fixture.Sandbox, new RejectEverything());
        var result = await evaluator.EvaluateAsync(new Sample("HumanEval/0", 0, TestData.HumanEval.Problems[0].CanonicalCompletion));
        Assert.Equal(Verdict.SyntaxError, result.Verdict);
        Assert.Equal(false, result.SyntaxValid);
        Assert.Equal(0, result.DurationMs);
    }

    [Fact]
    public async Task Mbpp_canonical_solutions_run_with_their_setup_code()
    {
        var mbpp = TestData.Mbpp;
        var evaluator = new Evaluator(mbpp, fixture.Sandbox, new UndecidedSyntaxChecker());
        var samples = Evaluator.CanonicalSamples(mbpp).Where(s => int.Parse(s.TaskId) is >= 11 and <= 40).ToList();
        var results = await evaluator.EvaluateAllAsync(samples);
        Assert.All(results, r => Assert.True(r.Passed, $"{r.TaskId}: {r.Reason}"));
    }
}
