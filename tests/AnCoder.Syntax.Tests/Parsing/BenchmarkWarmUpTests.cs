using Xunit;
using AnCoder.Syntax.Benchmarking;

namespace AnCoder.Syntax.Tests.Parsing;

/// <summary>
/// `bench parse` times its rounds only after the JIT has settled (<see cref="ParseBenchmark.WarmUp"/>), decided on
/// round times given here, so the rule is tested without a clock.
/// </summary>
public sealed class BenchmarkWarmUpTests
{
    private static int WarmUp(params double[] times)
    {
        int next = 0;
        return ParseBenchmark.WarmUp(() => times[Math.Min(next++, times.Length - 1)]);
    }

    [Fact]
    public void Warm_up_ends_after_two_rounds_in_a_row_that_are_no_more_than_3_percent_faster_than_the_fastest_before()
    {
        // The stdlib rounds of docs/parser-verification.md (ms/MB as tiered PGO recompiled the parser), then steady.
        Assert.Equal(11, WarmUp(44.8, 45.7, 35.8, 33.9, 27.4, 24.7, 24.7, 21.9, 20.7, 21.0, 20.9, 20.8, 20.8));
        // A steady round from the start: the minimum of two rounds, then two settled ones.
        Assert.Equal(4, WarmUp(10, 10, 10, 10, 10));
        // One settled round is not enough when the next is faster again.
        Assert.Equal(6, WarmUp(10, 10, 10, 8, 8, 8));
        // Never settling: stops at the cap.
        Assert.Equal(ParseBenchmark.MaxWarmUpRounds, WarmUp(Enumerable.Range(0, 40).Select(i => 100.0 * Math.Pow(0.9, i)).ToArray()));
    }
}
