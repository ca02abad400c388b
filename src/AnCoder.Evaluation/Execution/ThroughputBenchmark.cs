using System.Diagnostics;
using System.Text.Json;
using AnCoder.Evaluation.Benchmarks;

namespace AnCoder.Evaluation.Execution;

/// <summary>One harness's rounds in <c>ancoder eval throughput</c>.</summary>
public sealed record ThroughputRow(string Harness, int Programs, IReadOnlyList<int> Passed, IReadOnlyList<double> Seconds)
{
    public double MedianSeconds => Seconds.Order().ElementAt(Seconds.Count / 2);
    public double ProgramsPerSecond => Programs / MedianSeconds;
}

/// <summary>
/// Programs/s of HumanEval's canonical solutions × n through three harnesses in the same run, rounds interleaved (the
/// order rotates each round) so a busy machine slows all of them alike: the plain reference runner (bench/reference_runner.py:
/// one python3 per program, openai/human-eval semantics, no isolation; the baseline of the speed goal), the hardened
/// sandbox with the whole program in the candidate process (no proxy; forgeable, measured only to price the proxy),
/// and the hardened sandbox as it scores (candidate and tests in separate sandboxed processes).
/// </summary>
public static class ThroughputBenchmark
{
    public const string Reference = "reference";
    public const string HardenedNoProxy = "hardened, no proxy*";
    public const string Hardened = "hardened sandbox";

    /// <param name="problemLimit">Only the first K problems (a quick run on a busy machine); null: all 164.</param>
    /// <param name="progress">(harness, programs it has finished over all rounds so far, programs over all rounds),
    /// from any thread, as programs finish.</param>
    /// <param name="timeoutSeconds">Wall-clock deadline per program for every harness (3 s as in scoring; a starved
    /// machine needs more, or canonical programs time out in all of them).</param>
    public static List<ThroughputRow> Measure(Benchmark humanEval, int samplesPerProblem, int workers, string referenceRunner,
        int rounds, Action<string, int, int>? progress = null, int? problemLimit = null, double timeoutSeconds = 3)
    {
        var problems = humanEval.Problems.Take(problemLimit ?? int.MaxValue).SelectMany(p => Enumerable.Repeat(p, samplesPerProblem)).ToList();
        var programs = problems.Select(p => humanEval.AssembleProgram(p, p.CanonicalCompletion)).ToList();
        var jobs = problems.Select(p => humanEval.CreateJob(p, p.CanonicalCompletion)).ToList();
        var whole = programs.Select(p => new SandboxJob(p, new WholeProgramForBenchmark())).ToList();
        var options = SandboxOptions.ForEvaluation(workers, timeoutSeconds);
        using var hardened = PythonSandbox.Create(options);

        // Programs each harness finished in its earlier rounds: progress counts over all rounds.
        var before = new Dictionary<string, int> { [Reference] = 0, [HardenedNoProxy] = 0, [Hardened] = 0 };
        void Report(string name, int finishedThisRound) => progress?.Invoke(name, before[name] + finishedThisRound, programs.Count * rounds);
        var harnesses = new (string Name, Func<(int Passed, double Seconds)> Run)[]
        {
            (Reference, () => RunReference(hardened.PythonExecutable, referenceRunner, programs, workers, timeoutSeconds, n => Report(Reference, n))),
            (HardenedNoProxy, () => Time(whole, workers, (j, token) => hardened.RunAsync(j, token), n => Report(HardenedNoProxy, n))),
            (Hardened, () => Time(jobs, workers, (j, token) => hardened.RunAsync(j, token), n => Report(Hardened, n))),
        };
        var passed = harnesses.ToDictionary(h => h.Name, _ => new List<int>());
        var seconds = harnesses.ToDictionary(h => h.Name, _ => new List<double>());
        foreach (var (name, _) in harnesses) Report(name, 0);
        for (var round = 0; round < rounds; round++)
        {
            for (var k = 0; k < harnesses.Length; k++)
            {
                var (name, run) = harnesses[(k + round) % harnesses.Length];
                var (p, s) = run();
                passed[name].Add(p);
                seconds[name].Add(s);
                before[name] += programs.Count;
                Report(name, 0);
            }
        }
        return harnesses.Select(h => new ThroughputRow(h.Name, programs.Count, passed[h.Name], seconds[h.Name])).ToList();
    }

    /// <summary>The lines printed under the table: what the harnesses are, the ratio of the medians, the proxy's price.</summary>
    public static string Summary(IReadOnlyList<ThroughputRow> rows, int rounds, int workers)
    {
        var reference = rows.Single(r => r.Harness == Reference);
        var hardened = rows.Single(r => r.Harness == Hardened);
        var noProxy = rows.Single(r => r.Harness == HardenedNoProxy);
        return "reference: one python3 per program, no isolation (openai/human-eval semantics); hardened: warm forking host, candidate and tests in two sandboxes; " +
               "* the whole program in the candidate's sandbox, forgeable, only to price the proxy\n" +
               $"throughput ratio hardened/reference = {reference.MedianSeconds / hardened.MedianSeconds:0.00} (median of {rounds}); " +
               $"the proxy costs {1000 * (hardened.MedianSeconds - noProxy.MedianSeconds) / hardened.Programs * workers:0.0} ms per program per worker";
    }

    private static (int Passed, double Seconds) Time<T>(IReadOnlyList<T> items, int workers, Func<T, CancellationToken, Task<ExecutionResult>> run, Action<int> done)
    {
        var passed = 0;
        var finished = 0;
        var clock = Stopwatch.StartNew();
        Parallel.ForEachAsync(items, new ParallelOptions { MaxDegreeOfParallelism = workers * 2 }, async (item, token) =>
        {
            if ((await run(item, token).ConfigureAwait(false)).Passed)
                Interlocked.Increment(ref passed);
            done(Interlocked.Increment(ref finished));
        }).GetAwaiter().GetResult();
        return (passed, clock.Elapsed.TotalSeconds);
    }

    /// <summary>The reference runner script over the same programs; its own clock (excludes writing the input file).
    /// <paramref name="done"/> gets the number of programs finished so far as each one finishes (the script's
    /// <c>--progress</c> lines on stderr).</summary>
    public static (int Passed, double Seconds) RunReference(string python, string runner, IReadOnlyList<string> programs, int workers, double timeoutSeconds = 3,
        Action<int>? done = null)
    {
        var input = Path.GetTempFileName();
        var output = Path.GetTempFileName();
        try
        {
            File.WriteAllLines(input, programs.Select((p, i) => JsonSerializer.Serialize(new { id = i.ToString(), program = p })));
            var start = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = done != null, UseShellExecute = false };
            foreach (var arg in new[] { runner, input, output, "--workers", workers.ToString(), "--timeout", timeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture) })
                start.ArgumentList.Add(arg);
            if (done != null) start.ArgumentList.Add("--progress");
            start.Environment.Remove("LD_PRELOAD");
            using var process = Process.Start(start)!;
            var finished = 0;
            if (done != null)
            {
                process.ErrorDataReceived += (_, line) =>
                {
                    if (line.Data == "done") done(Interlocked.Increment(ref finished));
                    else if (line.Data != null) Console.Error.WriteLine(line.Data); // the script's own errors stay visible
                };
                process.BeginErrorReadLine();
            }
            var report = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            var seconds = JsonDocument.Parse(report).RootElement.GetProperty("seconds").GetDouble();
            var passed = File.ReadLines(output).Count(l => JsonDocument.Parse(l).RootElement.GetProperty("passed").GetBoolean());
            return (passed, seconds);
        }
        finally
        {
            File.Delete(input);
            File.Delete(output);
        }
    }
}
