using System.Diagnostics;

namespace AnCoder.Experiments.Repro;

/// <summary>
/// The helper processes of <c>repro --workers N</c>: N − 1 copies of the running command with <c>--worker</c> instead of
/// <c>--workers N</c> (they claim work like the parent but leave the report to it), each logging to
/// OUT/logs/worker-K.log. Disposing waits for them to exit.
/// </summary>
public sealed class ReproWorkers : IDisposable
{
    public const string HelperFlag = "--worker";
    private readonly List<(Process Process, StreamWriter Log)> _helpers = [];

    private ReproWorkers() { }

    /// <summary>The command line of a helper: this process's arguments without --workers N, plus --worker.</summary>
    public static List<string> HelperArguments(IReadOnlyList<string> arguments)
    {
        var result = new List<string>();
        for (int i = 0; i < arguments.Count; i++)
        {
            if (arguments[i] == "--workers") { i++; continue; }
            if (arguments[i].StartsWith("--workers=", StringComparison.Ordinal) || arguments[i] == HelperFlag) continue;
            result.Add(arguments[i]);
        }
        result.Add(HelperFlag);
        return result;
    }

    public static ReproWorkers Start(int helpers, string output)
    {
        var workers = new ReproWorkers();
        string logs = Path.Combine(output, "logs");
        Directory.CreateDirectory(logs);
        var args = Environment.GetCommandLineArgs();
        string host = Environment.ProcessPath ?? throw new InvalidOperationException("cannot tell this process's executable");
        // `dotnet ancoder.dll ...`: args[0] is the dll; an apphost: args[0] is the executable itself.
        bool viaDotnet = Path.GetFileNameWithoutExtension(host) == "dotnet";
        var rest = HelperArguments(args.Skip(1).ToList());
        for (int k = 1; k <= helpers; k++)
        {
            var info = new ProcessStartInfo(host) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            if (viaDotnet) info.ArgumentList.Add(args[0]);
            foreach (var a in rest) info.ArgumentList.Add(a);
            var log = new StreamWriter(Path.Combine(logs, $"worker-{k}.log"), append: true) { AutoFlush = true };
            var process = new Process { StartInfo = info };
            process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
            process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            workers._helpers.Add((process, log));
        }
        return workers;
    }

    /// <summary>The helpers' process ids and log files (for the user).</summary>
    public IEnumerable<int> ProcessIds => _helpers.Select(h => h.Process.Id);

    public void Dispose()
    {
        foreach (var (process, log) in _helpers)
        {
            process.WaitForExit();
            process.Dispose();
            lock (log) log.Dispose();
        }
    }
}
