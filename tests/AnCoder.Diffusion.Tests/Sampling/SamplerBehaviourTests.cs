using AnCoder.Diffusion.Sampling;
using TorchSharp;

namespace AnCoder.Diffusion.Tests.Sampling;

[Collection(TorchCollection.Name)]
public sealed class SamplerBehaviourTests
{
    private const int Mask = 1;

    /// <summary>Position-dependent logits over 10 tokens (hand-made: position i prefers token (i mod 8) + 2).</summary>
    private static double[,] PositionLogits(int positions, int vocab = 10)
    {
        var table = new double[positions, vocab];
        for (int i = 0; i < positions; i++)
            for (int v = 0; v < vocab; v++) table[i, v] = v == (i % 8) + 2 ? 2.0 : 0.1 * ((v * 7 + i * 3) % 5);
        return table;
    }

    private static Canvas Prompted(int[] prompt, int length, int seed) => Canvas.Completion(prompt, length, Mask, seed);

    [Fact]
    public void Frozen_prompt_positions_never_change_even_with_remasking()
    {
        var fake = new FakeDenoiser(PositionLogits(64));
        var observer = new RecordingObserver();
        var sampler = new DiffusionSampler(fake, new SamplerOptions { Steps = 40, Remask = new RemaskOptions(RemaskStrategy.Rescale, 1.0) });
        int[] prompt = [4, 5, 6, 7, 8, 0, 2];
        var canvases = new[] { Prompted(prompt, 40, 1), Prompted(prompt, 40, 2), new Canvas([Mask, 3, Mask, Mask, 9, Mask], [false, true, false, false, true, false], 3) };
        var results = sampler.Sample(canvases, observer);
        Assert.Contains(observer.Steps, s => s.Changes.SelectMany(c => c).Any(c => c.To == Mask)); // remasking happened
        for (int b = 0; b < canvases.Length; b++)
        {
            var frozen = Enumerable.Range(0, canvases[b].Length).Where(i => canvases[b].Frozen[i]).ToHashSet();
            Assert.All(observer.Steps, s => Assert.DoesNotContain(s.Changes[b], c => frozen.Contains(c.Position)));
            foreach (int i in frozen) Assert.Equal(canvases[b].Ids[i], results[b][i]);
        }
    }

    [Fact]
    public void Final_argmax_pass_fills_every_remaining_mask_with_the_most_likely_token()
    {
        var fake = new FakeDenoiser(PositionLogits(48));
        var observer = new RecordingObserver();
        // The grid stops at s = 0.6, so about a third of the positions are still masked after the last step.
        var sampler = new DiffusionSampler(fake, new SamplerOptions { Steps = 2, FinalTime = 0.6, Remask = RemaskOptions.None });
        var results = sampler.Sample([Prompted([3, 3], 46, 9), Prompted([], 48, 10)], observer);
        var final = observer.Steps[^1];
        Assert.Null(final.Times);
        Assert.NotEmpty(final.Changes.SelectMany(c => c));
        foreach (var ids in results) Assert.DoesNotContain(Mask, ids);
        for (int b = 0; b < 2; b++)
            foreach (var change in final.Changes[b])
                Assert.Equal((change.Position % 8) + 2, change.To); // the hand-made argmax
    }

    [Fact]
    public void Caching_gives_the_same_samples_with_fewer_network_calls()
    {
        var canvases = new[] { Prompted([2, 3], 14, 21), Prompted([5], 15, 22) };
        int[][] Run(bool caching, out int calls)
        {
            var fake = new FakeDenoiser(PositionLogits(16));
            var sampler = new DiffusionSampler(fake, new SamplerOptions { Steps = 64, Caching = caching, Remask = RemaskOptions.None });
            var result = sampler.Sample(canvases);
            calls = fake.Calls;
            Assert.Equal(calls, sampler.LastRun!.NetworkCalls);
            return result;
        }
        var cached = Run(true, out int cachedCalls);
        var uncached = Run(false, out int uncachedCalls);
        Assert.Equal(uncached, cached);
        // Without caching every step that still has a masked position runs the network; with it, at most one call
        // per step that changed something (≤ 29 masked positions) plus the first.
        Assert.True(uncachedCalls >= 30, $"uncached {uncachedCalls}");
        Assert.True(cachedCalls <= 30 && cachedCalls < uncachedCalls, $"cached {cachedCalls} vs {uncachedCalls}");
    }

    [Fact]
    public void Caching_keeps_the_probabilities_of_waiting_canvases_while_others_finish_and_are_remasked()
    {
        // Canvases with one or two free positions finish early and reopen when remasked, while others wait with an
        // unchanged mask: the cache must hand every canvas its own latest probabilities (the sampler keeps one store
        // and a row per canvas, reusing the network's output where it can). Uncached sampling is the reference.
        for (int seed = 0; seed < 24; seed++)
        {
            var canvases = new[]
            {
                new Canvas([Mask, 3, 4, 5, 6, 7], [false, true, true, true, true, true], 3 * seed),
                new Canvas([2, 3, 4, 5, 6, 7, 8, Mask], [true, true, true, true, true, true, true, false], 3 * seed + 1),
                new Canvas([Mask, 9, Mask, 9], [false, true, false, true], 3 * seed + 2),
                Prompted([2], 6, 1000 + seed),
            };
            int[][] Run(bool caching)
            {
                var sampler = new DiffusionSampler(new FakeDenoiser(PositionLogits(16), shiftPerAttended: 0.05),
                    new SamplerOptions { Steps = 32, Caching = caching, Remask = new RemaskOptions(RemaskStrategy.Rescale, 0.5) });
                return sampler.Sample(canvases);
            }
            Assert.Equal(Run(false), Run(true));
        }
    }

    [Fact]
    public void Same_seed_gives_the_same_sample_and_another_seed_a_different_one()
    {
        var fake = new FakeDenoiser(PositionLogits(64));
        var options = new SamplerOptions { Steps = 16, Temperature = 1.0 };
        var first = new DiffusionSampler(fake, options).Sample([Prompted([4], 63, 123)]);
        var second = new DiffusionSampler(fake, options).Sample([Prompted([4], 63, 123)]);
        var other = new DiffusionSampler(fake, options).Sample([Prompted([4], 63, 124)]);
        Assert.Equal(first, second);
        Assert.NotEqual(first[0], other[0]);
    }

    [Fact]
    public void A_batch_of_mixed_prompts_and_lengths_samples_each_canvas_as_if_alone()
    {
        // The fake's probabilities depend on how many keys a row attends: padding that leaked into attention shows.
        var fake = new FakeDenoiser(PositionLogits(40), shiftPerAttended: 0.05);
        var options = new SamplerOptions { Steps = 24, Remask = new RemaskOptions(RemaskStrategy.Cap, 0.1) };
        var canvases = new[]
        {
            Prompted([2, 3, 4], 20, 1),
            Prompted([9], 39, 2),
            new Canvas([5, Mask, Mask, 6, Mask, 7], [true, false, false, true, false, true], 3),
        };
        var batch = new DiffusionSampler(fake, options).Sample(canvases);
        // The batch's log-probabilities start at position 1 (the first not frozen in some canvas), canvas 0's alone at 3:
        // each canvas still samples as if alone.
        Assert.All(fake.Windows, from => Assert.Equal(1, from));
        for (int b = 0; b < canvases.Length; b++)
        {
            int calls = fake.Windows.Count;
            Assert.Equal(new DiffusionSampler(fake, options).Sample([canvases[b]])[0], batch[b]);
            Assert.All(fake.Windows.Skip(calls), from => Assert.Equal(b == 0 ? 3 : 1, from));
        }
    }

    [Fact]
    public void Confidence_order_unmasks_the_most_confident_positions_first()
    {
        // Positions 0..9 have peaked distributions, 10..39 nearly flat: the first unmasked positions must be peaked ones.
        var table = new double[40, 10];
        for (int i = 0; i < 40; i++) for (int v = 0; v < 10; v++) table[i, v] = i < 10 && v == 3 ? 8.0 : 0.01 * v;
        foreach (var order in new[] { UnmaskOrder.Confidence, UnmaskOrder.Margin, UnmaskOrder.Entropy })
        {
            var observer = new RecordingObserver();
            var sampler = new DiffusionSampler(new FakeDenoiser(table), new SamplerOptions { Steps = 8, Order = order, Remask = RemaskOptions.None });
            sampler.Sample([Prompted([], 40, 5)], observer);
            var firstStep = observer.Steps.First(s => s.Changes[0].Count > 0).Changes[0];
            Assert.InRange(firstStep.Count, 1, 10);
            Assert.All(firstStep, c => Assert.True(c.Position < 10, $"{order}: position {c.Position} before a confident one"));
        }
    }

    [Fact]
    public void Greedy_temperature_zero_takes_the_argmax()
    {
        var sampler = new DiffusionSampler(new FakeDenoiser(PositionLogits(20)), new SamplerOptions { Steps = 5, Temperature = 0 });
        var ids = sampler.Sample([Prompted([], 20, 1)])[0];
        Assert.Equal(Enumerable.Range(0, 20).Select(i => (i % 8) + 2), ids);
    }

    [Fact]
    public void Sampling_leaves_no_live_tensors_behind()
    {
        var fake = new FakeDenoiser(PositionLogits(32));
        var sampler = new DiffusionSampler(fake, new SamplerOptions { Steps = 12, Order = UnmaskOrder.Margin });
        sampler.Sample([Prompted([2], 20, 1)]);
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        sampler.Sample([Prompted([2], 30, 1), Prompted([3, 4], 12, 2)]);
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}
