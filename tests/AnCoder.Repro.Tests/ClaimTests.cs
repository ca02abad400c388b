using AnCoder.Cli.Repro;

namespace AnCoder.Repro.Tests;

/// <summary>The "agrees / does not agree" list on made-up Table 1 numbers.</summary>
public sealed class ClaimTests
{
    private static readonly MeanWithError None = new(double.NaN, null, 0);

    private static VariantScores HumanEval(double syntax, double? se, double pass1) =>
        new(None, new MeanWithError(syntax, se, se is null ? 1 : 3), new MeanWithError(pass1, se, se is null ? 1 : 3), None, None);

    private static List<ClaimCheck> Claims(Dictionary<string, VariantScores> table) =>
        ReproReport.Claims(table, new Dictionary<string, (double, double)>(), new Dictionary<string, (double, IReadOnlyList<double>)>());

    [Fact]
    public void A_higher_anchored_mean_agrees_and_the_note_gives_the_difference_with_its_error()
    {
        var claims = Claims(new() { ["mdlm"] = HumanEval(0.50, 0.03, 0.02), ["anchortree"] = HumanEval(0.60, 0.04, 0.01) });
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
        var claims = Claims(new() { ["mdlm"] = HumanEval(0.5, null, 0.0), ["anchortree"] = HumanEval(0.5, null, 0.0) });
        Assert.All(claims, c => Assert.Null(c.Agrees));
        Assert.DoesNotContain(claims, c => c.Statement.StartsWith("keyword"));
        // MBPP was not evaluated: its claims are listed as not measured.
        Assert.Equal("not measured", claims.Single(c => c.Statement == "anchortree beats mdlm on MBPP pass@1").Ours);
    }

    [Fact]
    public void T_scaling_and_lambda_claims_compare_slopes_and_best_values()
    {
        var claims = ReproReport.Claims(new Dictionary<string, VariantScores>(),
            new Dictionary<string, (double, double)> { ["mdlm"] = (0.01, 0), ["anchortree"] = (0.03, 0) },
            new Dictionary<string, (double, IReadOnlyList<double>)> { ["anchortree"] = (0.03, [0.01]), ["keyword"] = (0.1, [0.1]) });
        Assert.True(claims.Single(c => c.Statement.StartsWith("more steps T help anchortree")).Agrees);
        Assert.False(claims.Single(c => c.Statement.Contains("best λ for anchortree")).Agrees);
        Assert.True(claims.Single(c => c.Statement.Contains("best λ for keyword")).Agrees);
    }
}
