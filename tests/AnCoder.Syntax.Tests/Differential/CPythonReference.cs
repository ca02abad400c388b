using System.Diagnostics;
using System.Text;

namespace AnCoder.Syntax.Tests.Differential;

/// <summary>
/// Runs the machine's python3 (CPython 3.11, the ground truth) on the reference scripts in <c>Reference/</c>.
/// </summary>
public static class CPythonReference
{
    public static string ReferenceDirectory => Path.Combine(AppContext.BaseDirectory, "Reference");
    public static string CasesDirectory => Path.Combine(AppContext.BaseDirectory, "Cases");
    public static string AstDumpScript => Path.Combine(ReferenceDirectory, "ast_dump.py");

    /// <summary>Runs <c>python3 script args...</c>, feeding <paramref name="stdin"/>; returns stdout, throws on a non-zero exit.</summary>
    public static string Run(string script, IEnumerable<string> args, byte[]? stdin = null, TimeSpan? timeout = null)
    {
        var info = new ProcessStartInfo("python3")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(script);
        foreach (var a in args) info.ArgumentList.Add(a);
        info.Environment["PYTHONIOENCODING"] = "utf-8:surrogateescape";
        info.Environment["PYTHONDONTWRITEBYTECODE"] = "1";

        using var process = Process.Start(info) ?? throw new InvalidOperationException("cannot start python3");
        var stdoutTask = process.StandardOutput.ReadToEndAsync();
        var stderrTask = process.StandardError.ReadToEndAsync();
        if (stdin != null) process.StandardInput.BaseStream.Write(stdin);
        process.StandardInput.Close();
        if (!process.WaitForExit((int)(timeout ?? TimeSpan.FromMinutes(10)).TotalMilliseconds))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"python3 {script} timed out");
        }
        var stdout = stdoutTask.Result;
        var stderr = stderrTask.Result;
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"python3 {Path.GetFileName(script)} exited with {process.ExitCode}: {stderr}");
        return stdout;
    }

    /// <summary>CPython's dump (ast_dump.py format, or the `!SyntaxError: ...` line) of each file, keyed by path.</summary>
    public static Dictionary<string, string> DumpFiles(IReadOnlyList<string> paths)
    {
        var stdin = Encoding.UTF8.GetBytes(string.Join('\0', paths));
        var output = Run(AstDumpScript, ["--stdin-list"], stdin);
        return SplitByHeaders(output);
    }

    /// <summary>Splits `# path` headed output (ast_dump.py --stdin-list, `ancoder parse --dump` of several files).</summary>
    public static Dictionary<string, string> SplitByHeaders(string output)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        string? current = null;
        int bodyStart = 0;
        int position = 0;
        while (position < output.Length)
        {
            int lineEnd = output.IndexOf('\n', position);
            if (lineEnd < 0) lineEnd = output.Length;
            if (output.AsSpan(position).StartsWith("# "))
            {
                if (current != null) result[current] = output[bodyStart..position].TrimEnd('\n');
                current = output[(position + 2)..lineEnd];
                bodyStart = Math.Min(lineEnd + 1, output.Length);
            }
            position = lineEnd + 1;
        }
        if (current != null) result[current] = output[bodyStart..].TrimEnd('\n');
        return result;
    }

    /// <summary>CPython's verdict on each source: <c>ok</c> or <c>!SyntaxError: msg (line:col)</c>.</summary>
    public static string[] Verdicts(IReadOnlyList<byte[]> sources)
    {
        var directory = Directory.CreateTempSubdirectory("ancoder-verdicts-");
        try
        {
            var paths = new string[sources.Count];
            for (int i = 0; i < sources.Count; i++)
            {
                paths[i] = Path.Combine(directory.FullName, $"{i:D6}.py");
                File.WriteAllBytes(paths[i], sources[i]);
            }
            var output = Run(AstDumpScript, ["--stdin-verdicts"], Encoding.UTF8.GetBytes(string.Join('\0', paths)));
            var lines = output.Split('\n');
            if (lines.Length < sources.Count) throw new InvalidOperationException($"expected {sources.Count} verdicts, got: {output}");
            return lines[..sources.Count];
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    public static string StdlibDirectory => LazyStdlibDirectory.Value;

    private static readonly Lazy<string> LazyStdlibDirectory = new(QueryStdlib);

    private static string QueryStdlib()
    {
        var info = new ProcessStartInfo("python3", ["-c", "import sysconfig; print(sysconfig.get_paths()['stdlib'])"])
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(info)!;
        var path = process.StandardOutput.ReadToEnd().Trim();
        process.WaitForExit();
        return path;
    }

    /// <summary>Every .py file of the standard library (site-packages and dist-packages excluded), sorted.</summary>
    public static string[] StdlibFiles()
    {
        var root = StdlibDirectory;
        return Directory.EnumerateFiles(root, "*.py", SearchOption.AllDirectories)
            .Where(p =>
            {
                var relative = Path.GetRelativePath(root, p);
                return !relative.Split(Path.DirectorySeparatorChar).Any(part => part is "site-packages" or "dist-packages");
            })
            .Order(StringComparer.Ordinal)
            .ToArray();
    }
}
