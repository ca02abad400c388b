using System.CommandLine;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using AnCoder.Syntax;

namespace AnCoder.Cli.Commands;

/// <summary>
/// <c>ancoder bench parse [DIR]</c>: our in-process parse throughput against CPython's <c>ast.parse</c> on the same
/// files (bench/cpython_parse_throughput.py), both measured the same way: files in memory, one warm-up round, then
/// several timed rounds; best and median MB/s (1 MB = 10^6 bytes of source).
/// </summary>
public static class BenchCommand
{
    public static Command Create()
    {
        var bench = new Command("bench", "Benchmarks (throughput against a reference implementation).");
        bench.Subcommands.Add(CreateParse());
        bench.Subcommands.Add(BenchModelCommand.Create());
        bench.Subcommands.Add(BenchTrainCommand.Create());
        bench.Subcommands.Add(BenchSampleCommand.Create());
        bench.Subcommands.Add(BenchArDecodeCommand.Create());
        return bench;
    }

    private static Command CreateParse()
    {
        var directory = new Argument<string?>("dir")
        {
            Description = "Folder of .py files to parse (recursively; site-packages skipped). Default: python3's standard library.",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var rounds = new Option<int>("--rounds")
        {
            Description = "Timed rounds over all files, after one warm-up round.",
            DefaultValueFactory = _ => 5,
        };
        var noCPython = new Option<bool>("--no-cpython")
        {
            Description = "Only time our parser (skip bench/cpython_parse_throughput.py).",
        };
        var command = new Command("parse", "Time our parser in-process on every file of DIR, then CPython's ast.parse on the same files; print both throughputs and the ratio.");
        command.Arguments.Add(directory);
        command.Options.Add(rounds);
        command.Options.Add(noCPython);
        command.SetAction(parseResult => Run(parseResult.GetValue(directory), Math.Max(1, parseResult.GetValue(rounds)), parseResult.GetValue(noCPython)));
        return command;
    }

    private static int Run(string? directory, int rounds, bool skipCPython)
    {
        directory ??= RepositoryPaths.PythonStdlib();
        if (directory == null)
        {
            Console.Error.WriteLine("ancoder bench parse: no DIR given and python3's stdlib was not found");
            return 2;
        }
        if (!Directory.Exists(directory))
        {
            Console.Error.WriteLine($"{directory}: not a directory");
            return 2;
        }
        var paths = RepositoryPaths.PythonFiles(directory);
        if (paths.Count == 0)
        {
            Console.Error.WriteLine($"{directory}: no .py files");
            return 2;
        }
        var sources = paths.Select(File.ReadAllBytes).ToArray();
        long totalBytes = sources.Sum(s => (long)s.Length);
        Console.WriteLine($"{paths.Count} files, {totalBytes / 1e6:F1} MB under {directory}");

        int rejected = ParseAll(sources); // warm-up (JIT, tiered compilation)
        ParseAll(sources);
        var seconds = new List<double>();
        for (int round = 0; round < rounds; round++)
        {
            GC.Collect();
            var clock = Stopwatch.StartNew();
            ParseAll(sources);
            seconds.Add(clock.Elapsed.TotalSeconds);
        }
        var (ourBest, ourMedian) = Throughput(totalBytes, seconds);
        Console.WriteLine($"AnCoder parser (in-process, 1 thread): best {ourBest:F2} MB/s, median {ourMedian:F2} MB/s ({rejected} rejected)");
        if (skipCPython) return 0;

        var cpython = RunCPython(paths, rounds);
        if (cpython == null) return 1;
        var (cpyBest, cpyMedian, cpyRejected) = cpython.Value;
        Console.WriteLine($"CPython ast.parse (in-process):          best {cpyBest:F2} MB/s, median {cpyMedian:F2} MB/s ({cpyRejected} rejected)");
        Console.WriteLine($"ratio AnCoder/CPython: best {ourBest / cpyBest:F2}x, median {ourMedian / cpyMedian:F2}x");
        return 0;
    }

    /// <summary>Parses every source; returns how many were rejected (a parser exception counts as a rejection
    /// and is reported once, so a bug does not hide behind a stack trace).</summary>
    private static int ParseAll(byte[][] sources)
    {
        int rejected = 0;
        foreach (var source in sources)
        {
            try
            {
                if (!PythonParser.Parse(source).Success) rejected++;
            }
            catch (Exception e)
            {
                rejected++;
                if (!reportedParserException)
                {
                    reportedParserException = true;
                    Console.Error.WriteLine($"ancoder bench parse: the parser threw {e.GetType().Name}: {e.Message}");
                }
            }
        }
        return rejected;
    }

    private static bool reportedParserException;

    private static (double Best, double Median) Throughput(long bytes, List<double> seconds)
    {
        var sorted = seconds.Order().ToArray();
        double median = sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
        return (bytes / 1e6 / sorted[0], bytes / 1e6 / median);
    }

    private static (double Best, double Median, int Rejected)? RunCPython(List<string> paths, int rounds)
    {
        var root = RepositoryPaths.FindRoot();
        var script = root == null ? null : Path.Combine(root, "bench", "cpython_parse_throughput.py");
        if (script == null || !File.Exists(script))
        {
            Console.Error.WriteLine("ancoder bench parse: bench/cpython_parse_throughput.py not found (run from the repository's ./ancoder)");
            return null;
        }
        var info = new ProcessStartInfo("python3", [script, "--stdin-list", "--json", "--rounds", rounds.ToString()])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        try
        {
            using var process = Process.Start(info)!;
            process.StandardInput.BaseStream.Write(Encoding.UTF8.GetBytes(string.Join('\0', paths)));
            process.StandardInput.Close();
            var output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0)
            {
                Console.Error.WriteLine($"ancoder bench parse: {Path.GetFileName(script)} exited with {process.ExitCode}");
                return null;
            }
            using var json = JsonDocument.Parse(output);
            var r = json.RootElement;
            return (r.GetProperty("best_mb_per_s").GetDouble(), r.GetProperty("median_mb_per_s").GetDouble(), r.GetProperty("rejected").GetInt32());
        }
        catch (System.ComponentModel.Win32Exception)
        {
            Console.Error.WriteLine("ancoder bench parse: python3 not found");
            return null;
        }
    }
}
