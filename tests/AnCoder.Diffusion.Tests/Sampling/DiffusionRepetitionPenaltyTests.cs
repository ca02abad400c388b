using AnCoder.Diffusion.Sampling;

namespace AnCoder.Diffusion.Tests.Sampling;

/// <summary>The diffusion sampler's repetition penalty (SamplerOptions.RepetitionPenalty) on hand-computed log-probabilities.</summary>
[Collection(TorchCollection.Name)]
public sealed class DiffusionRepetitionPenaltyTests
{
    private const int Mask = 1;

    /// <summary>Every position: token 3 has logit 2.0, token 4 has 1.5, token v otherwise 0.01·v (mask 1 excluded).</summary>
    private static FakeDenoiser Model(int positions)
    {
        var table = new double[positions, 10];
        for (int i = 0; i < positions; i++)
            for (int v = 0; v < 10; v++) table[i, v] = v == 3 ? 2.0 : v == 4 ? 1.5 : 0.01 * v;
        return new FakeDenoiser(table);
    }

    private static int[] Greedy(double penalty, int[] prompt, int length, double frequency = 0)
    {
        // Threshold 1: no position is ever above it, so every step reveals exactly one, the leftmost (the penalty uses the
        // tokens decided before the step, so one reveal per step makes each see all earlier ones).
        var options = new SamplerOptions
        {
            ParallelThreshold = 1.0, Order = UnmaskOrder.LeftToRight, Remask = RemaskOptions.None, Temperature = 0, RepetitionPenalty = penalty,
            FrequencyPenalty = frequency,
        };
        var ids = new DiffusionSampler(Model(prompt.Length + length), options).Sample([Canvas.Completion(prompt, length, Mask, 5)])[0];
        return ids.Skip(prompt.Length).ToArray();
    }

    [Fact]
    public void A_token_already_generated_gets_its_log_probability_times_theta()
    {
        // Hand computation: Σ exp = e² + e^1.5 + Σ_{v∈{0,2,5..9}} e^{0.01v} = 7.389 + 4.482 + 7.383 = 19.254, log Z = 2.9577.
        // log p(3) = −0.9577, log p(4) = −1.4577, best other (9): −2.8677.
        // θ = 2: once 3 is generated, 2·(−0.9577) = −1.9154 < −1.4577, so 4 comes next; with both generated, 3 (−1.9154)
        // beats 4 (−2.9154) and 9 (−2.8677) again. θ = 1.3: −1.2450 > −1.4577, 3 throughout.
        Assert.Equal(new[] { 3, 3, 3, 3, 3, 3 }, Greedy(1.0, [7, 8], 6));
        Assert.Equal(new[] { 3, 3, 3, 3, 3, 3 }, Greedy(1.3, [7, 8], 6));
        Assert.Equal(new[] { 3, 4, 3, 3, 3, 3 }, Greedy(2.0, [7, 8], 6));
    }

    [Fact]
    public void The_prompt_is_not_penalised()
    {
        // Token 3 in the prompt does not count as generated: the first generated token is still 3.
        Assert.Equal(new[] { 3, 4, 3, 3 }, Greedy(2.0, [3, 3], 4));
    }

    [Fact]
    public void The_frequency_penalty_subtracts_alpha_per_earlier_occurrence()
    {
        // Log-probabilities as above: 3 → −0.9577, 4 → −1.4577, 9 → −2.8677, 8 → −2.8777.
        // α = 0.3: 3 loses 0.3 per earlier 3: −1.2577 (3), −1.5577 < −1.4577 (4), then 3 at −1.5577 vs 4 at −1.7577,
        // 3 at −1.8577 vs 4 at −1.7577 (4), 3 at −1.8577 vs 4 at −2.0577 (3).
        Assert.Equal(new[] { 3, 3, 4, 3, 4, 3 }, Greedy(1.0, [7, 8], 6, frequency: 0.3));
        // α = 1: 3, then 3 at −1.9577 < 4 (4), 3 at −1.9577 vs 4 at −2.4577 (3), 3 at −2.9577 vs 4 at −2.4577 (4),
        // 3 −2.9577, 4 −3.4577, 9 −2.8677 (9), then 9 at −3.8677 and 8 at −2.8777 (8).
        Assert.Equal(new[] { 3, 4, 3, 4, 9, 8 }, Greedy(1.0, [7, 8], 6, frequency: 1.0));
        // θ = 1.3 then α = 0.3: 3 at 1.3·(−0.9577) − 0.3c = −1.2450 − 0.3c, 4 once generated at −1.8950 − 0.3c:
        // 3; −1.5450 vs −1.4577 (4); −1.5450 vs −2.1950 (3); −1.8450 (3); −2.1450 vs −2.1950 (3); −2.4450 (4).
        Assert.Equal(new[] { 3, 4, 3, 3, 3, 4 }, Greedy(1.3, [7, 8], 6, frequency: 0.3));
        // The prompt's 3s are not counted.
        Assert.Equal(new[] { 3, 3, 4, 3 }, Greedy(1.0, [3, 3], 4, frequency: 0.3));
    }

    [Fact]
    public void A_penalty_below_one_is_refused()
    {
        Assert.Contains(new SamplerOptions { RepetitionPenalty = 0.9 }.Validate(), p => p.Contains("repetition penalty"));
        Assert.Contains(new SamplerOptions { RepetitionPenalty = double.NaN }.Validate(), p => p.Contains("repetition penalty"));
        Assert.Empty(new SamplerOptions { RepetitionPenalty = 1.2 }.Validate());
        Assert.Contains(new SamplerOptions { FrequencyPenalty = -0.1 }.Validate(), p => p.Contains("frequency penalty"));
        Assert.Contains(new SamplerOptions { FrequencyPenalty = double.PositiveInfinity }.Validate(), p => p.Contains("frequency penalty"));
        Assert.Empty(new SamplerOptions { FrequencyPenalty = 0.3 }.Validate());
    }
}
