using System.Text;
using AnCoder.Syntax.Parsing;
using Xunit;
using Xunit.Abstractions;

namespace AnCoder.Syntax.Tests.Differential;

/// <summary>Tests that measure process-wide counters (work, allocation) or may crash the test host on a parser bug
/// (deep inputs): xunit runs this collection after all parallel ones, one test at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class IsolatedCollection
{
    public const string Name = "Isolated (process-wide counters, deep inputs)";
}

/// <summary>
/// (d) Linear work: an input 16x larger of the same shape must cost at most ~16x as much, counted in units that do
/// not depend on the machine or its load: the parser's work counter (rule calls, tokens read, backward token scans;
/// <see cref="Parser.TotalWork"/>) and the bytes allocated (tree, tokens, strings, copies). Quadratic behaviour
/// gives 256x. Wall-clock scaling is measured by <c>ancoder bench parse</c> (its "scaling" table), not here.
/// </summary>
[Collection(IsolatedCollection.Name)]
public sealed class LinearWorkTests(ITestOutputHelper output)
{
    /// <summary>16x plus room for per-parse constants (buffers, warm caches) on the smaller input.</summary>
    private const double MaxWorkRatio = 20.0;
    private const double MaxAllocationRatio = 24.0;

    public static TheoryData<string> Shapes() => new(ShapeMakers.Keys);

    private static readonly Dictionary<string, Func<int, string>> ShapeMakers = new()
    {
        ["statements"] = n => Repeat("x = 1\n", n),
        ["realistic code"] = n => Repeat(RealisticChunk, n / 20 + 1),
        ["long sum"] = n => "x = 1" + Repeat(" + 1", n) + "\n",
        ["long list"] = n => "x = [" + Repeat("1, ", n) + "]\n",
        ["long string concatenation"] = n => "x = (" + Repeat("'ab' ", n) + ")\n",
        ["many keyword arguments"] = n => "f(" + Repeat("a=1, ", n) + ")\n",
        ["nested parentheses repeated"] = n => Repeat(new string('(', 150) + "1" + new string(')', 150) + "\n", n / 100 + 1),
        ["nested blocks repeated"] = n => Repeat(NestedIfs(60), n / 60 + 1),
        ["error at the end"] = n => Repeat("x = 1\n", n) + "(\n",
        ["unclosed bracket at the start"] = n => "x = [\n" + Repeat("1, ", n) + "\n",
        ["long f-string"] = n => "x = f'" + Repeat("{a}b", n) + "'\n",
        ["long bytes literal"] = n => "x = b'" + Repeat("\\x00", n) + "'\n",
        ["tuple targets"] = n => Repeat("a, b, c = d, e, f\n", n),
        ["deep attribute chain"] = n => "x" + Repeat(".a", Math.Min(n, 40_000)) + "\n",
    };

    private const string RealisticChunk = """
        class Widget(Base, metaclass=Meta):
            def __init__(self, name: str, *args, size: int = 3, **kwargs) -> None:
                super().__init__(*args, **kwargs)
                self.items = [x * 2 for x in range(size) if x % 2 == 0]
                self.lookup = {k: v for k, v in zip("abc", (1, 2, 3))}
                try:
                    value = f"{name!r:>10} and {size + 1}"
                except (ValueError, KeyError) as error:
                    raise RuntimeError("bad") from error
                finally:
                    pass

        """;

    private static string Repeat(string s, int n) => new StringBuilder(s.Length * n).Insert(0, s, n).ToString();

    private static string NestedIfs(int depth)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < depth; i++) sb.Append(' ', i).Append("if x:\n");
        return sb.Append(' ', depth).Append("pass\n").ToString();
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void SixteenTimesTheInputCostsAtMostTwentyTimesTheWorkAndAllocation(string shape)
    {
        var make = ShapeMakers[shape];
        int[] sizes = [20_000, 320_000];
        var inputs = sizes.Select(n => Encoding.UTF8.GetBytes(make(n))).ToArray();
        foreach (var input in inputs) Measure(input); // buffers sized and cached, lazy tables loaded
        var costs = inputs.Select(Measure).ToArray();
        var report = string.Join(", ", sizes.Select((n, i) =>
            $"n={n} ({inputs[i].Length / 1024} KB): work {costs[i].Work:N0}, allocated {costs[i].Allocated / 1024:N0} KB"));
        output.WriteLine($"{shape}: {report}");
        double workRatio = (double)costs[1].Work / costs[0].Work;
        double allocationRatio = (double)costs[1].Allocated / Math.Max(1, costs[0].Allocated);
        Assert.True(workRatio < MaxWorkRatio, $"{shape}: 16x input took {workRatio:F1}x the work (limit {MaxWorkRatio}x): {report}");
        Assert.True(allocationRatio < MaxAllocationRatio,
            $"{shape}: 16x input allocated {allocationRatio:F1}x as much (limit {MaxAllocationRatio}x): {report}");
    }

    /// <summary>The parse's work units and allocated bytes. Both counters are process-wide (a deep input moves to a
    /// big-stack thread), which is why this collection runs alone.</summary>
    private static (long Work, long Allocated) Measure(byte[] input)
    {
        long work = Parser.TotalWork;
        long allocated = GC.GetTotalAllocatedBytes(precise: true);
        var verdict = OurParser.Verdict(input);
        Assert.False(verdict.StartsWith("!Exception", StringComparison.Ordinal), verdict);
        return (Parser.TotalWork - work, GC.GetTotalAllocatedBytes(precise: true) - allocated);
    }
}
