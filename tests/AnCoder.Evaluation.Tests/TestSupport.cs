using System.Diagnostics;
using System.Text;
using System.Text.Json;
using AnCoder.Evaluation.Benchmarks;
using AnCoder.Evaluation.Execution;
using AnCoder.Evaluation.Scoring;

namespace AnCoder.Evaluation.Tests;

internal static class TestData
{
    private static readonly Lazy<string> DataDirectory = new(() => DatasetLocator.Require(null, AppContext.BaseDirectory, Directory.GetCurrentDirectory()));
    private static readonly Lazy<Benchmark> HumanEvalLazy = new(() => BenchmarkLoader.Load(BenchmarkKind.HumanEval, DataDirectory.Value));
    private static readonly Lazy<Benchmark> MbppLazy = new(() => BenchmarkLoader.Load(BenchmarkKind.Mbpp, DataDirectory.Value));

    public static string Directory_ => DataDirectory.Value;
    public static Benchmark HumanEval => HumanEvalLazy.Value;
    public static Benchmark Mbpp => MbppLazy.Value;
}

/// <summary>A syntax checker that never decides, so execution tests do not depend on the parser.</summary>
internal sealed class UndecidedSyntaxChecker : ISyntaxChecker
{
    public bool? IsValid(string source) => null;
}

internal static class Python
{
    public static string ReferenceDirectory => Path.Combine(AppContext.BaseDirectory, "Reference");

    /// <summary>A single-quoted Python string literal for <paramref name="text"/> (backslashes and quotes escaped).</summary>
    public static string Literal(string text) => "'" + text.Replace("\\", "\\\\").Replace("'", "\\'") + "'";

    /// <summary>Runs python3 with arguments and stdin; returns stdout (throws on a non-zero exit).</summary>
    public static string Run(IEnumerable<string> arguments, string? stdin = null, int timeoutSeconds = 600)
    {
        var start = new ProcessStartInfo("python3") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (var a in arguments)
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdoutTask = process.StandardOutput.ReadToEndAsync();
        var stderrTask = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
            process.StandardInput.Write(stdin);
        process.StandardInput.Close();
        if (!process.WaitForExit(timeoutSeconds * 1000))
        {
            process.Kill(true);
            throw new TimeoutException("python3 did not finish");
        }
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"python3 failed ({process.ExitCode}): {stderrTask.Result}");
        return stdoutTask.Result;
    }

    /// <summary>The plain reference runner's verdicts (openai/human-eval semantics, one python3 process per program).</summary>
    public static Dictionary<string, bool> ReferenceVerdicts(IReadOnlyList<(string Id, string Program)> programs, int workers, out double seconds)
    {
        var input = Path.GetTempFileName();
        var output = Path.GetTempFileName();
        try
        {
            File.WriteAllLines(input, programs.Select(p => JsonSerializer.Serialize(new { id = p.Id, program = p.Program })), new UTF8Encoding(false));
            // The full set (ANCODER_EVAL_FULL=1) takes the reference runner over 10 minutes on a busy 2-core machine.
            var summary = Run([Path.Combine(ReferenceDirectory, "reference_runner.py"), input, output, "--workers", workers.ToString()], timeoutSeconds: 3600);
            seconds = JsonDocument.Parse(summary).RootElement.GetProperty("seconds").GetDouble();
            return File.ReadLines(output).Select(l => JsonDocument.Parse(l).RootElement)
                .ToDictionary(e => e.GetProperty("id").GetString()!, e => e.GetProperty("passed").GetBoolean());
        }
        finally
        {
            File.Delete(input);
            File.Delete(output);
        }
    }
}

/// <summary>One sandbox shared by the tests of a class (xunit runs a class's tests one after another).</summary>
public class SandboxFixture : IDisposable
{
    public SandboxFixture() : this(61000, Environment.ProcessorCount, TimeSpan.FromSeconds(3)) { }

    protected SandboxFixture(int uidBase, int workers, TimeSpan wallTime, long memoryBytes = 1L << 30)
    {
        UidBase = uidBase;
        Workers = workers;
        Sandbox = PythonSandbox.Create(new SandboxOptions
        {
            UidBase = uidBase, Workers = workers, Limits = new SandboxLimits { WallTime = wallTime, MemoryBytes = memoryBytes },
        });
    }

    public PythonSandbox Sandbox { get; }
    public int UidBase { get; }
    public int Workers { get; }

    /// <summary>Host pids of processes running as one of this sandbox's uids (candidate and test uid of every slot).</summary>
    public List<int> ProcessesOfSandboxUids() => new UidWatcher(UidBase, 2 * Workers).Processes();

    public void Dispose() => Sandbox.Dispose();
}
