namespace AnCoder.Evaluation.Execution;

public enum ExecutionOutcome
{
    Passed,
    Failed,
    Timeout,
}

/// <summary>What happened to one run in the sandbox.</summary>
/// <param name="ExitCode">The candidate process's exit status (128 + signal when killed by a signal); null on timeout
/// or when it was still running when the tests ended. Informational only: the verdict never depends on it.</param>
/// <param name="Detail">Why a run failed, as the test process saw it (an assertion, the candidate's exception, ...).</param>
/// <param name="Stdout">The candidate's standard output (capped), for debugging; it decides nothing.</param>
/// <param name="Stderr">The candidate's standard error (capped), for debugging; it decides nothing.</param>
public sealed record ExecutionResult(ExecutionOutcome Outcome, int? ExitCode, string Detail, string Stdout,
    string Stderr, TimeSpan Duration)
{
    public bool Passed => Outcome == ExecutionOutcome.Passed;

    /// <summary>Peak memory of the candidate's sandbox as its memory cgroup counted it (host-side, all kinds of memory);
    /// null without cgroups.</summary>
    public long? MemoryPeakBytes { get; init; }

    /// <summary>A one-line reason for a verdict, for results.jsonl.</summary>
    public string Reason
    {
        get
        {
            var reason = Outcome switch
            {
                ExecutionOutcome.Passed => "passed",
                ExecutionOutcome.Timeout => $"timed out after {Duration.TotalSeconds:0.0} s",
                _ => string.IsNullOrWhiteSpace(Detail) ? "failed" : Detail.Replace('\n', ' ').Trim(),
            };
            return reason.Length > 300 ? reason[..300] + "…" : reason;
        }
    }
}
