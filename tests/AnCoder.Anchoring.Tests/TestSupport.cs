using System.Diagnostics;

namespace AnCoder.Anchoring.Tests;

internal static class TestSupport
{
    public static string ReferenceDir => Path.Combine(AppContext.BaseDirectory, "Reference");

    public static string StdlibDir { get; } = RunPython("-c \"import sysconfig;print(sysconfig.get_paths()['stdlib'])\"").Trim();

    public static string RunPython(string arguments, string? stdin = null)
    {
        var info = new ProcessStartInfo("python3", arguments)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = stdin != null, UseShellExecute = false,
        };
        using var process = Process.Start(info)!;
        var stderrTask = process.StandardError.ReadToEndAsync();
        var stdoutTask = process.StandardOutput.ReadToEndAsync();
        if (stdin != null)
        {
            // Written while the output is drained, so neither side blocks on a full pipe.
            process.StandardInput.Write(stdin);
            process.StandardInput.Close();
        }
        string output = stdoutTask.Result;
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"python3 {arguments} failed: {stderrTask.Result}");
        return output;
    }

    /// <summary>A deterministic sample of stdlib .py files (every k-th in ordinal path order).</summary>
    public static List<string> StdlibSample(int count)
    {
        var all = Directory.EnumerateFiles(StdlibDir, "*.py", SearchOption.AllDirectories)
            .Where(p => !p.Contains("site-packages") && !p.Contains("dist-packages"))
            .OrderBy(p => p, StringComparer.Ordinal).ToList();
        int step = Math.Max(1, all.Count / count);
        return all.Where((_, i) => i % step == 0).Take(count).ToList();
    }
}
