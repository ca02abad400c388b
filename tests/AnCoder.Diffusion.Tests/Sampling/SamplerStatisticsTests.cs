using AnCoder.Diffusion.Sampling;

namespace AnCoder.Diffusion.Tests.Sampling;

/// <summary>Statistical checks of the reverse step against docs/algorithms.md §7 with a denoiser of known probabilities.</summary>
[Collection(TorchCollection.Name)]
public sealed class SamplerStatisticsTests
{
    private static readonly double[] RowLogits = [0.5, 0, 1.5, -0.5, 0.0, 1.0, -1.0, 2.0];

    private static Canvas[] AllMasked(int count, int length, int seed) =>
        Enumerable.Range(0, count).Select(j => Canvas.Completion([], length, 1, SampleSeeds.Derive(seed, j))).ToArray();

    private static double Alpha(double t) => 1e-3 + (1 - 1e-3) * Math.Pow(Math.Cos(Math.PI * t / 2), 2); // cosine2, hand-written

    /// <summary>|x − nq| within 4.5 binomial standard deviations (+1 for discreteness): a false alarm is ~1e-5 per check.</summary>
    private static void AssertBinomial(int successes, int trials, double probability, string what)
    {
        double mean = trials * probability, sd = Math.Sqrt(trials * probability * (1 - probability));
        Assert.True(Math.Abs(successes - mean) <= 4.5 * sd + 1, $"{what}: {successes} of {trials}, expected {mean:F1} ± {sd:F1}");
    }

    [Fact]
    public void MDLM_step_unmasks_each_masked_position_with_probability_alpha_s_minus_alpha_t_over_one_minus_alpha_t()
    {
        const int steps = 8;
        var fake = FakeDenoiser.Uniformly(RowLogits, 200);
        var observer = new RecordingObserver();
        var sampler = new DiffusionSampler(fake, new SamplerOptions { Steps = steps, Remask = RemaskOptions.None });
        sampler.Sample(AllMasked(40, 200, seed: 7), observer);

        int masked = 40 * 200;
        double dt = (1 - 1e-5) / steps;
        for (int k = 0; k < steps; k++)
        {
            double t = 1 - k * dt, s = t - dt;
            double expected = (Alpha(s) - Alpha(t)) / (1 - Alpha(t));
            int unmasked = observer.Steps[k].Changes.Sum(c => c.Count);
            Assert.All(observer.Steps[k].Changes.SelectMany(c => c), change => Assert.Equal(1, change.From));
            AssertBinomial(unmasked, masked, expected, $"step {k}");
            masked -= unmasked;
        }
    }

    [Fact]
    public void ReMDM_cap_remasks_decoded_tokens_with_sigma_and_unmasks_with_the_ReMDM_probability()
    {
        const int steps = 10;
        const double eta = 0.1;
        var fake = FakeDenoiser.Uniformly(RowLogits, 150);
        var observer = new RecordingObserver();
        var sampler = new DiffusionSampler(fake, new SamplerOptions { Steps = steps, Remask = new RemaskOptions(RemaskStrategy.Cap, eta) });
        var canvases = AllMasked(16, 150, seed: 11);
        sampler.Sample(canvases, observer);

        int total = 16 * 150, masked = total;
        double dt = (1 - 1e-5) / steps;
        bool sawRemask = false;
        for (int k = 0; k < steps; k++)
        {
            double t = 1 - k * dt, s = t - dt, alphaT = Alpha(t), alphaS = Alpha(s);
            double sigma = Math.Min(eta, Math.Min(1, (1 - alphaS) / alphaT)); // hand-written cap rule
            var changes = observer.Steps[k].Changes.SelectMany(c => c).ToList();
            int remasked = changes.Count(c => c.To == 1), unmasked = changes.Count(c => c.From == 1);
            AssertBinomial(remasked, total - masked, sigma, $"step {k} remasks");
            AssertBinomial(unmasked, masked, (alphaS - (1 - sigma) * alphaT) / (1 - alphaT), $"step {k} unmasks");
            sawRemask |= remasked > 0;
            masked += remasked - unmasked;
        }
        Assert.True(sawRemask);
    }

    [Fact]
    public void Drawn_tokens_follow_the_tempered_distribution()
    {
        const double temperature = 0.8;
        var fake = FakeDenoiser.Uniformly(RowLogits, 250);
        var sampler = new DiffusionSampler(fake, new SamplerOptions { Steps = 16, Remask = RemaskOptions.None, Temperature = temperature });
        var results = sampler.Sample(AllMasked(16, 250, seed: 3));
        var counts = new int[RowLogits.Length];
        foreach (var ids in results) foreach (int id in ids) counts[id]++;
        var p = fake.Probabilities(0, temperature: temperature);
        int n = counts.Sum();
        Assert.Equal(0, counts[1]);
        double chiSquare = 0;
        for (int v = 0; v < p.Length; v++) if (v != 1) chiSquare += Math.Pow(counts[v] - n * p[v], 2) / (n * p[v]);
        // 6 degrees of freedom: P(χ² > 30) ≈ 4e-5.
        Assert.True(chiSquare < 30, $"χ² = {chiSquare:F1}, counts {string.Join(",", counts)}");
    }

    [Fact]
    public void Top_p_draws_only_from_the_nucleus_in_proportion()
    {
        var fake = FakeDenoiser.Uniformly(RowLogits, 200);
        var sampler = new DiffusionSampler(fake, new SamplerOptions { Steps = 8, Remask = RemaskOptions.None, Temperature = 1, TopP = 0.6 });
        var results = sampler.Sample(AllMasked(10, 200, seed: 5));
        var p = fake.Probabilities(0);
        // Hand-computed nucleus: sorted p = token 7 (0.41), 2 (0.25), 5 (0.15) ... reaching 0.6 needs {7, 2}.
        var order = Enumerable.Range(0, p.Length).OrderByDescending(v => p[v]).ToList();
        Assert.Equal([7, 2], order.Take(2));
        Assert.True(p[7] + p[2] >= 0.6 && p[7] < 0.6);
        var counts = new int[p.Length];
        foreach (var ids in results) foreach (int id in ids) counts[id]++;
        Assert.Equal(counts.Sum(), counts[7] + counts[2]);
        AssertBinomial(counts[7], counts.Sum(), p[7] / (p[7] + p[2]), "token 7 within the nucleus");
    }

    [Fact]
    public void Categorical_draw_in_float64_resolves_tiny_probabilities()
    {
        // Two tokens, p = 1e-9 and 1 − 1e-9: a uniform below 1e-9 must pick the first; float32 cannot hold 1 − 1e-9.
        var random = new System.Random(1);
        var probabilities = new[] { 1e-9, 1 - 1e-9 };
        int firsts = 0;
        for (int i = 0; i < 10000; i++) firsts += Categorical.Draw(probabilities, 1, random).Token == 0 ? 1 : 0;
        Assert.True(firsts <= 1);
        Assert.Equal((0, 1.0), Categorical.Draw(new[] { 1.0, 0.0 }, 1, random));
    }
}
