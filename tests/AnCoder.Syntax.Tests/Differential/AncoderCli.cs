using System.Diagnostics;
using System.Text;

namespace AnCoder.Syntax.Tests.Differential;

/// <summary>Runs the built `ancoder` CLI (copied next to the tests) as a subprocess.</summary>
public static class AncoderCli
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    public static Result Run(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "ancoder.dll"));
        foreach (var a in args) info.ArgumentList.Add(a);
        // A crashing parser must not leave core dumps behind.
        info.Environment["DOTNET_DbgEnableMiniDump"] = "0";
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        return new Result(process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>`ancoder parse FILE...` verdicts in the differential format (`ok`, `!SyntaxError: msg (line:col)`,
    /// `!Exception: ...`), one per file. A process that dies (a stack overflow ends the process) is retried in
    /// halves (down to single files), so only the files that crash it get `!Exception: process crashed ...`.</summary>
    public static string[] ParseVerdicts(IReadOnlyList<string> files)
    {
        var run = Run(["parse", .. files]);
        if (run.ExitCode is 0 or 1 or 3)
            return files.Select(f => VerdictOf(f, run)).ToArray();
        if (files.Count > 1)
        {
            int half = files.Count / 2;
            return [.. ParseVerdicts(files.Take(half).ToArray()), .. ParseVerdicts(files.Skip(half).ToArray())];
        }
        var reason = run.Stderr.Split('\n').FirstOrDefault(l => l.Trim().Length > 0)?.Trim() ?? "";
        return [$"!Exception: process crashed (exit code {run.ExitCode}): {reason}"];
    }

    private static string VerdictOf(string file, Result run)
    {
        foreach (var line in run.Stdout.Split('\n'))
        {
            if (line == file + ": ok") return "ok";
            if (line.StartsWith(file + ":", StringComparison.Ordinal))
            {
                // FILE:LINE:COL: SyntaxError: message
                var rest = line[(file.Length + 1)..];
                var parts = rest.Split(':', 3);
                var message = parts[2].StartsWith(" SyntaxError: ", StringComparison.Ordinal) ? parts[2][" SyntaxError: ".Length..] : parts[2];
                return $"!SyntaxError: {message} ({parts[0]}:{parts[1]})";
            }
        }
        var error = run.Stderr.Split('\n').FirstOrDefault(l => l.StartsWith(file + ":", StringComparison.Ordinal));
        return $"!Exception: {error ?? "no verdict printed"}";
    }
}
