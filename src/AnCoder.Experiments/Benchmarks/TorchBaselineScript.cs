using System.Diagnostics;
using System.Text.Json;

namespace AnCoder.Experiments.Benchmarks;

/// <summary>
/// Runs a PyTorch baseline script of bench/ (Debian's python3 with python3-torch when present) and returns the JSON
/// object on its last stdout line; null, with one line through <c>warn</c>, when python3 is missing or the script fails.
/// </summary>
public static class TorchBaselineScript
{
    private const string PythonWithTorch = "/usr/bin/python3";

    public static JsonDocument? Run(string script, IEnumerable<string> arguments, Action<string> warn)
    {
        var info = new ProcessStartInfo(File.Exists(PythonWithTorch) ? PythonWithTorch : "python3", [script, .. arguments])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.Environment.Remove("LD_PRELOAD"); // the launcher preloads jemalloc for us; PyTorch runs with its usual allocator
        try
        {
            using var process = Process.Start(info)!;
            var errors = process.StandardError.ReadToEndAsync();
            string output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0)
            {
                var lastLine = errors.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? "";
                warn($"{Path.GetFileName(script)} exited with {process.ExitCode}: {lastLine} (timing ours only)");
                return null;
            }
            return JsonDocument.Parse(output.Trim().Split('\n')[^1]);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            warn("python3 not found (timing ours only)");
            return null;
        }
    }
}
