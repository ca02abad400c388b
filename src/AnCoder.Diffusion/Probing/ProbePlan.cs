using AnCoder.Diffusion.Schedules;

namespace AnCoder.Diffusion.Probing;

/// <summary>
/// One model query of the probe: a noisy sequence with the target and its chain masked and <see cref="Hints"/> hint
/// tokens revealed in <see cref="Order"/> (null for k = 0, where nothing is revealed and the one query counts for all
/// three orders).
/// </summary>
public sealed record ProbeQuery(int Sample, int TimeIndex, RevealOrder? Order, int Hints, int[] NoisyIds, int Target, int TrueId);

/// <summary>Settings of a probe run (docs/algorithms.md §8).</summary>
public sealed record ProbeOptions
{
    /// <summary>Held-out samples to probe (each contributes one target).</summary>
    public int Samples { get; init; } = 200;
    /// <summary>Chain length K: hints revealed k = 0..K.</summary>
    public int K { get; init; } = 4;
    public IReadOnlyList<double> TimeGrid { get; init; } = [0.3, 0.5, 0.7];
    public int Seed { get; init; }
    /// <summary>Tokens of a sample the model sees (longer samples are cut; targets and chains lie inside).</summary>
    public int ContextLength { get; init; } = 256;
    /// <summary>Queries per forward pass.</summary>
    public int BatchSize { get; init; } = 32;

    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (Samples < 1) problems.Add("--samples must be at least 1");
        if (K < 1) problems.Add("--k must be at least 1");
        if (TimeGrid.Count == 0) problems.Add("--t-grid needs at least one t");
        foreach (double t in TimeGrid)
            if (!(t > 0 && t <= 1)) problems.Add($"--t-grid: t = {t} outside (0, 1]");
        if (ContextLength < 2) problems.Add("--context must be at least 2");
        if (BatchSize < 1) problems.Add("--batch must be at least 1");
        return problems;
    }
}

/// <summary>How the probe's samples turned out: how many had a target, how many noisy draws were skipped.</summary>
public sealed record ProbePlanSummary(int SamplesUsed, int SamplesWithoutTarget, int[] SkippedDraws);

/// <summary>Builds the probe's queries (pure given the seed; no torch).</summary>
public static class ProbePlan
{
    /// <summary>
    /// For each sample with a target (at most <see cref="ProbeOptions.Samples"/> of them, in the given order): one
    /// target drawn uniformly among the eligible ones; for each t one noise draw z ~ q(·|x) (each position masked with
    /// probability 1 − α(t)), then the target and chain masked too; queries for k = 0 and for k = 1..K in each order.
    /// A draw with fewer than K masked positions outside the chain cannot feed the random order up to K and is
    /// skipped for all orders (so the three curves always average over the same draws); it is counted per t.
    /// </summary>
    public static (List<ProbeQuery> Queries, ProbePlanSummary Summary) Build(IEnumerable<ProbeTokens> samples, ProbeOptions options,
        INoiseSchedule schedule, int maskId)
    {
        var queries = new List<ProbeQuery>();
        var skipped = new int[options.TimeGrid.Count];
        int used = 0, withoutTarget = 0;
        foreach (var tokens in samples)
        {
            if (used >= options.Samples) break;
            var targets = ProbeSelection.Targets(tokens, options.K, options.ContextLength);
            if (targets.Count == 0) { withoutTarget++; continue; }
            var random = new Random(unchecked(options.Seed * 1_000_003 + used));
            var target = targets[random.Next(targets.Count)];
            int length = Math.Min(tokens.Count, options.ContextLength);
            int[] clean = tokens.Ids[..length];
            for (int ti = 0; ti < options.TimeGrid.Count; ti++)
            {
                double maskProbability = 1 - schedule.Alpha(options.TimeGrid[ti]);
                var masked = new bool[length];
                for (int i = 0; i < length; i++) masked[i] = random.NextDouble() < maskProbability;
                masked[target.Token] = true;
                foreach (int c in target.Chain) masked[c] = true;
                int[] pool = ProbeSelection.RandomPool(masked, target, random);
                if (pool.Length < options.K) { skipped[ti]++; continue; }
                int[] noisy = new int[length];
                for (int i = 0; i < length; i++) noisy[i] = masked[i] ? maskId : clean[i];
                queries.Add(new ProbeQuery(used, ti, null, 0, noisy, target.Token, clean[target.Token]));
                foreach (var order in ProbeSelection.Orders)
                {
                    for (int k = 1; k <= options.K; k++)
                    {
                        int[] hinted = (int[])noisy.Clone();
                        foreach (int position in ProbeSelection.Revealed(order, target.Chain, pool, k)) hinted[position] = clean[position];
                        queries.Add(new ProbeQuery(used, ti, order, k, hinted, target.Token, clean[target.Token]));
                    }
                }
            }
            used++;
        }
        return (queries, new ProbePlanSummary(used, withoutTarget, skipped));
    }
}
