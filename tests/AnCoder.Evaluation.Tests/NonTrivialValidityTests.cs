using System.Text.Json;
using AnCoder.Evaluation.Benchmarks;
using AnCoder.Evaluation.Generation;
using AnCoder.Evaluation.Scoring;

namespace AnCoder.Evaluation.Tests;

/// <summary>Non-trivial syntax validity: each rule on hand-made completions, each way.</summary>
public class NonTrivialValidityTests
{
    private static readonly BenchmarkProblem Add = new("HumanEval/x", "def add(a, b):\n    \"\"\"Add two numbers.\"\"\"\n", "    return a + b\n",
        "", "add", "", []);
    private static readonly Benchmark HumanEval = new(BenchmarkKind.HumanEval, [Add]);
    private static readonly BenchmarkProblem AddMbpp = new("1", "\"\"\"\nAdd.\nassert add(1, 2) == 3\n\"\"\"\n", "", "", "", "", ["assert add(1, 2) == 3"]);
    private static readonly Benchmark Mbpp = new(BenchmarkKind.Mbpp, [AddMbpp]);

    private static NonTrivialOutcome HumanEvalOutcome(string completion, bool hitLengthCap = false) =>
        NonTrivialValidity.ForSample(HumanEval, Add, completion, hitLengthCap).Outcome;

    [Theory]
    [InlineData("    return a + b\n")]
    [InlineData("    total = a\n    total += b\n    return total\n")]
    [InlineData("    return a + b")]                                       // no final newline: judged as it is
    [InlineData("    x = a\n    x = a\n    return x\n")]                     // a line twice in a row is allowed
    [InlineData("    x = a\n    y = b\n    x = a\n    x = a\n    return x + y\n")] // three times, but not in a row
    [InlineData("    \"\"\"More doc.\"\"\"\n    return b\n")]                 // a docstring beside a real statement
    [InlineData("    pass\n    return a\n")]
    public void A_function_body_that_does_something_with_its_parameters_is_non_trivial(string completion) =>
        Assert.Equal(NonTrivialOutcome.Valid, HumanEvalOutcome(completion));

    [Theory]
    [InlineData("    return (a +\n")]
    [InlineData("    return a +\n")]
    [InlineData("  return a\n    return b\n")]
    public void A_program_that_does_not_parse_is_not_non_trivial(string completion) =>
        Assert.Equal(NonTrivialOutcome.DoesNotParse, HumanEvalOutcome(completion));

    [Theory]
    [InlineData("")]                                    // the prompt alone parses (docstring body)
    [InlineData("    pass\n")]
    [InlineData("    ...\n")]
    [InlineData("    \"\"\"Another docstring.\"\"\"\n")]
    [InlineData("    pass\n    ...\n    'text'\n")]
    [InlineData("\n# just a comment\n")]
    [InlineData("    pass\n\nresult = add(1, 2)\n")]     // a statement after the function does not count
    public void Pass_ellipsis_docstrings_and_nothing_add_no_statement(string completion) =>
        Assert.Equal(NonTrivialOutcome.EmptyBody, HumanEvalOutcome(completion));

    [Theory]
    [InlineData("    return 0\n")]
    [InlineData("    c = 3\n    return c\n")]
    [InlineData("    a = 1\n")]                         // writes a parameter but never reads one
    [InlineData("    def __init__(self, x):\n        self.x = x\n")] // the stdlib-style nested method of issue 16
    public void A_body_that_never_reads_a_parameter_is_not_non_trivial(string completion) =>
        Assert.Equal(NonTrivialOutcome.ParametersUnused, HumanEvalOutcome(completion));

    [Theory]
    [InlineData("    x = a\n    x = a\n    x = a\n    return x\n")]
    [InlineData("    for i in range(a):\n        print(b)\n        print(b)\n        print(b)\n        print(b)\n")]
    [InlineData("    x = a\n    x = a   \n    x = a\n    return x\n")] // trailing whitespace does not hide a repeat
    public void A_line_repeated_three_times_in_a_row_is_not_non_trivial(string completion) =>
        Assert.Equal(NonTrivialOutcome.RepeatedLines, HumanEvalOutcome(completion));

    [Fact]
    public void A_completion_that_hit_the_length_cap_is_judged_up_to_its_last_complete_line()
    {
        const string cut = "    return a + b\n    return (a";
        Assert.Equal(NonTrivialOutcome.DoesNotParse, HumanEvalOutcome(cut, hitLengthCap: false));
        var verdict = NonTrivialValidity.ForSample(HumanEval, Add, cut, hitLengthCap: true);
        Assert.Equal(NonTrivialOutcome.Valid, verdict.Outcome);
        Assert.Equal("    return a + b\n", verdict.JudgedCompletion);

        // The cap cut at a bare name: the paper's validity accepts it, the cut text shows the loop of repeated lines.
        const string loop = "    for i in a:\n        x = i\n        x = i\n        x = i\n        x";
        Assert.Equal(NonTrivialOutcome.RepeatedLines, HumanEvalOutcome(loop, hitLengthCap: true));
        // A capped completion without any newline leaves nothing to judge.
        Assert.Equal(NonTrivialOutcome.EmptyBody, HumanEvalOutcome("    return a + b", hitLengthCap: true));
    }

    [Fact]
    public void Parameters_of_every_kind_count_and_async_defs_are_functions()
    {
        var problem = Add with { Prompt = "async def add(a, /, *rest, key=None, **options):\n    \"\"\"Doc.\"\"\"\n" };
        var benchmark = new Benchmark(BenchmarkKind.HumanEval, [problem]);
        foreach (var body in new[] { "    return a\n", "    return rest\n", "    return key\n", "    return options\n" })
            Assert.Equal(NonTrivialOutcome.Valid, NonTrivialValidity.ForSample(benchmark, problem, body, false).Outcome);
        Assert.Equal(NonTrivialOutcome.ParametersUnused, NonTrivialValidity.ForSample(benchmark, problem, "    return None\n", false).Outcome);
        var noParameters = Add with { Prompt = "def answer():\n    \"\"\"Doc.\"\"\"\n", EntryPoint = "answer" };
        Assert.Equal(NonTrivialOutcome.Valid, NonTrivialValidity.ForSample(new Benchmark(BenchmarkKind.HumanEval, [noParameters]), noParameters, "    return 42\n", false).Outcome);
    }

    [Fact]
    public void The_entry_point_is_judged_not_a_helper_the_completion_adds()
    {
        // The completion closes the function trivially and defines another one that does the work.
        Assert.Equal(NonTrivialOutcome.EmptyBody, HumanEvalOutcome("    pass\n\ndef other(a, b):\n    return a + b\n"));
        var withHelper = Add with { Prompt = "def helper(x):\n    return x * 2\n\n\ndef add(a, b):\n    \"\"\"Add.\"\"\"\n" };
        var benchmark = new Benchmark(BenchmarkKind.HumanEval, [withHelper]);
        Assert.Equal(NonTrivialOutcome.EmptyBody, NonTrivialValidity.ForSample(benchmark, withHelper, "    pass\n", false).Outcome);
        Assert.Equal(NonTrivialOutcome.Valid, NonTrivialValidity.ForSample(benchmark, withHelper, "    return helper(a) + b\n", false).Outcome);
    }

    [Fact]
    public void Mbpp_judges_the_function_the_tests_call()
    {
        NonTrivialOutcome Outcome(string solution) => NonTrivialValidity.ForSample(Mbpp, AddMbpp, solution, false).Outcome;
        Assert.Equal(NonTrivialOutcome.Valid, Outcome("def helper(x):\n    pass\n\ndef add(a, b):\n    return a + b\n"));
        Assert.Equal(NonTrivialOutcome.EmptyBody, Outcome("def helper(x):\n    return x\n\ndef add(a, b):\n    pass\n"));
        Assert.Equal(NonTrivialOutcome.Valid, Outcome("def plus(a, b):\n    return a + b\n"));   // not the tested name: the first def
        Assert.Equal(NonTrivialOutcome.NoFunction, Outcome("x = 1\nprint(x)\n"));
        Assert.Equal(NonTrivialOutcome.NoFunction, Outcome(""));
        Assert.Equal(NonTrivialOutcome.DoesNotParse, Outcome("def add(a, b):\nreturn a\n"));
    }

    [Fact]
    public void Canonical_solutions_are_non_trivial_almost_everywhere()
    {
        // Every HumanEval reference body reads a parameter and adds statements; a few MBPP references take no parameters
        // or repeat a line, so most (not all) of them count.
        var humanEval = TestData.HumanEval;
        var verdicts = humanEval.Problems.Select(p => NonTrivialValidity.ForSample(humanEval, p, p.CanonicalCompletion, false)).ToList();
        Assert.True(verdicts.Count(v => v.Valid) >= humanEval.Problems.Count - 2,
            string.Join("; ", humanEval.Problems.Zip(verdicts).Where(x => !x.Second.Valid).Select(x => $"{x.First.TaskId}: {x.Second.Reason}")));
        var mbpp = TestData.Mbpp;
        var mbppValid = mbpp.Problems.Count(p => NonTrivialValidity.ForSample(mbpp, p, p.CanonicalCompletion, false).Valid);
        Assert.True(mbppValid >= 0.95 * mbpp.Problems.Count, $"{mbppValid} of {mbpp.Problems.Count}");
    }

    [Fact]
    public void Summaries_report_both_measures_and_old_journal_lines_leave_the_new_one_undecided()
    {
        SampleResult Result(int index, bool valid, bool? nonTrivial) =>
            new("HumanEval/x", index, valid ? Verdict.Failed : Verdict.SyntaxError, "", valid, 0, "", nonTrivial, nonTrivial is null ? null : "valid");
        var summary = EvaluationSummary.From("humaneval", 1, [Result(0, true, true), Result(1, true, false), Result(2, true, false), Result(3, false, false)]);
        Assert.Equal(0.75, summary.SyntaxValidity);
        Assert.Equal(0.25, summary.NonTrivialValidity);
        Assert.Equal(1, summary.Problems[0].NonTrivial);

        var old = JsonSerializer.Deserialize<SampleResult>("""{"task_id":"HumanEval/x","sample_index":0,"verdict":"failed","reason":"","syntax_valid":true,"duration_ms":1,"completion":"x"}""")!;
        Assert.Null(old.NonTrivial);
        Assert.False(old.HitLengthCap);
        Assert.Null(EvaluationSummary.From("humaneval", 1, [old, Result(1, true, true)]).NonTrivialValidity);
        var roundTrip = JsonSerializer.Deserialize<SampleResult>(JsonSerializer.Serialize(Result(0, true, true) with { HitLengthCap = true }))!;
        Assert.True(roundTrip.NonTrivial);
        Assert.True(roundTrip.HitLengthCap);
    }

    [Fact]
    public void A_stop_sequence_or_end_of_text_cut_means_the_text_ended_before_the_cap()
    {
        var markers = new[] { "<EOS>" };
        Assert.True(GenerationRun.ToSample(HumanEval, "HumanEval/x", 0, new GeneratedCompletion("    return a\n    x = (", true), markers).HitLengthCap);
        Assert.False(GenerationRun.ToSample(HumanEval, "HumanEval/x", 0, new GeneratedCompletion("    return a\n    x = (", false), markers).HitLengthCap);
        var stopped = GenerationRun.ToSample(HumanEval, "HumanEval/x", 0, new GeneratedCompletion("    return a\ndef more(", true), markers);
        Assert.Equal("    return a", stopped.Completion);
        Assert.False(stopped.HitLengthCap);
        Assert.False(GenerationRun.ToSample(HumanEval, "HumanEval/x", 0, new GeneratedCompletion("    return a<EOS>junk", true), markers).HitLengthCap);
    }

    [Fact]
    public void A_samples_file_may_say_that_a_completion_hit_the_length_cap()
    {
        var text = """
            {"task_id": "HumanEval/x", "completion": "    return a\n    ret", "hit_length_cap": true}
            {"task_id": "HumanEval/x", "completion": "    return a\n"}
            """;
        var samples = SampleFile.Read(new StringReader(text), "s.jsonl", HumanEval);
        Assert.True(samples[0].HitLengthCap);
        Assert.False(samples[1].HitLengthCap);
    }
}
