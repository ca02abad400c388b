using System.Diagnostics;

namespace AnCoder.Experiments;

/// <summary>Where the repository's non-C# parts (bench/, the reference scripts) and the machine's python3 stdlib are.</summary>
public static class RepositoryPaths
{
    /// <summary>The repository root: the nearest ancestor of the executable (e.g. .build/cli) holding AnCoder.sln.</summary>
    public static string? FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "AnCoder.sln"))) return dir.FullName;
        }
        for (var dir = new DirectoryInfo(Environment.CurrentDirectory); dir != null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "AnCoder.sln"))) return dir.FullName;
        }
        return null;
    }

    /// <summary>The default corpus folder of <c>prepare</c>, <c>train</c>, <c>probe</c> and <c>repro</c>: &lt;repo&gt;/data/prepared
    /// (the current directory's data/prepared outside a clone).</summary>
    /// <summary>A file at <paramref name="relative"/> under the repository root, or null when there is none.</summary>
    public static string? FindFile(string relative) => FindRoot() is { } root && File.Exists(Path.Combine(root, relative)) ? Path.Combine(root, relative) : null;

    public static string DefaultPreparedData => Path.Combine(FindRoot() ?? Environment.CurrentDirectory, "data", "prepared");

    /// <summary>Where <c>ancoder prepare --sft</c> writes fine-tuning pairs and <c>train --sft</c> reads them.</summary>
    public static string DefaultSftData => Path.Combine(FindRoot() ?? Environment.CurrentDirectory, "data", "sft");

    /// <summary>The python3 standard library directory (<c>sysconfig.get_paths()['stdlib']</c>), or null if python3 is missing.</summary>
    public static string? PythonStdlib()
    {
        try
        {
            var info = new ProcessStartInfo("python3", ["-c", "import sysconfig; print(sysconfig.get_paths()['stdlib'])"])
            {
                RedirectStandardOutput = true,
                UseShellExecute = false,
            };
            using var process = Process.Start(info);
            if (process == null) return null;
            var path = process.StandardOutput.ReadToEnd().Trim();
            process.WaitForExit();
            return process.ExitCode == 0 && Directory.Exists(path) ? path : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    /// <summary>Every .py file under <paramref name="root"/> (site-packages, dist-packages and __pycache__ skipped), sorted.</summary>
    public static List<string> PythonFiles(string root)
    {
        var skipped = new HashSet<string> { "site-packages", "dist-packages", "__pycache__" };
        var result = new List<string>();
        var pending = new Stack<string>([root]);
        while (pending.Count > 0)
        {
            var dir = pending.Pop();
            try
            {
                result.AddRange(Directory.EnumerateFiles(dir, "*.py"));
                foreach (var sub in Directory.EnumerateDirectories(dir))
                {
                    if (!skipped.Contains(Path.GetFileName(sub))) pending.Push(sub);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Unreadable folders are skipped, as os.walk does.
            }
        }
        result.Sort(StringComparer.Ordinal);
        return result;
    }
}
