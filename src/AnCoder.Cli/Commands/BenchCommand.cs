using System.CommandLine;
using System.Text;
using AnCoder.Syntax;
using AnCoder.Syntax.Benchmarking;

namespace AnCoder.Cli.Commands;

/// <summary>
/// <c>ancoder bench parse [DIR]</c>: our in-process parse throughput against CPython's <c>ast.parse</c> on the same
/// files (bench/cpython_parse_throughput.py), both measured the same way: files in memory, warm-up rounds, then
/// several timed rounds, CPython's alternating with ours; best and median MB/s (1 MB = 10^6 bytes of source), allocation and GC counts per MB; then
/// a small input per call, time per byte from 100 KB to 30 MB, peak RSS on a large generated file, CheckPrefix
/// calls/s. The measurements are <see cref="ParseBenchmark"/>'s.
/// </summary>
public static class BenchCommand
{
    public static Command Create()
    {
        return new Command("bench", "Benchmarks (throughput against a reference implementation).")
        {
            CreateParse(), BenchModelCommand.Create(), BenchTrainCommand.Create(), BenchSampleCommand.Create(), BenchArDecodeCommand.Create(),
        };
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
            Description = "Timed rounds over all files, after warm-up; each of CPython's rounds runs right after one of ours.",
            DefaultValueFactory = _ => 5,
        };
        var noCPython = new Option<bool>("--no-cpython")
        {
            Description = "Only time our parser (skip bench/cpython_parse_throughput.py).",
        };
        var largeMB = new Option<int>("--large-mb")
        {
            Description = "Size of the generated file whose peak RSS is measured (Check, Parse, CPython); 0 skips it.",
            DefaultValueFactory = _ => 27,
        };
        var noScaling = new Option<bool>("--no-scaling")
        {
            Description = "Skip the time-per-byte table (generated code, 100 KB to 30 MB).",
        };
        var command = new Command("parse", "Time our parser in-process on every file of DIR, rounds alternating with CPython's ast.parse on the same files; print both throughputs and the ratio.")
        {
            directory, rounds, noCPython, largeMB, noScaling,
        };
        command.SetAction(parseResult => Run(parseResult.GetValue(directory), Math.Max(1, parseResult.GetValue(rounds)), parseResult.GetValue(noCPython),
            Math.Max(0, parseResult.GetValue(largeMB)), parseResult.GetValue(noScaling)));
        return command;
    }

    private static int Run(string? directory, int rounds, bool skipCPython, int largeMB, bool skipScaling)
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
        CPythonParseScript? cpython = null;
        if (!skipCPython)
        {
            var script = RepositoryPaths.FindRoot() is { } root ? Path.Combine(root, "bench", "cpython_parse_throughput.py") : null;
            if (script == null || !File.Exists(script))
            {
                Console.Error.WriteLine("ancoder bench parse: bench/cpython_parse_throughput.py not found (run from the repository's ./ancoder, or give --no-cpython)");
                return 2;
            }
            cpython = new CPythonParseScript(script, Console.Error);
        }
        return ParseBenchmarkReport.Run(paths, directory, rounds, largeMB, !skipScaling, cpython, Console.Out);
    }
}
