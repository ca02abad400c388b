using System.Text;
using System.Text.Json;

namespace AnCoder.Syntax.Benchmarking;

/// <summary>
/// The report of <c>ancoder bench parse</c>: <see cref="ParseBenchmark"/>'s measurements of our parser beside
/// CPython's (bench/cpython_parse_throughput.py through <see cref="CPythonParseScript"/>, its rounds alternating with
/// ours).
/// </summary>
public static class ParseBenchmarkReport
{
    public static int Run(IReadOnlyList<string> paths, string directory, int rounds, int largeMB, bool scaling,
        CPythonParseScript? cpython, TextWriter output)
    {
        if (Environment.GetEnvironmentVariable(PeakChildVariable) is { } which) return PeakChild(which, largeMB, output);
        // First: peak RSS on a large generated file (each figure in a fresh copy of this process).
        if (largeMB > 0) LargeFile(largeMB, cpython, output);
        Footprint(output);

        var sources = paths.Select(File.ReadAllBytes).ToArray();
        double megabytes = sources.Sum(s => (long)s.Length) / 1e6;
        output.WriteLine($"{paths.Count} files, {megabytes:F1} MB under {directory}");
        // CPython's rounds alternate with ours (one after each of our Parse and ParseCompact rounds): this VM's speed
        // drifted by 10-40 % within minutes, which rounds timed minutes apart measured instead of the parsers.
        using var baseline = cpython?.Serve(paths);
        if (cpython != null && baseline == null) return 1;
        var beside = new Dictionary<string, List<double>> { ["Parse"] = [], ["ParseCompact"] = [] };
        bool baselineFailed = false;
        Action? BesideRound(string name) => baseline == null ? null : () =>
        {
            if (baseline.Round() is double seconds) beside[name].Add(seconds);
            else baselineFailed = true;
        };
        var ours = ParseBenchmark.Throughput(sources, rounds, Accepts, BesideRound("Parse"));
        var checks = ParseBenchmark.Throughput(sources, rounds, source => PythonParser.Check(source) == null);
        var compacts = ParseBenchmark.Throughput(sources, rounds, source => PythonParser.ParseCompact(source).Success, BesideRound("ParseCompact"));
        output.WriteLine($"AnCoder Parse (in-process, 1 thread, timed after {ours.WarmUpRounds} warm-up rounds, until the JIT settled): best {ours.BestMBps:F2} MB/s, median {ours.MedianMBps:F2} MB/s ({ours.Rejected} rejected); "
                       + $"allocated {ours.AllocatedPerSourceByte:F1} MB per MB; GCs per MB: {ours.Gen0PerMB:F2} gen0, {ours.Gen1PerRound / megabytes:F3} gen1, {ours.Gen2PerRound / megabytes:F3} gen2");
        output.WriteLine($"AnCoder Check (verdict, no tree):     best {checks.BestMBps:F2} MB/s, median {checks.MedianMBps:F2} MB/s; allocated {checks.AllocatedPerSourceByte:F1} MB per MB");
        output.WriteLine($"AnCoder ParseCompact (whole tree as records): best {compacts.BestMBps:F2} MB/s, median {compacts.MedianMBps:F2} MB/s; allocated {compacts.AllocatedPerSourceByte:F1} MB per MB; "
                       + $"GCs per MB: {compacts.Gen0PerMB:F2} gen0, {compacts.Gen1PerRound / megabytes:F3} gen1, {compacts.Gen2PerRound / megabytes:F3} gen2");
        double ourSmall = ParseBenchmark.CallsPerSecond(() => PythonParser.Parse(ParseBenchmark.SmallStatementList));
        output.WriteLine($"AnCoder Parse on a {Encoding.UTF8.GetByteCount(ParseBenchmark.SmallStatementList)}-byte statement list: {ourSmall:N0} calls/s ({1e6 / ourSmall:F1} µs per call)");
        double? cpySmall = baseline?.SmallCallsPerSecond(ParseBenchmark.SmallStatementList);
        foreach (int length in new[] { 200, 2000 })
            output.WriteLine($"AnCoder CheckPrefix on {length}-byte prefixes: {ParseBenchmark.PrefixCallsPerSecond(length):N0} calls/s");
        output.WriteLine($"string-literal stage alone: {ParseBenchmark.StringLiteralMBps(sources):F0} MB of source per second");
        if (scaling) Scaling(output);
        if (baseline == null) return 0;
        if (baselineFailed || cpySmall == null) return 1;

        var cpythonBesideParse = new ThroughputResult(baseline.Bytes, beside["Parse"], 0, 0, 0, 0, baseline.Rejected, 1);
        var cpythonBesideCompact = new ThroughputResult(baseline.Bytes, beside["ParseCompact"], 0, 0, 0, 0, baseline.Rejected, 1);
        output.WriteLine($"CPython ast.parse (in-process, rounds alternating with ours): best {cpythonBesideParse.BestMBps:F2} MB/s, median {cpythonBesideParse.MedianMBps:F2} MB/s "
                       + $"({baseline.Rejected} rejected); statement list: {cpySmall:N0} calls/s ({1e6 / cpySmall:F1} µs per call)");
        output.WriteLine($"ratio AnCoder/CPython: best {ours.BestMBps / cpythonBesideParse.BestMBps:F2}x, median {ours.MedianMBps / cpythonBesideParse.MedianMBps:F2}x "
                       + $"(median of the paired rounds' ratios {PairedRatio(ours, cpythonBesideParse):F2}x); statement list {ourSmall / cpySmall:F2}x per call; "
                       + $"ParseCompact: median {compacts.MedianMBps / cpythonBesideCompact.MedianMBps:F2}x (paired {PairedRatio(compacts, cpythonBesideCompact):F2}x)");
        return 0;
    }

    /// <summary>The median over rounds of CPython's round time / ours, round k of each taken one after the other.</summary>
    internal static double PairedRatio(ThroughputResult ours, ThroughputResult baseline) =>
        ParseBenchmark.Median(ours.RoundSeconds.Zip(baseline.RoundSeconds, (o, b) => b * ours.Bytes / (o * baseline.Bytes)).ToList());

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

    private static void Scaling(TextWriter output)
    {
        foreach (var (name, chunk) in new[] { ("ParseBenchmark.RealisticChunk", ParseBenchmark.RealisticChunk), ("\"x = 1\\n\"", ParseBenchmark.TinyStatementChunk) })
            ScalingTable(name, ParseBenchmark.Scaling([100_000, 1_000_000, 10_000_000, 30_000_000], chunk), output);
    }

    private static void ScalingTable(string name, List<ScalingRow> rows, TextWriter output)
    {
        output.WriteLine($"generated code ({name} repeated): time per MB (fastest of 3 runs), and relative to the 100 KB row");
        double mb0 = rows[0].Bytes / 1e6;
        double parse0 = rows[0].ParseSeconds / mb0, check0 = rows[0].CheckSeconds / mb0, compact0 = rows[0].CompactSeconds / mb0;
        foreach (var row in rows)
        {
            double mb = row.Bytes / 1e6;
            output.WriteLine($"  {mb,7:F1} MB: Parse {row.ParseSeconds * 1000,8:F0} ms = {row.ParseSeconds * 1000 / mb,6:F1} ms/MB ({row.ParseSeconds / mb / parse0,4:F2}x)"
                           + $" | Check {row.CheckSeconds * 1000,8:F0} ms = {row.CheckSeconds * 1000 / mb,6:F1} ms/MB ({row.CheckSeconds / mb / check0,4:F2}x)"
                           + $" | ParseCompact {row.CompactSeconds * 1000,8:F0} ms = {row.CompactSeconds * 1000 / mb,6:F1} ms/MB ({row.CompactSeconds / mb / compact0,4:F2}x)");
        }
    }

    /// <summary>The child's side: one measurement, one line for <see cref="PeakInFreshProcess"/>.</summary>
    private static int PeakChild(string which, int megabytes, TextWriter output)
    {
        var source = ParseBenchmark.GeneratedSource(megabytes * 1_000_000L);
        var peak = ParseBenchmark.PeakRss(source, PeakVariants.Single(v => v.Name == which).Parse);
        if (peak == null) return 1;
        output.WriteLine(FormattableString.Invariant($"{PeakChildVariable} {peak.Seconds} {peak.RssBeforeBytes} {peak.PeakRssBytes}"));
        return 0;
    }

    /// <summary>Runs this command again with <see cref="PeakChildVariable"/> = <paramref name="which"/>; null when this
    /// process is not the ancoder command or the copy gives no figure.</summary>
    private static PeakMemory? PeakInFreshProcess(string which)
    {
        string? host = Environment.ProcessPath;
        if (host == null || System.Reflection.Assembly.GetEntryAssembly()?.GetName().Name != "ancoder") return null;
        var args = Environment.GetCommandLineArgs();
        var info = new System.Diagnostics.ProcessStartInfo(host) { UseShellExecute = false, RedirectStandardOutput = true };
        // `dotnet ancoder.dll ...`: args[0] is the dll; an apphost: args[0] is the executable itself.
        if (Path.GetFileNameWithoutExtension(host) == "dotnet") info.ArgumentList.Add(args[0]);
        foreach (var a in args.Skip(1)) info.ArgumentList.Add(a);
        info.Environment[PeakChildVariable] = which;
        try
        {
            using var process = System.Diagnostics.Process.Start(info);
            if (process == null) return null;
            string stdout = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            var line = stdout.Split('\n').FirstOrDefault(l => l.StartsWith(PeakChildVariable + " ", StringComparison.Ordinal));
            if (process.ExitCode != 0 || line == null) return null;
            var f = line.Split(' ');
            var invariant = System.Globalization.CultureInfo.InvariantCulture;
            return new PeakMemory(0, double.Parse(f[1], invariant), long.Parse(f[2], invariant), long.Parse(f[3], invariant));
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    /// <summary>Where the memory of a full Parse goes: the tree of a 2.7 MB generated file, measured.</summary>
    private static void Footprint(TextWriter output)
    {
        var source = ParseBenchmark.GeneratedSource(2_700_000);
        var f = TreeFootprint.Measure(source);
        output.WriteLine($"tree of a {f.SourceBytes / 1e6:F1} MB generated file: {f.RetainedBytes / 1e6:F0} MB retained = {f.RetainedPerSourceByte:F1}x the source; "
                       + $"{f.Nodes:N0} nodes ({(double)f.RetainedBytes / f.Nodes:F0} bytes per node, lists included), {f.Lists:N0} lists "
                       + $"({f.ListSlots:N0} elements)");
        var compact = PythonParser.ParseCompact(source).Tree!;
        output.WriteLine($"compact tree of the same file (ParseCompact): {compact.StorageBytes / 1e6:F0} MB of records = {(double)compact.StorageBytes / f.SourceBytes:F1}x the source; "
                       + $"{compact.NodeCount:N0} nodes ({(double)compact.StorageBytes / compact.NodeCount:F0} bytes per node)");
    }

    /// <summary>What the large-file measurement parses with: the object tree, the verdict alone, the compact tree (each
    /// result kept alive until the peak is read, as a caller holding it would).</summary>
    private static readonly (string Name, Action<byte[]> Parse)[] PeakVariants =
    [
        ("Parse", s => GC.KeepAlive(PythonParser.Parse(s))),
        ("Check", s => PythonParser.Check(s)),
        ("ParseCompact", s => GC.KeepAlive(PythonParser.ParseCompact(s))),
    ];

    /// <summary>Set (to a <see cref="PeakVariants"/> name) in the copy of this process that measures one peak (<see cref="LargeFile"/>).</summary>
    private const string PeakChildVariable = "ANCODER_BENCH_PARSE_PEAK";

    /// <summary>
    /// Peak RSS of Parse and of Check on a generated file, each in a fresh copy of this process (`ancoder bench parse`
    /// run again with <see cref="PeakChildVariable"/> set), as CPython's is taken in a fresh python3: in one process the
    /// second figure would carry the first's heap and the gen0 budget the collector learnt from it (Check measured
    /// after Parse peaked at 188 MB instead of 101 MB). Where this process is not the ancoder command (a test host),
    /// both are measured here, Parse first.
    /// </summary>
    private static void LargeFile(int megabytes, CPythonParseScript? cpython, TextWriter output)
    {
        var source = ParseBenchmark.GeneratedSource(megabytes * 1_000_000L);
        output.WriteLine($"peak RSS measurements: {ParseBenchmark.GcConfiguration()}");
        foreach (var (name, parse) in PeakVariants)
        {
            var fresh = PeakInFreshProcess(name);
            var peak = fresh ?? ParseBenchmark.PeakRss(source, parse);
            if (peak == null)
            {
                output.WriteLine("peak RSS: not measurable here (needs Linux /proc/self/clear_refs)");
                return;
            }
            output.WriteLine($"{source.Length / 1e6:F1} MB generated file, AnCoder {name}: {peak.Seconds:F1} s, peak RSS {peak.PeakRssBytes / 1e6:F0} MB "
                           + $"= {(double)peak.PeakRssBytes / source.Length:F1}x the source (RSS before: {peak.RssBeforeBytes / 1e6:F0} MB; "
                           + $"{(fresh != null ? "fresh process" : "in this process")})");
        }
        if (cpython == null) return;
        var file = Path.Combine(Path.GetTempPath(), $"ancoder-bench-{Environment.ProcessId}.py");
        try
        {
            File.WriteAllBytes(file, source);
            var json = cpython.RunOnce(["--peak-rss", file], null);
            if (json == null) return;
            using var document = JsonDocument.Parse(json);
            long rss = document.RootElement.GetProperty("peak_rss_bytes").GetInt64();
            output.WriteLine($"{source.Length / 1e6:F1} MB generated file, CPython ast.parse: {document.RootElement.GetProperty("seconds").GetDouble():F1} s, "
                           + $"peak RSS {rss / 1e6:F0} MB = {(double)rss / source.Length:F1}x the source (whole python3 process)");
        }
        finally
        {
            File.Delete(file);
        }
    }
}
