using System.Diagnostics;
using System.Text;

namespace AnCoder.Syntax.Tests.Differential;

/// <summary>
/// Our parser in a child process (this test assembly run as a program: <c>dotnet AnCoder.Syntax.Tests.dll verdicts
/// FILE...</c>), parsing the files on thread-pool threads as <c>ancoder parse</c> does. A stack overflow ends a process,
/// so running the parser out of process lets it fail only the inputs that cause it, not the whole test run.
/// </summary>
public static class ParserProcess
{
    /// <summary>The child's entry point: one <c>VERDICT</c> line per file, in the order given (see <see cref="OurParser.Verdict"/>).</summary>
    public static int Main(string[] args)
    {
        if (args.Length == 0 || args[0] != "verdicts")
        {
            Console.Error.WriteLine("usage: dotnet AnCoder.Syntax.Tests.dll verdicts FILE...");
            return 2;
        }
        var files = args[1..];
        var verdicts = new string[files.Length];
        Parallel.For(0, files.Length, i => verdicts[i] = OurParser.Verdict(File.ReadAllBytes(files[i])));
        var stdout = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false));
        foreach (var verdict in verdicts) stdout.WriteLine(verdict.ReplaceLineEndings(" "));
        stdout.Flush();
        return 0;
    }

    /// <summary>Verdicts in the differential format (<c>ok</c>, <c>!SyntaxError: msg (line:col)</c>, <c>!Exception: ...</c>),
    /// one per file. A child that dies is retried in halves (down to single files), so only the files that crash it
    /// get <c>!Exception: process crashed ...</c>.</summary>
    public static string[] Verdicts(IReadOnlyList<string> files)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(typeof(ParserProcess).Assembly.Location);
        info.ArgumentList.Add("verdicts");
        foreach (var file in files) info.ArgumentList.Add(file);
        // A crashing parser must not leave core dumps behind.
        info.Environment["DOTNET_DbgEnableMiniDump"] = "0";
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        var lines = stdout.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (process.ExitCode == 0 && lines.Length == files.Count) return lines;
        if (files.Count > 1)
        {
            int half = files.Count / 2;
            return [.. Verdicts(files.Take(half).ToArray()), .. Verdicts(files.Skip(half).ToArray())];
        }
        var reason = stderr.Result.Split('\n').FirstOrDefault(l => l.Trim().Length > 0)?.Trim() ?? "";
        return [$"!Exception: process crashed (exit code {process.ExitCode}): {reason}"];
    }
}
