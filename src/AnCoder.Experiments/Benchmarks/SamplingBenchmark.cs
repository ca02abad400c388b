using AnCoder.Diffusion.Sampling;
using AnCoder.Experiments.Models;

namespace AnCoder.Experiments.Benchmarks;

/// <summary>One configuration of <c>ancoder bench sample</c>: the median round's time and what follows from it.</summary>
public sealed record SamplingBenchmarkRow(string Precision, int Steps, int Batch, bool Caching, double Seconds, double SamplesPerSecond,
    double TokensPerSecond, double NetworkCallsPerSample, double OutsideShare);

/// <summary>
/// <c>ancoder bench sample</c>: sampler throughput (samples/s, generated tokens/s) over T and batch size with and
/// without caching, and the share of wall time spent outside the network calls (the whole Generate call, canvas
/// building and text cutting included, minus the time inside <see cref="IDenoiser.Predict"/>, SUBS included: the
/// sampler's own overhead; target under 5 %, issue 18). Cached and uncached runs of one configuration alternate; the median of the rounds is reported.
/// </summary>
public static class SamplingBenchmark
{
    public const string Prompt = "def find_max(numbers):\n    \"\"\"Return the largest number in a non-empty list.\"\"\"\n";

    /// <summary>Every (T, batch) of one loaded model, after a warm-up run; <paramref name="onRow"/> sees each row as it is measured.</summary>
    public static List<SamplingBenchmarkRow> Measure(LoadedModel loaded, string precision, IReadOnlyList<int> stepList, IReadOnlyList<int> batchList,
        int length, int rounds, Action<SamplingBenchmarkRow>? onRow = null)
    {
        var rows = new List<SamplingBenchmarkRow>();
        MeasureOnce(loaded, 8, batchList.Max(), true, length); // warm-up: JIT, allocator, oneDNN kernels
        foreach (int steps in stepList)
            foreach (int batch in batchList)
            {
                var results = new Dictionary<bool, List<(double Seconds, SamplingStatistics Stats)>> { [true] = [], [false] = [] };
                for (int round = 0; round < rounds; round++)
                    foreach (bool caching in new[] { true, false })
                        results[caching].Add(MeasureOnce(loaded, steps, batch, caching, length));
                foreach (bool caching in new[] { true, false })
                {
                    var median = results[caching].OrderBy(r => r.Seconds).ElementAt(results[caching].Count / 2);
                    var row = new SamplingBenchmarkRow(precision, steps, batch, caching, median.Seconds, batch / median.Seconds, batch * length / median.Seconds,
                        (double)median.Stats.NetworkCalls, median.Stats.OverheadShare);
                    rows.Add(row);
                    onRow?.Invoke(row);
                }
            }
        return rows;
    }

    private static (double Seconds, SamplingStatistics Stats) MeasureOnce(LoadedModel loaded, int steps, int batch, bool caching, int length)
    {
        var options = loaded.DefaultOptions(null) with { Steps = steps, Caching = caching };
        var sampler = new PromptSampler(new ModelDenoiser(loaded.Model), loaded.Tokenizer, options, loaded.Config.EosTokenId, loaded.Config.PadTokenId);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        sampler.Generate([Prompt], new GenerationOptions { Length = length, SamplesPerPrompt = batch, BatchSize = batch, Seed = 1 });
        double seconds = clock.Elapsed.TotalSeconds;
        var stats = sampler.Runs.Single();
        // Outside share over the whole call (canvas building and text cutting included).
        return (seconds, stats with { TotalSeconds = seconds });
    }
}
