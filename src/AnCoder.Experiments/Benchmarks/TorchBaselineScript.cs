using System.Diagnostics;
using System.Text.Json;

namespace AnCoder.Experiments.Benchmarks;

/// <summary>
/// Runs a benchmark child process that reports on one JSON line (the last stdout line starting with '{'): a PyTorch
/// baseline script of bench/ (<see cref="Run"/>: Debian's python3 with python3-torch when present) or one of our own
/// measurement workers (<see cref="RunJsonProcess"/>). Returns null, with one line through <c>warn</c>, when the
/// program is missing or fails; the caller decides whether that aborts the benchmark or leaves only our timing.
/// </summary>
public static class TorchBaselineScript
{
    private const string PythonWithTorch = "/usr/bin/python3";

    public static JsonDocument? Run(string script, IEnumerable<string> arguments, Action<string> warn)
    {
        var info = new ProcessStartInfo(File.Exists(PythonWithTorch) ? PythonWithTorch : "python3", [script, .. arguments]);
        info.Environment.Remove("LD_PRELOAD"); // the launcher preloads jemalloc for us; PyTorch runs with its usual allocator
        return RunJsonProcess(info, Path.GetFileName(script), warn);
    }

    public static JsonDocument? RunJsonProcess(ProcessStartInfo info, string what, Action<string> warn)
    {
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.UseShellExecute = false;
        try
        {
            using var process = Process.Start(info)!;
            var errors = process.StandardError.ReadToEndAsync();
            string output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            string? line = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault(l => l.StartsWith('{'));
            if (process.ExitCode != 0 || line is null)
            {
                var lastError = errors.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? "";
                warn($"{what} exited with {process.ExitCode}{(line is null && process.ExitCode == 0 ? " without a JSON line" : "")}: {lastError}");
                return null;
            }
            return JsonDocument.Parse(line);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            warn($"cannot start {info.FileName} for {what}: {e.Message}");
            return null;
        }
    }
}
