namespace AnCoder.Evaluation.Execution;

public enum ExecutionOutcome
{
    Passed,
    Failed,
    Timeout,
}

/// <summary>What happened to one program in the sandbox.</summary>
/// <param name="ExitCode">The program's exit status (128 + signal when killed by a signal); null on timeout.</param>
/// <param name="CompletedTests">The sentinel printed after the last test was seen on stdout.</param>
public sealed record ExecutionResult(ExecutionOutcome Outcome, int? ExitCode, bool CompletedTests, string Stdout,
    string Stderr, TimeSpan Duration)
{
    public bool Passed => Outcome == ExecutionOutcome.Passed;

    /// <summary>A one-line reason for a verdict, for results.jsonl.</summary>
    public string Reason
    {
        get
        {
            if (Outcome == ExecutionOutcome.Passed)
                return "passed";
            if (Outcome == ExecutionOutcome.Timeout)
                return $"timed out after {Duration.TotalSeconds:0.0} s";
            var lastError = Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();
            var status = ExitCode switch
            {
                0 => "exited with status 0 before the tests finished",
                > 128 => $"killed by signal {ExitCode - 128}",
                _ => $"exit status {ExitCode}",
            };
            var reason = lastError is null ? status : $"{status}: {lastError}";
            return reason.Length > 300 ? reason[..300] + "…" : reason;
        }
    }
}
