using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Loader;

// Before/after comparison of parser builds on a shared machine, where wall-clock MB/s follows the load: every given
// AnCoder.Syntax.dll is loaded into its own AssemblyLoadContext of one process, the timed rounds alternate between
// them (after three warm-up rounds each), and each round's CPU time of this thread is read (the workstation,
// non-concurrent GC runs on it, so collections are counted), with allocated bytes and GC counts.
//
//   dotnet run -c Release --project bench/parse_ab -- DIR ROUNDS parse|check|small OLD/AnCoder.Syntax.dll NEW/AnCoder.Syntax.dll
//
// parse: PythonParser.Parse(bytes) on every .py file under DIR (site-packages skipped), per MB of source;
// check: PythonParser.Check(bytes); small: PythonParser.Parse(string) of bench parse's 207-byte statement list, per call.
if (args.Length < 4)
{
    Console.Error.WriteLine("usage: parse_ab DIR ROUNDS parse|check|small SYNTAX_DLL...");
    return 2;
}
string dir = args[0];
int rounds = int.Parse(args[1]);
string mode = args[2];
var dlls = args.Skip(3).ToArray();
var sources = Directory.EnumerateFiles(dir, "*.py", SearchOption.AllDirectories)
    .Where(p => !p.Contains("site-packages")).OrderBy(p => p, StringComparer.Ordinal).Select(File.ReadAllBytes).ToArray();
long bytes = sources.Sum(s => (long)s.Length);
const int SmallCalls = 20000;
var variants = new List<Action>();
foreach (var dll in dlls)
{
    var assembly = new AssemblyLoadContext(dll).LoadFromAssemblyPath(Path.GetFullPath(dll));
    var parser = assembly.GetType("AnCoder.Syntax.PythonParser")!;
    if (mode == "small")
    {
        string small = (string)assembly.GetType("AnCoder.Syntax.Benchmarking.ParseBenchmark")!
            .GetField("SmallStatementList")!.GetValue(null)!;
        var parse = parser.GetMethod("Parse", [typeof(string)])!.CreateDelegate<Func<string, object>>();
        variants.Add(() => { for (int i = 0; i < SmallCalls; i++) parse(small); });
    }
    else
    {
        var parse = parser.GetMethod(mode == "check" ? "Check" : "Parse", [typeof(byte[])])!.CreateDelegate<Func<byte[], object?>>();
        variants.Add(() => { foreach (var s in sources) parse(s); });
    }
}
for (int w = 0; w < 3; w++) foreach (var v in variants) v();
var cpu = dlls.Select(_ => new List<double>()).ToArray();
var allocated = new double[dlls.Length];
var gen0 = new double[dlls.Length];
var gen1 = new double[dlls.Length];
for (int r = 0; r < rounds; r++)
{
    for (int k = 0; k < variants.Count; k++)
    {
        long a0 = GC.GetAllocatedBytesForCurrentThread();
        int c0 = GC.CollectionCount(0), c1 = GC.CollectionCount(1);
        double t0 = ThreadCpuSeconds();
        variants[k]();
        cpu[k].Add(ThreadCpuSeconds() - t0);
        allocated[k] += GC.GetAllocatedBytesForCurrentThread() - a0;
        gen0[k] += GC.CollectionCount(0) - c0;
        gen1[k] += GC.CollectionCount(1) - c1;
    }
}
for (int k = 0; k < dlls.Length; k++)
{
    var sorted = cpu[k].Order().ToList();
    string name = Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(dlls[k]))) ?? dlls[k];
    if (mode == "small")
    {
        double us(double s) => s * 1e6 / SmallCalls;
        Console.WriteLine($"{name}: CPU per call min {us(sorted[0]):F2} µs, median {us(sorted[sorted.Count / 2]):F2} µs; "
            + $"allocated {allocated[k] / rounds / SmallCalls:F0} bytes per call");
    }
    else
    {
        double mb = bytes / 1e6;
        Console.WriteLine($"{name}: CPU per MB min {sorted[0] * 1000 / mb:F2} ms, median {sorted[sorted.Count / 2] * 1000 / mb:F2} ms; "
            + $"allocated {allocated[k] / rounds / bytes:F2} MB per MB; GCs per MB {gen0[k] / rounds / mb:F3} gen0, {gen1[k] / rounds / mb:F3} gen1; "
            + $"rounds (ms/MB) {string.Join(" ", cpu[k].Select(s => (s * 1000 / mb).ToString("F1")))}");
    }
}
return 0;

static double ThreadCpuSeconds()
{
    clock_gettime(3 /* CLOCK_THREAD_CPUTIME_ID */, out var ts);
    return ts.Seconds + ts.Nanoseconds / 1e9;
}

[DllImport("libc", EntryPoint = "clock_gettime")]
static extern int clock_gettime(int clock, out Timespec ts);

struct Timespec
{
    public long Seconds;
    public long Nanoseconds;
}
