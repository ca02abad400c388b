using AnCoder.Diffusion.Sampling;

namespace AnCoder.Diffusion.Tests.Sampling;

public sealed class ReverseStepTests
{
    private static double Cosine2(double t) => 1e-3 + (1 - 1e-3) * Math.Pow(Math.Cos(Math.PI * t / 2), 2);

    [Fact]
    public void Time_grid_runs_from_one_to_1e_minus_5_in_equal_steps()
    {
        var grid = TimeGrid.Create(4, Cosine2, RemaskOptions.None);
        Assert.Equal(4, grid.Length);
        Assert.Equal(1.0, grid[0].T);
        Assert.Equal(1e-5, grid[^1].S, 12);
        for (int k = 0; k < 4; k++)
        {
            Assert.Equal(1 - k * (1 - 1e-5) / 4, grid[k].T, 12);
            Assert.Equal(Cosine2(grid[k].S), grid[k].AlphaS, 12);
            if (k > 0) Assert.Equal(grid[k - 1].S, grid[k].T, 12);
        }
    }

    [Fact]
    public void Step_probabilities_match_the_hand_computed_values()
    {
        // α_t = 0.2, α_s = 0.5: MDLM unmask 0.3/0.8 = 0.375; σ_max = min(1, 0.5/0.2) = 1;
        // cap 0.1 → σ = 0.1, unmask (0.5 − 0.9·0.2)/0.8 = 0.4; rescale 0.5 → σ = 0.5, unmask (0.5 − 0.1)/0.8 = 0.5.
        var step = new StepTimes(0, 0.6, 0.5, 0.2, 0.5, false);
        Assert.Equal(0.375, ReverseStep.UnmaskProbability(0.5, 0.2, 0), 12);
        Assert.Equal(1.0, ReverseStep.SigmaMax(0.5, 0.2), 12);
        Assert.Equal(0.1, ReverseStep.Sigma(new RemaskOptions(RemaskStrategy.Cap, 0.1), step), 12);
        Assert.Equal(0.4, ReverseStep.UnmaskProbability(0.5, 0.2, 0.1), 12);
        Assert.Equal(0.5, ReverseStep.Sigma(new RemaskOptions(RemaskStrategy.Rescale, 0.5), step), 12);
        Assert.Equal(0.5, ReverseStep.UnmaskProbability(0.5, 0.2, 0.5), 12);
        // Late step: α_t = 0.9, α_s = 0.95 → σ_max = 0.05/0.9; the cap binds.
        var late = new StepTimes(0, 0.2, 0.1, 0.9, 0.95, false);
        Assert.Equal(0.05 / 0.9, ReverseStep.Sigma(new RemaskOptions(RemaskStrategy.Cap, 0.1), late), 12);
        Assert.Equal(0.0, ReverseStep.Sigma(RemaskOptions.None, late));
        // Loop outside its phase is MDLM.
        Assert.Equal(0.0, ReverseStep.Sigma(new RemaskOptions(RemaskStrategy.Loop, 0.1), late));
    }

    [Fact]
    public void Confidence_sigmas_are_a_softmax_of_minus_confidence_scaled_by_sigma_max()
    {
        var sigmas = ReverseStep.ConfidenceSigmas([0.9, 0.1], 0.5);
        double low = Math.Exp(-0.1), high = Math.Exp(-0.9);
        Assert.Equal(0.5 * high / (low + high), sigmas[0], 12);
        Assert.Equal(0.5 * low / (low + high), sigmas[1], 12);
    }

    [Fact]
    public void Loop_holds_alpha_at_alpha_on_between_t_off_and_t_on()
    {
        var loop = RemaskOptions.Parse("loop:0.2:0.5:0.1:0.9");
        var grid = TimeGrid.Create(100, Cosine2, loop);
        var looping = grid.Where(g => g.Looping).ToList();
        Assert.NotEmpty(looping);
        Assert.All(looping, g => { Assert.Equal(0.9, g.AlphaT, 6); Assert.Equal(0.9, g.AlphaS, 6); });
        Assert.All(looping, g => Assert.InRange(g.T, 0.1, 0.5 + 1e-9));
        Assert.Equal(Cosine2(1), grid[0].AlphaT, 9);
        Assert.True(grid[^1].AlphaS > 0.9999);
        for (int k = 1; k < grid.Length; k++) Assert.True(grid[k].AlphaS >= grid[k].AlphaT - 1e-12);
    }

    [Theory]
    [InlineData("cap:0.1", RemaskStrategy.Cap, 0.1)]
    [InlineData("rescale:0.5", RemaskStrategy.Rescale, 0.5)]
    [InlineData("none", RemaskStrategy.None, 0)]
    [InlineData("conf", RemaskStrategy.Conf, 1)]
    [InlineData("CAP", RemaskStrategy.Cap, 0.1)]
    public void Remask_options_parse(string text, RemaskStrategy strategy, double eta)
    {
        var options = RemaskOptions.Parse(text);
        Assert.Equal(strategy, options.Strategy);
        Assert.Equal(eta, options.Eta);
    }

    [Theory]
    [InlineData("cap:x")]
    [InlineData("bogus")]
    [InlineData("rescale:2")]
    [InlineData("loop:0.1:0.2:0.5")]
    public void Bad_remask_options_are_rejected(string text) => Assert.Throws<FormatException>(() => RemaskOptions.Parse(text));
}
