using System.Globalization;
using System.Text;
using AnCoder.Experiments.Statistics;

namespace AnCoder.Experiments.Decoding;

/// <summary>One row of the paired comparison: a variant against a baseline, differences within a seed, mean ± SE over seeds.</summary>
public sealed record DecodingDifference(string Benchmark, string Variant, string Baseline, IReadOnlyList<int> BaselineSteps, int Seeds,
    MeanWithError VariantCalls, MeanWithError BaselineCalls, MeanWithError Syntax, MeanWithError NonTrivial, MeanWithError PassAt1);

/// <summary>
/// The table of docs/decoding.md "Measurement", built from the cells of a measurement folder alone
/// (<see cref="DecodingMeasurement.ReadAll"/>): per benchmark and variant the paper's syntax validity, non-trivial
/// syntax validity, pass@1, network calls (forward rows) and sampling seconds per sample, mean ± SE over seeds; then the
/// paired differences against plain and, for a variant that spends more calls, against the plain baseline at equal
/// calls (per seed the <c>plain-T*</c> cell whose calls are closest to the variant's).
/// </summary>
public static class DecodingReport
{
    /// <summary>The order of the table: the measured variants first (as planned), then the baselines by T.</summary>
    private static readonly string[] VariantOrder = ["plain", "repair", "guard", "anchor", "parallel", "repair+guard", "combined"];

    private static int SortKey(string variant)
    {
        int i = Array.IndexOf(VariantOrder, variant);
        if (i >= 0) return i;
        return variant.StartsWith(DecodingVariant.EqualCallsPrefix, StringComparison.Ordinal)
               && int.TryParse(variant[DecodingVariant.EqualCallsPrefix.Length..], NumberStyles.Integer, CultureInfo.InvariantCulture, out int steps)
            ? 1000 + steps : 100000;
    }

    /// <summary>Paired differences of every variant against plain, and against the plain baseline at equal calls where it spends more.</summary>
    public static IReadOnlyList<DecodingDifference> Differences(IReadOnlyList<DecodingCell> cells, double callTolerance = 1.0)
    {
        var rows = new List<DecodingDifference>();
        foreach (var bench in cells.Select(c => c.Benchmark).Distinct().Order(StringComparer.Ordinal))
        {
            var benchCells = cells.Where(c => c.Benchmark == bench).ToList();
            var bySeed = benchCells.GroupBy(c => c.Replicate).ToDictionary(g => g.Key, g => g.ToList());
            foreach (var variant in benchCells.Select(c => c.Variant).Distinct().Where(v => v != "plain" && Array.IndexOf(VariantOrder, v) >= 0)
                         .OrderBy(SortKey))
            {
                var pairsPlain = new List<(DecodingCell V, DecodingCell B)>();
                var pairsEqual = new List<(DecodingCell V, DecodingCell B)>();
                foreach (var (_, seedCells) in bySeed.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                {
                    var v = seedCells.FirstOrDefault(c => c.Variant == variant);
                    var plain = seedCells.FirstOrDefault(c => c.Variant == "plain");
                    if (v is null || plain is null) continue;
                    pairsPlain.Add((v, plain));
                    if (v.NetworkRowsPerSample > plain.NetworkRowsPerSample + callTolerance / 2
                        && DecodingMeasurement.EqualCallsBaseline(seedCells, v) is { } equal && equal.Variant != "plain")
                        pairsEqual.Add((v, equal));
                }
                if (pairsPlain.Count > 0) rows.Add(Difference(bench, variant, "plain", pairsPlain));
                if (pairsEqual.Count > 0) rows.Add(Difference(bench, variant, "plain at equal calls", pairsEqual));
            }
        }
        return rows;
    }

    private static DecodingDifference Difference(string bench, string variant, string baseline, List<(DecodingCell V, DecodingCell B)> pairs)
    {
        MeanWithError Paired(Func<DecodingCell, double> metric) => SampleStatistics.Summarize(pairs.Select(p => metric(p.V) - metric(p.B)));
        var steps = pairs.Select(p => StepsOf(p.B.Variant)).Where(s => s > 0).Distinct().Order().ToList();
        return new DecodingDifference(bench, variant, baseline, steps, pairs.Count,
            SampleStatistics.Summarize(pairs.Select(p => p.V.NetworkRowsPerSample)), SampleStatistics.Summarize(pairs.Select(p => p.B.NetworkRowsPerSample)),
            Paired(c => c.SyntaxValidity), Paired(c => c.NonTrivialValidity), Paired(c => c.PassAt1));
    }

    private static int StepsOf(string variant) =>
        variant.StartsWith(DecodingVariant.EqualCallsPrefix, StringComparison.Ordinal)
        && int.TryParse(variant[DecodingVariant.EqualCallsPrefix.Length..], NumberStyles.Integer, CultureInfo.InvariantCulture, out int steps) ? steps : 0;

    /// <summary>The markdown tables (one per benchmark, then the paired differences).</summary>
    public static string Markdown(IReadOnlyList<DecodingCell> cells, DecodingMeasurementSettings settings)
    {
        var text = new StringBuilder();
        var flags = settings.Variants().ToDictionary(v => v.Name, v => v.Flags(settings.Steps));
        string Flags(string variant) => flags.TryGetValue(variant, out var f) ? f : StepsOf(variant) > 0 ? $"--steps {StepsOf(variant)}" : "?";
        foreach (var bench in cells.Select(c => c.Benchmark).Distinct().Order(StringComparer.Ordinal))
        {
            var benchCells = cells.Where(c => c.Benchmark == bench).ToList();
            int samples = benchCells.Select(c => c.Samples).DefaultIfEmpty().Max();
            text.AppendLine(Inv($"**{bench}** ({samples} samples per replicate; replicates {string.Join(", ", benchCells.Select(c => c.Replicate).Distinct().Order(StringComparer.Ordinal))}; mean ± SE over replicates, percentages)"))
                .AppendLine()
                .AppendLine("| variant | flags | replicates | syntax % | non-trivial % | pass@1 % | calls/sample | s/sample | guard redraws/sample | repaired/sample |")
                .AppendLine("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
            foreach (var group in benchCells.GroupBy(c => c.Variant).OrderBy(g => SortKey(g.Key)))
            {
                var members = group.ToList();
                MeanWithError S(Func<DecodingCell, double> metric) => SampleStatistics.Summarize(members.Select(metric));
                text.AppendLine(Inv($"| {group.Key} | `{Flags(group.Key)}` | {members.Count} | {S(c => c.SyntaxValidity).Format(100, 1)} | {S(c => c.NonTrivialValidity).Format(100, 1)} | ") +
                                Inv($"{S(c => c.PassAt1).Format(100, 1)} | {S(c => c.NetworkRowsPerSample).Format(1, 1)} | {S(c => c.SamplingSecondsPerSample).Format(1, 2)} | ") +
                                Inv($"{S(c => c.GuardResamplesPerSample).Format(1, 2)} | {S(c => c.RepairedPerSample).Format(1, 2)} |"));
            }
            text.AppendLine();
        }
        var differences = Differences(cells, settings.CallTolerance);
        if (differences.Count > 0)
        {
            text.AppendLine("**Paired differences** (variant − baseline on the same benchmark and replicate, mean ± SE over replicates, percentage points; " +
                            "calls = forward rows per sample, variant / baseline)")
                .AppendLine()
                .AppendLine("| benchmark | variant | baseline | replicates | calls | Δ syntax | Δ non-trivial | Δ pass@1 |")
                .AppendLine("| --- | --- | --- | ---: | --- | ---: | ---: | ---: |");
            foreach (var d in differences)
            {
                string baseline = d.BaselineSteps.Count > 0 ? Inv($"{d.Baseline} (T = {string.Join(", ", d.BaselineSteps)})") : d.Baseline;
                text.AppendLine(Inv($"| {d.Benchmark} | {d.Variant} | {baseline} | {d.Seeds} | {d.VariantCalls.Mean:F1} / {d.BaselineCalls.Mean:F1} | ") +
                                Inv($"{d.Syntax.Format(100, 1)} | {d.NonTrivial.Format(100, 1)} | {d.PassAt1.Format(100, 1)} |"));
            }
        }
        return text.ToString();
    }

    private static string Inv(FormattableString value) => value.ToString(CultureInfo.InvariantCulture);
}
