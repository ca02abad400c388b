using AnCoder.Evaluation.Scoring;

namespace AnCoder.Evaluation.Tests;

/// <summary>The lines `ancoder eval` prints for a summary (<see cref="EvaluationSummary.DisplayRows"/>).</summary>
public sealed class SummaryDisplayTests
{
    [Fact]
    public void Rows_give_the_counts_and_percentages_of_the_results_and_n_a_where_a_measure_is_unknown()
    {
        SampleResult Result(string task, int index, Verdict verdict, bool? valid, bool? nonTrivial) =>
            new(task, index, verdict, "", valid, 1.0, "", nonTrivial);
        var summary = EvaluationSummary.From("humaneval", 164,
        [
            Result("HumanEval/0", 0, Verdict.Passed, true, true),
            Result("HumanEval/0", 1, Verdict.Failed, true, false),
            Result("HumanEval/1", 0, Verdict.SyntaxError, false, false),
            Result("HumanEval/1", 1, Verdict.Timeout, true, true),
        ]);
        var rows = summary.DisplayRows().ToList();
        Assert.Equal(
        [
            ("benchmark", "humaneval"), ("problems scored", "2 / 164"), ("samples", "4"), ("syntax validity", "75.00 %"),
            ("non-trivial syntax validity", "50.00 %"), ("pass@1", "25.00 %"), ("passed / failed / timeout / syntax error", "1 / 1 / 1 / 1"),
        ], rows);
        // A results file from before the non-trivial measure: unknown, not 0.
        var old = EvaluationSummary.From("mbpp", 500, [Result("11", 0, Verdict.Passed, true, null)]);
        Assert.Contains(("non-trivial syntax validity", "n/a"), old.DisplayRows());
    }
}
