using AnCoder.Evaluation.Execution;

namespace AnCoder.Evaluation.Tests;

/// <summary>
/// `eval throughput` moves the reference runner's progress bar as programs finish (the script's <c>--progress</c>
/// lines), not only when a whole round has ended.
/// </summary>
public class ThroughputProgressTests
{
    [Fact]
    public void The_reference_runner_reports_each_finished_program_and_its_verdicts()
    {
        string[] programs = ["assert 1 + 1 == 2\n", "assert 1 + 1 == 3\n", "x = [i * i for i in range(10)]\n"];
        var reported = new List<int>();
        var (passed, seconds) = ThroughputBenchmark.RunReference("python3", Path.Combine(Python.ReferenceDirectory, "reference_runner.py"),
            programs, workers: 2, timeoutSeconds: 60, done: n => { lock (reported) reported.Add(n); });
        Assert.Equal(2, passed);
        Assert.True(seconds > 0);
        // One report per program, counting up to all of them (reports may arrive out of order between threads).
        Assert.Equal([1, 2, 3], reported.Order());
    }
}
