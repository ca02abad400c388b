using AnCoder.Anchoring.Tokenization;
using AnCoder.Diffusion.Sampling;

namespace AnCoder.Diffusion.Tests.Sampling;

/// <summary>Anchor-first unmasking and confidence-parallel steps on hand-made logits (issue 17 items 3 and 4).</summary>
[Collection(TorchCollection.Name)]
public sealed class DecodingOrderTests
{
    private const int Mask = 1;
    private const int Vocab = 10;

    /// <summary>Position i: a peaked distribution on <paramref name="token"/>(i) with logit <paramref name="peak"/>(i), else nearly flat.</summary>
    private static double[,] Table(int positions, Func<int, int> token, Func<int, double> peak)
    {
        var table = new double[positions, Vocab];
        for (int i = 0; i < positions; i++)
            for (int v = 0; v < Vocab; v++) table[i, v] = v == token(i) ? peak(i) : 0.01 * v;
        return table;
    }

    /// <summary>Tokens 5 and 6 are the anchors of these tests.</summary>
    private static readonly bool[] Anchors = Enumerable.Range(0, Vocab).Select(v => v is 5 or 6).ToArray();

    [Fact]
    public void Anchor_order_reveals_positions_predicting_an_anchor_before_more_confident_others()
    {
        // 0..9 predict token 2 (not an anchor) with p ≈ 0.99; 10..19 predict token 5 (an anchor) with p ≈ 0.45.
        var table = Table(20, i => i < 10 ? 2 : 5, i => i < 10 ? 7.0 : 2.0);
        var fake = new FakeDenoiser(table);
        Assert.InRange(fake.Probabilities(15)[5], 0.4, 0.5);
        var observer = new RecordingObserver();
        var options = new SamplerOptions { Steps = 16, Order = UnmaskOrder.Anchor, AnchorTokens = Anchors, Remask = RemaskOptions.None, Temperature = 0 };
        var ids = new DiffusionSampler(fake, options).Sample([Canvas.Completion([], 20, Mask, 3)], observer)[0];
        var first = observer.Steps.First(s => s.Changes[0].Count > 0).Changes[0];
        Assert.InRange(first.Count, 1, 10);
        Assert.All(first, c => Assert.True(c.Position >= 10, $"position {c.Position} (not an anchor) before the anchors"));
        Assert.Equal(Enumerable.Range(0, 20).Select(i => i < 10 ? 2 : 5), ids);

        // Among anchors the most confident come first; the same logits in confidence order start with the others.
        var ranked = Table(20, i => i < 10 ? 2 : 5, i => i < 10 ? 7.0 : i < 15 ? 3.0 : 2.0);
        observer = new RecordingObserver();
        new DiffusionSampler(new FakeDenoiser(ranked), options).Sample([Canvas.Completion([], 20, Mask, 3)], observer);
        first = observer.Steps.First(s => s.Changes[0].Count > 0).Changes[0];
        Assert.InRange(first.Count, 1, 5);
        Assert.All(first, c => Assert.InRange(c.Position, 10, 14));
        observer = new RecordingObserver();
        new DiffusionSampler(new FakeDenoiser(ranked), options with { Order = UnmaskOrder.Confidence }).Sample([Canvas.Completion([], 20, Mask, 3)], observer);
        Assert.All(observer.Steps.First(s => s.Changes[0].Count > 0).Changes[0], c => Assert.True(c.Position < 10));
    }

    [Fact]
    public void Left_to_right_order_reveals_the_leftmost_masked_positions_whatever_the_confidence()
    {
        // Confidence rises to the right, so the confidence order would start at the right end.
        var table = Table(14, i => 2 + i % 3, i => 1.0 + i);
        var observer = new RecordingObserver();
        var options = new SamplerOptions { Steps = 12, Order = UnmaskOrder.LeftToRight, Remask = RemaskOptions.None, Temperature = 0 };
        var ids = new DiffusionSampler(new FakeDenoiser(table), options).Sample([Canvas.Completion([7, 8], 12, Mask, 3)], observer)[0];
        var revealed = observer.Steps.SelectMany(s => s.Changes[0]).Where(c => c.To != Mask).Select(c => c.Position).ToList();
        Assert.Equal(Enumerable.Range(2, 12), revealed);                            // one after another, prompt untouched
        Assert.True(observer.Steps.Count(s => s.Changes[0].Count > 0) >= 6);        // over many steps, not in one
        Assert.Equal(new[] { 7, 8 }.Concat(Enumerable.Range(2, 12).Select(i => 2 + i % 3)), ids);
    }

    [Fact]
    public void Anchor_order_needs_the_anchor_table()
    {
        var problems = new SamplerOptions { Order = UnmaskOrder.Anchor }.Validate();
        Assert.Contains(problems, p => p.Contains("anchor-token table"));
    }

    [Fact]
    public void Parallel_steps_reveal_every_position_above_the_threshold_then_one_at_a_time()
    {
        // Canvas 0: ten confident positions (p ≈ 0.997). Canvas 1: the same ten, then ten flat ones (p ≈ 0.1 < τ).
        var fake = new FakeDenoiser(Table(20, i => 3, i => i < 10 ? 8.0 : 0.0));
        Assert.True(fake.Probabilities(0)[3] > 0.99);
        var observer = new RecordingObserver();
        var sampler = new DiffusionSampler(fake, new SamplerOptions { ParallelThreshold = 0.9, Remask = RemaskOptions.None, Steps = 128 });
        var ids = sampler.Sample([Canvas.Completion([], 10, Mask, 1), Canvas.Completion([], 20, Mask, 2)], observer);

        var steps = observer.Steps.Where(s => s.Times is not null).ToList();
        Assert.Equal(11, steps.Count);                                              // 1 parallel step + 10 single reveals
        Assert.Equal(Enumerable.Range(0, 10), steps[0].Changes[0].Select(c => c.Position));
        Assert.Equal(Enumerable.Range(0, 10), steps[0].Changes[1].Select(c => c.Position));
        Assert.All(steps.Skip(1), s => Assert.Empty(s.Changes[0]));
        Assert.All(steps.Skip(1), s => Assert.Single(s.Changes[1]));
        // Ties among the flat positions go to the leftmost: 10, 11, ..., 19.
        Assert.Equal(Enumerable.Range(10, 10), steps.Skip(1).Select(s => s.Changes[1][0].Position));
        Assert.Empty(observer.Steps[^1].Changes.SelectMany(c => c));                // nothing left for the final pass
        foreach (var canvas in ids) Assert.DoesNotContain(Mask, canvas);

        // One network call per step; canvas 0 is done after the first, so it rides along only once.
        Assert.Equal(11, fake.Calls);
        Assert.Equal(12, fake.Rows);
        Assert.Equal((11, 11L, 12L), (sampler.LastRun!.Steps, sampler.LastRun.NetworkCalls, sampler.LastRun.NetworkRows));
        Assert.Equal(1.0, steps[0].Times!.Value.T);
        Assert.Equal(1 - 10 / 30.0, steps[0].Times!.Value.AlphaS, 12);   // 10 of the 30 masks left
    }

    [Fact]
    public void Parallel_calls_adapt_to_the_threshold()
    {
        // Confidence falls with the position: p ≈ 0.99 at 0, ≈ 0.1 at 31. A lower τ reveals more per step.
        var fake = new FakeDenoiser(Table(32, i => 4, i => 8.0 - 0.25 * i));
        int Calls(double tau)
        {
            var counting = new FakeDenoiser(Table(32, i => 4, i => 8.0 - 0.25 * i));
            new DiffusionSampler(counting, new SamplerOptions { ParallelThreshold = tau, Remask = RemaskOptions.None }).Sample([Canvas.Completion([], 32, Mask, 7)]);
            return counting.Calls;
        }
        int above(double tau) => Enumerable.Range(0, 32).Count(i => fake.Probabilities(i)[4] > tau);
        // The fake's probabilities do not depend on the context: one call reveals all above τ, then one per call.
        foreach (var tau in new[] { 0.95, 0.8, 0.5 })
            Assert.Equal(1 + 32 - above(tau), Calls(tau));
        Assert.Equal(1, Calls(0.0));
        Assert.Equal(32, Calls(1.0));                                               // nothing exceeds 1: one at a time
    }

    [Fact]
    public void Parallel_steps_left_to_right_reveal_the_leftmost_run_above_the_threshold_not_confident_positions_further_right()
    {
        // Confident (p ≈ 0.997) at 0-2 and 6-9, flat (p ≈ 0.1) at 3-5: the first call reveals 0-2 only (6-9 lie past
        // an unconfident position), then one flat position per call, and 6-9 together once 5 is decided.
        var fake = new FakeDenoiser(Table(10, i => 3, i => i is >= 3 and <= 5 ? 0.0 : 8.0));
        var observer = new RecordingObserver();
        new DiffusionSampler(fake, new SamplerOptions { ParallelThreshold = 0.9, Order = UnmaskOrder.LeftToRight, Remask = RemaskOptions.None })
            .Sample([Canvas.Completion([], 10, Mask, 1)], observer);
        var reveals = observer.Steps.Where(s => s.Times is not null).Select(s => s.Changes[0].Select(c => c.Position).ToArray()).ToList();
        Assert.Equal([[0, 1, 2], [3], [4], [5], [6, 7, 8, 9]], reveals);
        Assert.Equal(5, fake.Calls);
        // Any order but left to right takes every position above τ at once: 0-2 and 6-9 in the first call.
        var anywhere = new RecordingObserver();
        new DiffusionSampler(new FakeDenoiser(Table(10, i => 3, i => i is >= 3 and <= 5 ? 0.0 : 8.0)),
            new SamplerOptions { ParallelThreshold = 0.9, Order = UnmaskOrder.Confidence, Remask = RemaskOptions.None }).Sample([Canvas.Completion([], 10, Mask, 1)], anywhere);
        Assert.Equal([0, 1, 2, 6, 7, 8, 9], anywhere.Steps.First(s => s.Times is not null).Changes[0].Select(c => c.Position));
    }

    [Fact]
    public void The_leftmost_run_stops_at_the_first_position_at_or_below_the_threshold_and_is_one_position_when_the_first_is()
    {
        Assert.Equal([4, 7, 9], DiffusionSampler.LeftmostRun([4, 7, 9, 12, 13], [0.95, 0.91, 0.99, 0.9, 0.99], 0.9));
        Assert.Equal([4], DiffusionSampler.LeftmostRun([4, 7], [0.2, 0.99], 0.9));
        Assert.Equal([4], DiffusionSampler.LeftmostRun([4, 7, 9], [0.99, 0.99, 0.99], 1.0));   // τ = 1: one token per call
        Assert.Equal([4, 7, 9], DiffusionSampler.LeftmostRun([4, 7, 9], [0.01, 0.02, 0.03], 0.0));
    }

    [Fact]
    public void Parallel_fallback_follows_the_anchor_order()
    {
        // Nothing exceeds τ; the single reveal of each step goes first to the anchor predictions (positions 6..11).
        var fake = new FakeDenoiser(Table(12, i => i < 6 ? 2 : 6, i => i < 6 ? 1.5 : 1.0));
        var observer = new RecordingObserver();
        new DiffusionSampler(fake, new SamplerOptions { ParallelThreshold = 0.99, Order = UnmaskOrder.Anchor, AnchorTokens = Anchors, Remask = RemaskOptions.None })
            .Sample([Canvas.Completion([], 12, Mask, 1)], observer);
        var order = observer.Steps.Where(s => s.Times is not null).Select(s => Assert.Single(s.Changes[0]).Position).ToList();
        Assert.Equal(12, order.Count);
        Assert.All(order.Take(6), p => Assert.InRange(p, 6, 11));
    }

    [Fact]
    public void Parallel_decoding_refuses_remasking_and_a_threshold_outside_zero_to_one()
    {
        Assert.Contains(new SamplerOptions { ParallelThreshold = 0.9 }.Validate(), p => p.Contains("never remasks"));
        Assert.Contains(new SamplerOptions { ParallelThreshold = 1.5, Remask = RemaskOptions.None }.Validate(), p => p.Contains("[0, 1]"));
        Assert.Empty(new SamplerOptions { ParallelThreshold = 0.9, Remask = RemaskOptions.None }.Validate());
    }

    [Fact]
    public void The_anchor_table_marks_keywords_and_identifiers_not_punctuation_numbers_or_specials()
    {
        var tokenizer = AnCoder.Anchoring.Tokenization.DefaultTokenizer.Load();
        var table = AnchorTokenTable.Build(tokenizer);
        bool Anchor(string text)
        {
            var tokens = tokenizer.Encode(System.Text.Encoding.UTF8.GetBytes(text));
            Assert.Single(tokens);
            return table[tokens[0].Id];
        }
        Assert.True(Anchor(" def"));
        Assert.True(Anchor(" return"));
        Assert.True(Anchor(" numbers"));
        Assert.True(Anchor("_max"));
        Assert.False(Anchor("):\n"));
        Assert.False(Anchor(" ="));
        Assert.False(Anchor("0"));
        Assert.False(Anchor("    "));
        Assert.All(tokenizer.SpecialTokens.Values, id => Assert.False(table[id]));
    }
}

/// <summary>The sampler's token draw is Categorical.Draw's inverse CDF on the canvas's own stream.</summary>
[Collection(TorchCollection.Name)]
public sealed class TokenDrawTests
{
    [Fact]
    public void One_step_draws_the_tokens_categorical_draw_gives_on_the_same_stream()
    {
        const int positions = 24, vocab = 12, seed = 77;
        var table = new double[positions, vocab];
        for (int i = 0; i < positions; i++) for (int v = 0; v < vocab; v++) table[i, v] = Math.Sin(i * 1.3 + v * 0.7) * 2;
        var fake = new FakeDenoiser(table);
        const double temperature = 0.8;
        // T = 1 unmasks every position in the one step (probability 1): one uniform each for the branch, then one per token.
        var ids = new DiffusionSampler(fake, new SamplerOptions { Steps = 1, Temperature = temperature, Remask = RemaskOptions.None })
            .Sample([Canvas.Completion([], positions, 1, seed)])[0];
        var random = new System.Random(seed);
        for (int i = 0; i < positions; i++) random.NextDouble();
        var expected = Enumerable.Range(0, positions).Select(i => Categorical.Draw(fake.Probabilities(i, positions, temperature), 1.0, random).Token);
        Assert.Equal(expected, ids);
    }
}
