using System.Numerics;
using AnCoder.Evaluation.Scoring;

namespace AnCoder.Evaluation.Tests;

public class PassAtKTests
{
    [Theory]
    // Hand-computed from 1 - C(n-c, k) / C(n, k).
    [InlineData(5, 1, 1, 1.0 / 5)]
    [InlineData(20, 7, 1, 7.0 / 20)]
    [InlineData(10, 3, 2, 1 - 21.0 / 45)]          // C(7,2)=21, C(10,2)=45
    [InlineData(10, 2, 5, 1 - 56.0 / 252)]         // C(8,5)=56, C(10,5)=252
    [InlineData(20, 1, 10, 0.5)]                    // C(19,10)/C(20,10) = 10/20
    [InlineData(20, 0, 10, 0.0)]
    [InlineData(20, 20, 10, 1.0)]
    [InlineData(4, 2, 3, 1.0)]                      // n - c < k: every 3-subset holds a pass
    [InlineData(10, 1, 10, 1.0)]
    [InlineData(3, 0, 1, 0.0)]
    public void Matches_hand_computed_values(int n, int c, int k, double expected) =>
        Assert.Equal(expected, PassAtK.Estimate(n, c, k), 12);

    [Fact]
    public void Matches_the_combinatorial_formula_for_all_small_n()
    {
        for (var n = 1; n <= 60; n++)
            for (var c = 0; c <= n; c++)
                for (var k = 1; k <= n; k++)
                {
                    var exact = 1 - (double)(Binomial(n - c, k) * 1_000_000_000_000 / Binomial(n, k)) / 1e12;
                    Assert.True(Math.Abs(exact - PassAtK.Estimate(n, c, k)) < 1e-9, $"n={n} c={c} k={k}");
                }
    }

    [Fact]
    public void Pass_at_1_is_the_mean_of_c_over_n_and_mean_skips_nothing()
    {
        var problems = new[] { (20, 5), (20, 0), (20, 20), (20, 1) };
        Assert.Equal((5 + 0 + 20 + 1) / 80.0, PassAtK.Mean(problems, 1)!.Value, 12);
        Assert.Null(PassAtK.Mean(new[] { (20, 5), (5, 1) }, 10));
    }

    private static BigInteger Binomial(int n, int k)
    {
        if (k < 0 || k > n)
            return BigInteger.Zero;
        BigInteger result = BigInteger.One;
        for (var i = 1; i <= k; i++)
            result = result * (n - k + i) / i;
        return result;
    }
}
