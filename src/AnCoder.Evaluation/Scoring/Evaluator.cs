using AnCoder.Evaluation.Benchmarks;
using AnCoder.Evaluation.Execution;

namespace AnCoder.Evaluation.Scoring;

/// <summary>Scores completions of one benchmark: syntax validity with our parser, then execution in the sandbox.</summary>
public sealed class Evaluator(Benchmark benchmark, PythonSandbox sandbox, ISyntaxChecker syntaxChecker)
{
    public Benchmark Benchmark => benchmark;

    /// <summary>
    /// One sample's verdict. A completion whose validity text (§9) our parser rejects is a syntax error and is not
    /// run; when validity cannot be decided (no parser) the program is run and decides. Non-trivial validity
    /// (<see cref="NonTrivialValidity"/>) is judged beside it whenever validity could be decided.
    /// </summary>
    public async Task<SampleResult> EvaluateAsync(Sample sample, CancellationToken cancellationToken = default)
    {
        if (!benchmark.TryGetProblem(sample.TaskId, out var problem))
            throw new ArgumentException($"unknown task_id {sample.TaskId}", nameof(sample));
        var valid = syntaxChecker.IsValid(benchmark.ValidityText(problem, sample.Completion));
        var nonTrivial = valid is null ? null : NonTrivialValidity.ForSample(benchmark, problem, sample.Completion, sample.HitLengthCap);
        if (valid == false)
        {
            var detail = syntaxChecker.DescribeError(benchmark.ValidityText(problem, sample.Completion));
            return new SampleResult(problem.TaskId, sample.Index, Verdict.SyntaxError,
                detail is null ? "syntax error" : "syntax error: " + detail, false, 0, sample.Completion,
                nonTrivial?.Valid, nonTrivial?.Reason, sample.HitLengthCap);
        }
        var execution = await sandbox.RunAsync(benchmark.CreateJob(problem, sample.Completion), cancellationToken).ConfigureAwait(false);
        var verdict = execution.Outcome switch
        {
            ExecutionOutcome.Passed => Verdict.Passed,
            ExecutionOutcome.Timeout => Verdict.Timeout,
            _ => Verdict.Failed,
        };
        return new SampleResult(problem.TaskId, sample.Index, verdict, execution.Reason, valid,
            Math.Round(execution.Duration.TotalMilliseconds, 1), sample.Completion, nonTrivial?.Valid, nonTrivial?.Reason, sample.HitLengthCap);
    }

    /// <summary>
    /// Scores many samples concurrently (the sandbox bounds the parallelism); <paramref name="onResult"/> sees each
    /// result as it completes (serialized), the returned list is in input order.
    /// </summary>
    public async Task<List<SampleResult>> EvaluateAllAsync(IReadOnlyList<Sample> samples, Action<SampleResult>? onResult = null,
        CancellationToken cancellationToken = default)
    {
        var results = new SampleResult[samples.Count];
        var gate = new object();
        var parallelism = Math.Max(1, sandbox.Options.Workers) * 2;
        await Parallel.ForEachAsync(Enumerable.Range(0, samples.Count),
            new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = cancellationToken },
            async (i, token) =>
            {
                var result = await EvaluateAsync(samples[i], token).ConfigureAwait(false);
                results[i] = result;
                if (onResult is not null)
                    lock (gate)
                        onResult(result);
            }).ConfigureAwait(false);
        return results.ToList();
    }

    /// <summary>The benchmark's reference solutions as samples (one per problem).</summary>
    public static List<Sample> CanonicalSamples(Benchmark benchmark) =>
        benchmark.Problems.Select(p => new Sample(p.TaskId, 0, p.CanonicalCompletion)).ToList();
}
