using System.Text.Json.Serialization;

namespace AnCoder.Evaluation.Scoring;

[JsonConverter(typeof(JsonStringEnumConverter<Verdict>))]
public enum Verdict
{
    [JsonStringEnumMemberName("passed")] Passed,
    [JsonStringEnumMemberName("failed")] Failed,
    [JsonStringEnumMemberName("timeout")] Timeout,
    [JsonStringEnumMemberName("syntax_error")] SyntaxError,
}

/// <summary>One line of results.jsonl.</summary>
public sealed record SampleResult(
    [property: JsonPropertyName("task_id")] string TaskId,
    [property: JsonPropertyName("sample_index")] int SampleIndex,
    [property: JsonPropertyName("verdict")] Verdict Verdict,
    [property: JsonPropertyName("reason")] string Reason,
    [property: JsonPropertyName("syntax_valid")] bool? SyntaxValid,
    [property: JsonPropertyName("duration_ms")] double DurationMs,
    [property: JsonPropertyName("completion")] string Completion,
    [property: JsonPropertyName("non_trivial")] bool? NonTrivial = null,
    [property: JsonPropertyName("non_trivial_reason")] string? NonTrivialReason = null,
    [property: JsonPropertyName("hit_length_cap")] bool HitLengthCap = false)
{
    [JsonIgnore] public bool Passed => Verdict == Verdict.Passed;
}

public sealed record ProblemSummary(
    [property: JsonPropertyName("task_id")] string TaskId,
    [property: JsonPropertyName("n")] int N,
    [property: JsonPropertyName("c")] int C,
    [property: JsonPropertyName("syntax_valid")] int? SyntaxValid,
    [property: JsonPropertyName("pass_at_k")] IReadOnlyDictionary<string, double> PassAtK,
    [property: JsonPropertyName("non_trivial")] int? NonTrivial = null);

public sealed record EvaluationSummary(
    [property: JsonPropertyName("benchmark")] string Benchmark,
    [property: JsonPropertyName("problems_in_benchmark")] int ProblemsInBenchmark,
    [property: JsonPropertyName("problems_scored")] int ProblemsScored,
    [property: JsonPropertyName("samples")] int Samples,
    [property: JsonPropertyName("passed")] int Passed,
    [property: JsonPropertyName("failed")] int Failed,
    [property: JsonPropertyName("timeout")] int Timeout,
    [property: JsonPropertyName("syntax_error")] int SyntaxError,
    [property: JsonPropertyName("syntax_validity")] double? SyntaxValidity,
    [property: JsonPropertyName("pass_at_k")] IReadOnlyDictionary<string, double?> PassAtK,
    [property: JsonPropertyName("problems")] IReadOnlyList<ProblemSummary> Problems,
    [property: JsonPropertyName("non_trivial_validity")] double? NonTrivialValidity = null)
{
    public static readonly int[] ReportedK = [1, 10, 100];

    /// <summary>The summary as (metric, value) lines, as `ancoder eval` prints them ("n/a" where a value is unknown).</summary>
    public IEnumerable<(string Metric, string Value)> DisplayRows()
    {
        static string Percent(double? value) => value is null ? "n/a" : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{100 * value:0.00} %");
        yield return ("benchmark", Benchmark);
        yield return ("problems scored", $"{ProblemsScored} / {ProblemsInBenchmark}");
        yield return ("samples", Samples.ToString(System.Globalization.CultureInfo.InvariantCulture));
        yield return ("syntax validity", Percent(SyntaxValidity));
        yield return ("non-trivial syntax validity", Percent(NonTrivialValidity));
        foreach (var (name, value) in PassAtK) yield return (name, Percent(value));
        yield return ("passed / failed / timeout / syntax error", $"{Passed} / {Failed} / {Timeout} / {SyntaxError}");
    }

    /// <summary>Aggregates per-sample results; pass@k is reported for every k that all scored problems' n allow.</summary>
    public static EvaluationSummary From(string benchmark, int problemsInBenchmark, IEnumerable<SampleResult> results)
    {
        var all = results.ToList();
        var problems = all.GroupBy(r => r.TaskId, StringComparer.Ordinal)
            .Select(g =>
            {
                var n = g.Count();
                var c = g.Count(r => r.Passed);
                int? valid = g.Any(r => r.SyntaxValid is null) ? null : g.Count(r => r.SyntaxValid == true);
                int? nonTrivial = g.Any(r => r.NonTrivial is null) ? null : g.Count(r => r.NonTrivial == true);
                var perK = ReportedK.Where(k => k <= n).ToDictionary(k => $"pass@{k}", k => Scoring.PassAtK.Estimate(n, c, k));
                return new ProblemSummary(g.Key, n, c, valid, perK, nonTrivial);
            }).ToList();
        var passAtK = new Dictionary<string, double?>();
        foreach (var k in ReportedK)
        {
            var mean = Scoring.PassAtK.Mean(problems.Select(p => (p.N, p.C)), k);
            if (k == 1 || mean is not null)
                passAtK[$"pass@{k}"] = mean;
        }
        double? validity = all.Count == 0 || all.Any(r => r.SyntaxValid is null) ? null : all.Count(r => r.SyntaxValid == true) / (double)all.Count;
        // Null when some result predates the measure (an old results.jsonl) or validity could not be decided.
        double? nonTrivial = all.Count == 0 || all.Any(r => r.NonTrivial is null) ? null : all.Count(r => r.NonTrivial == true) / (double)all.Count;
        return new EvaluationSummary(benchmark, problemsInBenchmark, problems.Count, all.Count,
            all.Count(r => r.Verdict == Verdict.Passed), all.Count(r => r.Verdict == Verdict.Failed),
            all.Count(r => r.Verdict == Verdict.Timeout), all.Count(r => r.Verdict == Verdict.SyntaxError),
            validity, passAtK, problems, nonTrivial);
    }
}
