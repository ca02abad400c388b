using AnCoder.Diffusion.Probing;
using AnCoder.Diffusion.Schedules;

namespace AnCoder.Diffusion.Tests.Probing;

public sealed class ProbePlanTests
{
    private const int MaskId = 1;

    [Fact]
    public void Queries_mask_target_and_chain_and_reveal_exactly_the_hints()
    {
        var tokens = ProbeSelectionTests.HandTable();
        var noTarget = new ProbeTokens([20, 21], [-1, -1], [[], []], [true, true]);
        var options = new ProbeOptions { K = 2, TimeGrid = [0.9, 1.0], Samples = 5, Seed = 3 };
        var (queries, summary) = ProbePlan.Build([noTarget, tokens], options, NoiseSchedules.Create("cosine2"), MaskId);

        Assert.Equal(1, summary.SamplesUsed);
        Assert.Equal(1, summary.SamplesWithoutTarget);
        int draws = options.TimeGrid.Count - summary.SkippedDraws.Sum();
        Assert.Equal(draws * (1 + 3 * options.K), queries.Count); // per draw: k = 0 once, then k = 1..K per order

        var chains = ProbeSelection.Targets(tokens, 2, 256).ToDictionary(t => t.Token, t => t.Chain);
        foreach (var group in queries.GroupBy(q => q.TimeIndex))
        {
            var unhinted = group.Single(q => q.Order is null);
            Assert.Equal(0, unhinted.Hints);
            Assert.Equal(tokens.Ids[unhinted.Target], unhinted.TrueId);
            int[] chain = chains[unhinted.Target];
            Assert.Equal(MaskId, unhinted.NoisyIds[unhinted.Target]);
            Assert.All(chain, c => Assert.Equal(MaskId, unhinted.NoisyIds[c]));
            // Visible positions of the draw carry the clean token.
            for (int i = 0; i < tokens.Count; i++)
                if (unhinted.NoisyIds[i] != MaskId) Assert.Equal(tokens.Ids[i], unhinted.NoisyIds[i]);
            foreach (var query in group.Where(q => q.Order is not null))
            {
                Assert.Equal(unhinted.Target, query.Target);
                Assert.Equal(MaskId, query.NoisyIds[query.Target]);
                var revealed = Enumerable.Range(0, tokens.Count).Where(i => query.NoisyIds[i] != unhinted.NoisyIds[i]).ToList();
                Assert.Equal(query.Hints, revealed.Count);
                Assert.All(revealed, i => Assert.Equal(tokens.Ids[i], query.NoisyIds[i]));
                var expected = query.Order switch
                {
                    RevealOrder.InOut => chain[..query.Hints],
                    RevealOrder.OutIn => chain.Reverse().Take(query.Hints).ToArray(),
                    _ => null,
                };
                if (expected is not null) Assert.Equal(expected.Order(), revealed);
                else Assert.Empty(revealed.Intersect(chain));
            }
            // Random hints are nested: the k = 1 position is among the k = 2 positions.
            var random = group.Where(q => q.Order == RevealOrder.Random).OrderBy(q => q.Hints).ToList();
            var first = Enumerable.Range(0, tokens.Count).Where(i => random[0].NoisyIds[i] != unhinted.NoisyIds[i]);
            var second = Enumerable.Range(0, tokens.Count).Where(i => random[1].NoisyIds[i] != unhinted.NoisyIds[i]);
            Assert.Subset(second.ToHashSet(), first.ToHashSet());
        }
    }

    [Fact]
    public void A_draw_with_too_few_masked_positions_outside_the_chain_is_skipped_for_all_orders()
    {
        // 8 tokens, target + chain of 4 = 5 masked: at a tiny t almost nothing else is masked, so K = 4 random hints
        // are impossible and the draw is skipped (counted), not run with fewer random hints.
        var options = new ProbeOptions { K = 4, TimeGrid = [0.01], Samples = 1, Seed = 0 };
        var (queries, summary) = ProbePlan.Build([ProbeSelectionTests.HandTable()], options, NoiseSchedules.Create("cosine2"), MaskId);
        Assert.Empty(queries);
        Assert.Equal([1], summary.SkippedDraws);
        Assert.Equal(1, summary.SamplesUsed);
    }

    [Fact]
    public void Options_are_validated()
    {
        var problems = new ProbeOptions { K = 0, TimeGrid = [0.5, 1.5], Samples = 0 }.Validate();
        Assert.Equal(3, problems.Count);
        Assert.Empty(new ProbeOptions().Validate());
    }
}
