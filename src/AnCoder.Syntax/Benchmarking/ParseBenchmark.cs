using System.Diagnostics;
using System.Text;
using AnCoder.Syntax.Ast;
using AnCoder.Syntax.Parsing.Strings;
using AnCoder.Syntax.Text;
using AnCoder.Syntax.Tokenizing;

namespace AnCoder.Syntax.Benchmarking;

/// <summary>Times, allocation and GC counts of timed rounds over a corpus (per round: all sources once).</summary>
public sealed record ThroughputResult(long Bytes, IReadOnlyList<double> RoundSeconds, double AllocatedBytesPerRound,
    double Gen0PerRound, double Gen1PerRound, double Gen2PerRound, int Rejected, int WarmUpRounds = 0)
{
    public double BestMBps => Bytes / 1e6 / RoundSeconds.Min();
    public double MedianMBps => Bytes / 1e6 / ParseBenchmark.Median(RoundSeconds);
    /// <summary>Bytes allocated per byte of source (= MB per MB).</summary>
    public double AllocatedPerSourceByte => AllocatedBytesPerRound / Bytes;
    /// <summary>Gen0 collections per MB of source.</summary>
    public double Gen0PerMB => Gen0PerRound / (Bytes / 1e6);
}

/// <summary>One size of the scaling table: seconds per parse (fastest of a few) of generated code.</summary>
public sealed record ScalingRow(long Bytes, double ParseSeconds, double CheckSeconds, double CompactSeconds);

/// <summary>Peak resident memory of one parse of a large generated file (Linux: VmHWM, reset before the parse).</summary>
public sealed record PeakMemory(long SourceBytes, double Seconds, long RssBeforeBytes, long PeakRssBytes);

/// <summary>
/// The measurements behind <c>ancoder bench parse</c>: in-process, single-threaded, after a warm-up (JIT), with
/// allocation and GC counts read from the runtime (GC.GetAllocatedBytesForCurrentThread, GC.CollectionCount).
/// </summary>
public static class ParseBenchmark
{
    /// <summary>A statement list of about 200 bytes, the size of a short sampled completion.</summary>
    public const string SmallStatementList =
        "total = 0\nfor i in range(10):\n    if i % 2 == 0:\n        total += i * 2\n    else:\n        total -= 1\n" +
        "names = [n.strip() for n in text.split(',') if n]\nresult = {'total': total, 'names': names}\nprint(result)\n";

    /// <summary>A chunk of ordinary code (classes, defaults, comprehensions, f-strings, try/except) that the
    /// scaling and large-file measurements repeat.</summary>
    public const string RealisticChunk =
        "class Widget(Base, metaclass=Meta):\n" +
        "    def __init__(self, name: str, *args, size: int = 3, **kwargs) -> None:\n" +
        "        super().__init__(*args, **kwargs)\n" +
        "        self.items = [x * 2 for x in range(size) if x % 2 == 0]\n" +
        "        self.lookup = {k: v for k, v in zip(\"abc\", (1, 2, 3))}\n" +
        "        try:\n" +
        "            value = f\"{name!r:>10} and {size + 1}\"\n" +
        "        except (ValueError, KeyError) as error:\n" +
        "            raise RuntimeError(\"bad\") from error\n" +
        "        finally:\n" +
        "            pass\n\n";

    /// <summary>The pathological shape of the scaling table: one tiny statement per line (the most tokens, nodes and
    /// top-level statements per byte).</summary>
    public const string TinyStatementChunk = "x = 1\n";

    /// <summary><see cref="RealisticChunk"/> repeated to at least <paramref name="bytes"/> bytes (whole chunks).</summary>
    public static byte[] GeneratedSource(long bytes) => Repeated(RealisticChunk, bytes);

    /// <summary><paramref name="text"/> repeated to at least <paramref name="bytes"/> bytes (whole copies).</summary>
    public static byte[] Repeated(string text, long bytes)
    {
        var chunk = Encoding.UTF8.GetBytes(text);
        long count = (bytes + chunk.Length - 1) / chunk.Length;
        var result = new byte[count * chunk.Length];
        for (long i = 0; i < count; i++) chunk.CopyTo(result, i * chunk.Length);
        return result;
    }

    /// <summary>Warm-up rounds at most (<see cref="WarmUp"/>).</summary>
    public const int MaxWarmUpRounds = 30;

    /// <summary>
    /// Warm-up rounds until the JIT has settled (<see cref="WarmUp"/>), then <paramref name="rounds"/> timed rounds,
    /// each followed by <paramref name="afterEachRound"/> (the baseline's round, so that the two alternate).
    /// </summary>
    public static ThroughputResult Throughput(byte[][] sources, int rounds, Func<byte[], bool> parse, Action? afterEachRound = null)
    {
        long bytes = sources.Sum(s => (long)s.Length);
        int rejected = ParseAll(sources, parse);
        int warmUp = 1 + WarmUp(() =>
        {
            var clock = Stopwatch.StartNew();
            ParseAll(sources, parse);
            return clock.Elapsed.TotalSeconds;
        });
        var seconds = new List<double>();
        long allocated = 0;
        int gen0 = 0, gen1 = 0, gen2 = 0;
        for (int round = 0; round < rounds; round++)
        {
            GC.Collect();
            int c0 = GC.CollectionCount(0), c1 = GC.CollectionCount(1), c2 = GC.CollectionCount(2);
            long a0 = GC.GetAllocatedBytesForCurrentThread();
            var clock = Stopwatch.StartNew();
            ParseAll(sources, parse);
            seconds.Add(clock.Elapsed.TotalSeconds);
            allocated += GC.GetAllocatedBytesForCurrentThread() - a0;
            gen0 += GC.CollectionCount(0) - c0;
            gen1 += GC.CollectionCount(1) - c1;
            gen2 += GC.CollectionCount(2) - c2;
            afterEachRound?.Invoke();
        }
        return new ThroughputResult(bytes, seconds, (double)allocated / rounds, (double)gen0 / rounds, (double)gen1 / rounds,
            (double)gen2 / rounds, rejected, warmUp);
    }

    /// <summary>
    /// Runs <paramref name="round"/> (which returns its seconds) until its time has settled and returns how many times it ran: at least twice, then
    /// until two rounds in a row are each at most 3 % faster than the fastest round before them, at most
    /// <see cref="MaxWarmUpRounds"/>. Tiered compilation with dynamic PGO recompiles the parser's hot methods over the
    /// first seconds of parsing (on the stdlib, rounds went 44.8 → 21.0 ms/MB over ten rounds with the old two-round
    /// warm-up; docs/parser-verification.md), so timing rounds right after one pass measured the JIT, not the parser.
    /// CPython has no JIT: its rounds are steady from the second one.
    /// </summary>
    public static int WarmUp(Func<double> round)
    {
        double fastest = double.PositiveInfinity;
        int settled = 0, count = 0;
        while (count < MaxWarmUpRounds)
        {
            double time = round();
            count++;
            settled = count > 2 && time >= 0.97 * fastest ? settled + 1 : 0;
            fastest = Math.Min(fastest, time);
            if (settled == 2) break;
        }
        return count;
    }

    private static int ParseAll(byte[][] sources, Func<byte[], bool> parse)
    {
        int rejected = 0;
        foreach (var source in sources)
            if (!parse(source)) rejected++;
        return rejected;
    }

    /// <summary>Calls per second of <paramref name="call"/> (after a warm-up), run for about <paramref name="seconds"/>.</summary>
    public static double CallsPerSecond(Action call, double seconds = 1.0)
    {
        for (int i = 0; i < 200; i++) call();
        long calls = 0;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed.TotalSeconds < seconds)
        {
            for (int i = 0; i < 100; i++) call();
            calls += 100;
        }
        return calls / clock.Elapsed.TotalSeconds;
    }

    /// <summary>Parse, Check and ParseCompact time of generated code at each size, after one parse of the smallest
    /// (JIT, buffers): the fastest of <paramref name="repeats"/> runs at every size. (The 10 and 30 MB sizes were timed
    /// once: on this VM a single run of a few seconds could land in a slow minute and move the 30 MB / 100 KB ratio
    /// from 1.1x to 1.4x; docs/parser-verification.md, "CPython's rounds alternating with ours".)</summary>
    public static List<ScalingRow> Scaling(IReadOnlyList<long> sizes, string chunk, int repeats = 3)
    {
        var rows = new List<ScalingRow>();
        var warmUp = Repeated(chunk, sizes.Min());
        PythonParser.Parse(warmUp);
        PythonParser.Check(warmUp);
        PythonParser.ParseCompact(warmUp);
        foreach (var size in sizes)
        {
            var source = Repeated(chunk, size);
            rows.Add(new ScalingRow(source.Length, Fastest(repeats, () => PythonParser.Parse(source)), Fastest(repeats, () => PythonParser.Check(source)),
                Fastest(repeats, () => PythonParser.ParseCompact(source))));
        }
        return rows;
    }

    private static double Fastest(int runs, Action action)
    {
        double best = double.MaxValue;
        for (int i = 0; i < runs; i++)
        {
            GC.Collect();
            var clock = Stopwatch.StartNew();
            action();
            best = Math.Min(best, clock.Elapsed.TotalSeconds);
        }
        return best;
    }

    /// <summary>Peak RSS of one <paramref name="parse"/> of <paramref name="source"/> (null off Linux): the kernel's
    /// high-water mark is reset first (/proc/self/clear_refs), so earlier peaks of this process do not count, after an
    /// aggressive collection that also returns the memory of earlier measurements to the system (a plain collection
    /// keeps it committed: 30 MB after a Check of a 27 MB file, more after a Parse).</summary>
    public static PeakMemory? PeakRss(byte[] source, Action<byte[]> parse)
    {
        if (!OperatingSystem.IsLinux()) return null;
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
        long before = StatusKilobytes("VmRSS:") * 1024;
        var clock = Stopwatch.StartNew();
        parse(source);
        double seconds = clock.Elapsed.TotalSeconds;
        return new PeakMemory(source.Length, seconds, before, StatusKilobytes("VmHWM:") * 1024);
    }

    /// <summary>The garbage collector's configuration as it bears on peak memory (workstation or server, concurrent,
    /// the largest gen0 budget: garbage up to that budget accumulates between collections).</summary>
    public static string GcConfiguration()
    {
        var config = GC.GetConfigurationVariables();
        string Value(string key) => config.TryGetValue(key, out var v) ? Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture) ?? "?" : "?";
        string budget = config.TryGetValue("GCGen0MaxBudget", out var b) && b is long bytes and > 0 ? $"{bytes / (1 << 20)} MiB" : "default";
        return $"{(Value("ServerGC") == "True" ? "server" : "workstation")} GC, concurrent {Value("ConcurrentGC")}, gen0 max budget {budget}, "
             + $"conserve memory {Value("GCConserveMem")}";
    }

    private static long StatusKilobytes(string field)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (!line.StartsWith(field, StringComparison.Ordinal)) continue;
            var digits = new string(line.AsSpan(field.Length).Trim().ToString().TakeWhile(char.IsAsciiDigit).ToArray());
            return long.Parse(digits, System.Globalization.CultureInfo.InvariantCulture);
        }
        return 0;
    }

    /// <summary>CheckPrefix calls per second on prefixes of about <paramref name="length"/> bytes cut at every byte
    /// offset of a window of generated code (so the last token is cut at every point).</summary>
    public static double PrefixCallsPerSecond(int length, double seconds = 1.0)
    {
        var text = Encoding.UTF8.GetString(GeneratedSource(length + 600));
        var prefixes = Enumerable.Range(0, 64).Select(i => text[..(length - 32 + i)]).ToArray();
        int next = 0;
        return CallsPerSecond(() => PythonParser.CheckPrefix(prefixes[next++ % prefixes.Length]), seconds);
    }

    /// <summary>Throughput of the string-literal stage alone over the string runs of <paramref name="sources"/>, in
    /// MB of whole source per second (replacement fields of f-strings are not parsed).</summary>
    public static double StringLiteralMBps(byte[][] sources, int rounds = 5)
    {
        var work = new List<(SourceText Source, Token[] Run)>();
        long totalBytes = 0;
        foreach (var bytes in sources)
        {
            if (!SourceText.TryDecode(bytes, out var source, out _)) continue;
            totalBytes += source!.Utf8.Length;
            var tokens = PythonTokenizer.Tokenize(source).Tokens;
            for (int i = 0; i < tokens.Count; i++)
            {
                if (tokens[i].Kind != TokenKind.String) continue;
                int j = i;
                while (j < tokens.Count && tokens[j].Kind == TokenKind.String) j++;
                work.Add((source, tokens.Skip(i).Take(j - i).ToArray()));
                i = j - 1;
            }
        }
        var fields = new PlaceholderFields();
        double best = double.MaxValue;
        for (int round = 0; round <= rounds; round++)
        {
            var clock = Stopwatch.StartNew();
            foreach (var (source, run) in work) StringLiteralParser.Concatenate(source, run, fields, out _);
            if (round > 0) best = Math.Min(best, clock.Elapsed.TotalSeconds);
        }
        return totalBytes / 1e6 / best;
    }

    /// <summary>Replacement fields cost (almost) nothing, so only the literal stage is measured.</summary>
    private sealed class PlaceholderFields : IFStringExpressionParser
    {
        public ExprNode? ParseFStringExpression(byte[] text, int firstLineno, int firstLineColOffset, out PythonSyntaxError? error)
        {
            error = null;
            return new Name { Id = "x", Ctx = Load.Instance };
        }

        public PythonSyntaxError SyntaxErrorAtLastToken(string message) => new(message, 0, 0);
        public PythonSyntaxError SyntaxErrorAtToken(string message, Token token) => new(message, 0, 0);
    }

    internal static double Median(IReadOnlyList<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
