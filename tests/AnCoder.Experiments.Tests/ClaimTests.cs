using AnCoder.Anchoring.Labels;
using AnCoder.Experiments.Repro;
using AnCoder.Experiments.Statistics;

namespace AnCoder.Experiments.Tests;

/// <summary>The "agrees / does not agree" list on made-up Table 1 numbers.</summary>
public sealed class ClaimTests
{
    private static readonly MeanWithError None = MeanWithError.None;

    /// <summary>A standard error of NaN stands for one seed (no error bar).</summary>
    private static VariantScores HumanEval(double syntax, double se, double pass1) =>
        new(None, new MeanWithError(syntax, se, double.IsNaN(se) ? 1 : 3), new MeanWithError(pass1, se, double.IsNaN(se) ? 1 : 3), None, None);

    private static List<ClaimCheck> Claims(Dictionary<AnchorStrategy, VariantScores> table) =>
        ReproReport.Claims(table, new Dictionary<AnchorStrategy, (double, double)>(), new Dictionary<AnchorStrategy, (double, IReadOnlyList<double>)>());

    [Fact]
    public void A_higher_anchored_mean_agrees_and_the_note_gives_the_difference_with_its_error()
    {
        var claims = Claims(new() { [AnchorStrategy.Mdlm] = HumanEval(0.50, 0.03, 0.02), [AnchorStrategy.AnchorTree] = HumanEval(0.60, 0.04, 0.01) });
        var syntax = claims.Single(c => c.Statement == "anchortree beats mdlm on HumanEval syntax validity");
        Assert.True(syntax.Agrees);
        // Difference 10 points; error √(3² + 4²) = 5 points: exactly two standard errors is not beyond them.
        Assert.Contains("+10.00 ± 5.00 points, within 2 standard errors", syntax.Ours);
        var pass1 = claims.Single(c => c.Statement == "anchortree beats mdlm on HumanEval pass@1");
        Assert.False(pass1.Agrees);
        Assert.True(claims.Single(c => c.Statement.StartsWith("AnchorTree has the highest")).Agrees);
    }

    [Fact]
    public void A_tie_is_undecided_and_absent_variants_are_not_claimed()
    {
        var claims = Claims(new() { [AnchorStrategy.Mdlm] = HumanEval(0.5, double.NaN, 0.0), [AnchorStrategy.AnchorTree] = HumanEval(0.5, double.NaN, 0.0) });
        Assert.All(claims, c => Assert.Null(c.Agrees));
        Assert.DoesNotContain(claims, c => c.Statement.StartsWith("keyword"));
        // MBPP was not evaluated: its claims are listed as not measured.
        Assert.Equal("not measured", claims.Single(c => c.Statement == "anchortree beats mdlm on MBPP pass@1").Ours);
    }

    [Fact]
    public void T_scaling_and_lambda_claims_compare_slopes_and_best_values()
    {
        var claims = ReproReport.Claims(new Dictionary<AnchorStrategy, VariantScores>(),
            new Dictionary<AnchorStrategy, (double, double)> { [AnchorStrategy.Mdlm] = (0.01, 0), [AnchorStrategy.AnchorTree] = (0.03, 0) },
            new Dictionary<AnchorStrategy, (double, IReadOnlyList<double>)> { [AnchorStrategy.AnchorTree] = (0.03, [0.01]), [AnchorStrategy.Keyword] = (0.1, [0.1]) });
        Assert.True(claims.Single(c => c.Statement.StartsWith("more steps T help anchortree")).Agrees);
        Assert.False(claims.Single(c => c.Statement.Contains("best λ for anchortree")).Agrees);
        Assert.True(claims.Single(c => c.Statement.Contains("best λ for keyword")).Agrees);
    }

    private static ProbeResult Probe(string strategy, int seed, double inOutMinusOutIn, double outInMinusRandom) =>
        new($"{strategy}-s{seed}", strategy, seed,
        [
            // k = 1, 2 at one t: the chain orders are compared only below K = 2, so the k = 2 gap of in-out − out-in is ignored.
            new(0.5, 1, "in-out", "out-in", 10, inOutMinusOutIn, 0.01),
            new(0.5, 2, "in-out", "out-in", 10, 99, 0.01),
            new(0.5, 1, "out-in", "random", 10, outInMinusRandom, 0.01),
            new(0.5, 2, "out-in", "random", 10, outInMinusRandom + 0.02, 0.01),
        ]);

    [Fact]
    public void Probe_claims_average_each_model_over_k_then_take_mean_and_error_over_seeds()
    {
        var claims = ReproReport.ProbeClaims([Probe("anchortree", 0, 0.03, -0.01), Probe("anchortree", 1, 0.01, -0.03)], k: 2);
        var chain = claims.Single(c => c.Statement == "probe: revealing hints in-out helps anchortree more than out-in");
        // Seeds 0.03 and 0.01: mean 0.02, s = 0.01414, SE = 0.01 (the k = K gap of 99 is left out).
        Assert.True(chain.Agrees);
        Assert.Equal("+20.000 ± 10.000 × 10⁻³ in p(target) over 2 seeds, within 2 standard errors", chain.Ours);
        // out-in − random per seed: mean of (−0.01, 0.01) = 0 and of (−0.03, −0.01) = −0.02 → −0.01 ± 0.01.
        var random = claims.Single(c => c.Statement == "probe: revealing hints out-in helps anchortree more than random");
        Assert.False(random.Agrees);
        Assert.Equal("-10.000 ± 10.000 × 10⁻³ in p(target) over 2 seeds, within 2 standard errors", random.Ours);
    }

    [Fact]
    public void Best_lambda_is_the_highest_syntax_validity_with_ties_broken_by_valid_lines()
    {
        Assert.Equal([0.1], ReproReport.Best([(0.01, 0.0, 0.30), (0.03, 0.0, 0.25), (0.1, 0.0, 0.31)]));
        Assert.Equal([0.03], ReproReport.Best([(0.01, 0.0, 0.30), (0.03, 0.05, 0.10)]));
        Assert.Equal([0.01, 0.03], ReproReport.Best([(0.01, 0.0, double.NaN), (0.03, 0.0, double.NaN)]));
        Assert.Empty(ReproReport.Best([]));
    }

    [Fact]
    public void Paired_differences_match_runs_by_seed_and_cancel_the_shared_seed_effect()
    {
        var variant = new[] { new PlannedRun("at-s0", AnchorStrategy.AnchorTree, 0, 0.03, 0.8, 2), new PlannedRun("at-s1", AnchorStrategy.AnchorTree, 1, 0.03, 0.8, 2), new PlannedRun("at-s2", AnchorStrategy.AnchorTree, 2, 0.03, 0.8, 2) };
        var baseline = new[] { new PlannedRun("m-s2", AnchorStrategy.Mdlm, 2, 0, 1, 0), new PlannedRun("m-s0", AnchorStrategy.Mdlm, 0, 0, 1, 0), new PlannedRun("m-s1", AnchorStrategy.Mdlm, 1, 0, 1, 0) };
        // Seeds move both variants together (6.6, 6.9, 6.7 vs 6.4, 6.6, 6.5): differences 0.2, 0.3, 0.2 → mean 0.2333,
        // s = √((0.0011 + 0.0044 + 0.0011) / 2) = 0.05774, SE = 0.03333.
        var value = new Dictionary<string, double> { ["at-s0"] = 6.6, ["at-s1"] = 6.9, ["at-s2"] = 6.7, ["m-s0"] = 6.4, ["m-s1"] = 6.6, ["m-s2"] = 6.5 };
        var difference = ReproReport.PairedDifference(variant, baseline, r => value[r.Name]);
        Assert.Equal(0.23333, difference.Mean, 4);
        Assert.Equal(0.03333, difference.StandardError, 4);
        Assert.Equal(3, difference.Count);
        // A seed missing on one side is left out.
        Assert.Equal(2, ReproReport.PairedDifference(variant, baseline.Take(2).ToList(), r => value[r.Name]).Count);
    }
}
