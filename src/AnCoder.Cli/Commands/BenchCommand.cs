using System.CommandLine;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using AnCoder.Syntax;
using AnCoder.Syntax.Benchmarking;

namespace AnCoder.Cli.Commands;

/// <summary>
/// <c>ancoder bench parse [DIR]</c>: our in-process parse throughput against CPython's <c>ast.parse</c> on the same
/// files (bench/cpython_parse_throughput.py), both measured the same way: files in memory, one warm-up round, then
/// several timed rounds; best and median MB/s (1 MB = 10^6 bytes of source), allocation and GC counts per MB; then
/// a small input per call, time per byte from 100 KB to 30 MB, peak RSS on a large generated file, CheckPrefix
/// calls/s. The measurements are <see cref="ParseBenchmark"/>'s.
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
        var largeMB = new Option<int>("--large-mb")
        {
            Description = "Size of the generated file whose peak RSS is measured (Check, Parse, CPython); 0 skips it.",
            DefaultValueFactory = _ => 27,
        };
        var noScaling = new Option<bool>("--no-scaling")
        {
            Description = "Skip the time-per-byte table (generated code, 100 KB to 30 MB).",
        };
        var command = new Command("parse", "Time our parser in-process on every file of DIR, then CPython's ast.parse on the same files; print both throughputs and the ratio.");
        command.Arguments.Add(directory);
        command.Options.Add(rounds);
        command.Options.Add(noCPython);
        command.Options.Add(largeMB);
        command.Options.Add(noScaling);
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
        // First, while this process holds little: peak RSS on a large generated file.
        if (largeMB > 0) LargeFile(largeMB, skipCPython);

        var sources = paths.Select(File.ReadAllBytes).ToArray();
        long totalBytes = sources.Sum(s => (long)s.Length);
        Console.WriteLine($"{paths.Count} files, {totalBytes / 1e6:F1} MB under {directory}");
        var ours = ParseBenchmark.Throughput(sources, rounds, Accepts);
        var checks = ParseBenchmark.Throughput(sources, rounds, source => PythonParser.Check(source) == null);
        Console.WriteLine($"AnCoder Parse (in-process, 1 thread): best {ours.BestMBps:F2} MB/s, median {ours.MedianMBps:F2} MB/s ({ours.Rejected} rejected); "
                        + $"allocated {ours.AllocatedPerSourceByte:F1} MB per MB, per MB {ours.Gen0PerMB:F2} gen0 / {ours.Gen1PerRound / (totalBytes / 1e6):F3} gen1 / {ours.Gen2PerRound / (totalBytes / 1e6):F3} gen2 GCs");
        Console.WriteLine($"AnCoder Check (verdict, no tree):     best {checks.BestMBps:F2} MB/s, median {checks.MedianMBps:F2} MB/s; allocated {checks.AllocatedPerSourceByte:F1} MB per MB");
        double ourSmall = ParseBenchmark.CallsPerSecond(() => PythonParser.Parse(ParseBenchmark.SmallStatementList));
        Console.WriteLine($"AnCoder Parse on a {Encoding.UTF8.GetByteCount(ParseBenchmark.SmallStatementList)}-byte statement list: {ourSmall:N0} calls/s ({1e6 / ourSmall:F1} µs per call)");
        foreach (int length in new[] { 200, 2000 })
            Console.WriteLine($"AnCoder CheckPrefix on {length}-byte prefixes: {ParseBenchmark.PrefixCallsPerSecond(length):N0} calls/s");
        Console.WriteLine($"string-literal stage alone: {ParseBenchmark.StringLiteralMBps(sources):F0} MB of source per second");
        if (!skipScaling) Scaling();
        if (skipCPython) return 0;

        var cpython = RunCPython(paths, rounds);
        if (cpython == null) return 1;
        var (cpyBest, cpyMedian, cpyRejected, cpySmall) = cpython.Value;
        Console.WriteLine($"CPython ast.parse (in-process):       best {cpyBest:F2} MB/s, median {cpyMedian:F2} MB/s ({cpyRejected} rejected); "
                        + $"statement list: {cpySmall:N0} calls/s ({1e6 / cpySmall:F1} µs per call)");
        Console.WriteLine($"ratio AnCoder/CPython: best {ours.BestMBps / cpyBest:F2}x, median {ours.MedianMBps / cpyMedian:F2}x; statement list {ourSmall / cpySmall:F2}x per call");
        return 0;
    }

    /// <summary>A parser exception counts as a rejection and is reported once, so a bug does not hide behind a
    /// stack trace.</summary>
    private static bool Accepts(byte[] source)
    {
        try
        {
            return PythonParser.Parse(source).Success;
        }
        catch (Exception e)
        {
            if (!reportedParserException)
            {
                reportedParserException = true;
                Console.Error.WriteLine($"ancoder bench parse: the parser threw {e.GetType().Name}: {e.Message}");
            }
            return false;
        }
    }

    private static bool reportedParserException;

    private static void Scaling()
    {
        var rows = ParseBenchmark.Scaling([100_000, 1_000_000, 10_000_000, 30_000_000]);
        Console.WriteLine("generated code (bench ParseBenchmark.RealisticChunk): time per MB, and relative to the 100 KB row");
        foreach (var row in rows)
        {
            double mb = row.Bytes / 1e6;
            Console.WriteLine($"  {mb,7:F1} MB: Parse {row.ParseSeconds * 1000,8:F0} ms = {row.ParseSeconds * 1000 / mb,6:F1} ms/MB ({row.ParseSeconds / mb / (rows[0].ParseSeconds / (rows[0].Bytes / 1e6)),4:F2}x)"
                            + $" | Check {row.CheckSeconds * 1000,8:F0} ms = {row.CheckSeconds * 1000 / mb,6:F1} ms/MB ({row.CheckSeconds / mb / (rows[0].CheckSeconds / (rows[0].Bytes / 1e6)),4:F2}x)");
        }
    }

    private static void LargeFile(int megabytes, bool skipCPython)
    {
        var source = ParseBenchmark.GeneratedSource(megabytes * 1_000_000L);
        foreach (var (name, parse) in new (string, Action<byte[]>)[] { ("Check", s => PythonParser.Check(s)), ("Parse", s => PythonParser.Parse(s)) })
        {
            var peak = ParseBenchmark.PeakRss(source, parse);
            if (peak == null)
            {
                Console.WriteLine("peak RSS: not measurable here (needs Linux /proc/self/clear_refs)");
                return;
            }
            Console.WriteLine($"{source.Length / 1e6:F1} MB generated file, AnCoder {name}: {peak.Seconds:F1} s, peak RSS {peak.PeakRssBytes / 1e6:F0} MB "
                            + $"= {(double)peak.PeakRssBytes / source.Length:F1}x the source (RSS before: {peak.RssBeforeBytes / 1e6:F0} MB)");
        }
        if (skipCPython) return;
        var file = Path.Combine(Path.GetTempPath(), $"ancoder-bench-{Environment.ProcessId}.py");
        try
        {
            File.WriteAllBytes(file, source);
            var output = RunScript(["--peak-rss", file], null);
            if (output == null) return;
            using var json = JsonDocument.Parse(output);
            long rss = json.RootElement.GetProperty("peak_rss_bytes").GetInt64();
            Console.WriteLine($"{source.Length / 1e6:F1} MB generated file, CPython ast.parse: {json.RootElement.GetProperty("seconds").GetDouble():F1} s, "
                            + $"peak RSS {rss / 1e6:F0} MB = {(double)rss / source.Length:F1}x the source (whole python3 process)");
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static (double Best, double Median, int Rejected, double SmallCallsPerSecond)? RunCPython(List<string> paths, int rounds)
    {
        var output = RunScript(["--stdin-list", "--json", "--rounds", rounds.ToString(),
            "--small-source-hex", Convert.ToHexString(Encoding.UTF8.GetBytes(ParseBenchmark.SmallStatementList))],
            Encoding.UTF8.GetBytes(string.Join('\0', paths)));
        if (output == null) return null;
        using var json = JsonDocument.Parse(output);
        var r = json.RootElement;
        return (r.GetProperty("best_mb_per_s").GetDouble(), r.GetProperty("median_mb_per_s").GetDouble(), r.GetProperty("rejected").GetInt32(),
            r.GetProperty("small_calls_per_s").GetDouble());
    }

    /// <summary>Runs bench/cpython_parse_throughput.py with <paramref name="args"/>; its stdout, or null (reported).</summary>
    private static string? RunScript(string[] args, byte[]? stdin)
    {
        var root = RepositoryPaths.FindRoot();
        var script = root == null ? null : Path.Combine(root, "bench", "cpython_parse_throughput.py");
        if (script == null || !File.Exists(script))
        {
            Console.Error.WriteLine("ancoder bench parse: bench/cpython_parse_throughput.py not found (run from the repository's ./ancoder)");
            return null;
        }
        var info = new ProcessStartInfo("python3", [script, .. args])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        try
        {
            using var process = Process.Start(info)!;
            if (stdin != null) process.StandardInput.BaseStream.Write(stdin);
            process.StandardInput.Close();
            var output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0)
            {
                Console.Error.WriteLine($"ancoder bench parse: {Path.GetFileName(script)} exited with {process.ExitCode}");
                return null;
            }
            return output;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            Console.Error.WriteLine("ancoder bench parse: python3 not found");
            return null;
        }
    }
}
