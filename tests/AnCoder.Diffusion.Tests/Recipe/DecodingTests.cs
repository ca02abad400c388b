using AnCoder.Anchoring.Tokenization;
using AnCoder.Diffusion.Model;
using AnCoder.Diffusion.Sampling;
using static TorchSharp.torch;

namespace AnCoder.Diffusion.Tests.Recipe;

/// <summary>KV-cached decoding (docs/recipe.md §2) against the full causal forward, and the token choice rules.</summary>
[Collection(TorchCollection.Name)]
public sealed class DecodingTests
{
    private static void AssertClose(Tensor expected, Tensor actual, double tolerance)
    {
        Assert.Equal(expected.shape, actual.shape);
        double worst = (expected - actual).abs().max().item<float>();
        Assert.True(worst <= tolerance, $"max |difference| {worst} exceeds {tolerance}");
    }

    [Fact]
    public void Cached_steps_give_the_full_forwards_logits_at_every_position()
    {
        using var model = ArFolderTests.TinyCausal();
        using var scope = NewDisposeScope();
        var ids = ArFolderTests.Ids(); // [2, 8]
        var full = model.Forward(ids).DenoiserLogits;
        using var session = model.StartDecoding(2, 8);
        AssertClose(full[.., 2], session.Step(ids[.., ..3]), 1e-5); // prefill of 3 tokens
        for (int i = 3; i < 8; i++) AssertClose(full[.., i], session.Step(ids[.., i..(i + 1)]), 1e-5);
        Assert.Equal(8, session.Length);
        Assert.Throws<InvalidOperationException>(() => session.Step(ids[.., ..1]));
    }

    [Fact]
    public void Dropping_finished_rows_keeps_the_others_cache()
    {
        using var model = ArFolderTests.TinyCausal();
        using var scope = NewDisposeScope();
        var ids = ArFolderTests.Ids();
        var full = model.Forward(ids).DenoiserLogits;
        using var session = model.StartDecoding(2, 8);
        session.Step(ids[.., ..4]);
        session.KeepRows(tensor(new long[] { 1 }));
        AssertClose(full[1..2, 4], session.Step(ids[1..2, 4..5]), 1e-5);
    }

    /// <summary>
    /// Greedy decoding without a cache: each next token is the argmax (mask and pad excluded) of the full causal forward on
    /// the whole prefix, after <paramref name="adjust"/> (given the row of logits and the tokens generated so far).
    /// </summary>
    internal static List<int> GreedyReplay(CausalLmModel model, int[] prompt, int tokens, Action<float[], IReadOnlyList<int>>? adjust = null)
    {
        var sequence = prompt.ToList();
        using var scope = NewDisposeScope();
        for (int k = 0; k < tokens; k++)
        {
            var logits = model.Forward(tensor(sequence.Select(i => (long)i).ToArray(), [1, sequence.Count])).DenoiserLogits[0, -1];
            logits[model.Config.MaskTokenId] = float.NegativeInfinity;
            logits[model.Config.PadTokenId] = float.NegativeInfinity;
            var row = logits.data<float>().ToArray();
            adjust?.Invoke(row, sequence.Skip(prompt.Length).ToList());
            sequence.Add(TokenChoice.ArgMax(row));
        }
        return sequence.Skip(prompt.Length).ToList();
    }

    [Fact]
    public void Greedy_sampling_follows_the_argmax_of_the_full_forward_and_stops_at_stop_sequences()
    {
        using var model = ArFolderTests.TinyCausal();
        var tokenizer = DefaultTokenizer.Load(); // ids 3..66 are single bytes; the model's vocabulary is 64
        var sampler = new AutoregressiveSampler(model, tokenizer);
        int[] prompt = [5, 9, 17];
        var samples = sampler.Sample(prompt, [1, 2], new AutoregressiveOptions { Temperature = 0, MaxNewTokens = 6, IgnoreEndOfText = true });
        Assert.Equal(samples[0].Ids, samples[1].Ids); // greedy: the seed does not matter
        // Replay: each greedy token is the argmax (mask and pad excluded) of the full causal forward on the prefix.
        Assert.Equal(GreedyReplay(model, prompt, 6), samples[0].Ids);

        // A stop sequence made of the text of the second generated token: the completion is cut before it.
        string second = System.Text.Encoding.UTF8.GetString(tokenizer.TokenBytes(samples[0].Ids[1]));
        string first = System.Text.Encoding.UTF8.GetString(tokenizer.TokenBytes(samples[0].Ids[0]));
        if (!first.Contains(second, StringComparison.Ordinal))
        {
            var stopped = sampler.Sample(prompt, [1], new AutoregressiveOptions { Temperature = 0, MaxNewTokens = 6, IgnoreEndOfText = true, StopSequences = [second] });
            Assert.True(stopped[0].Stopped);
            Assert.Equal(first, stopped[0].Completion);
        }
    }

    [Fact]
    public void A_sample_that_ends_with_end_of_text_is_stopped_and_one_that_runs_to_the_cap_is_not()
    {
        // Evaluation cuts a sample that hit the length cap at its last complete line (non-trivial validity), so
        // "stopped" must be true for end-of-text as well as for a stop sequence.
        using var model = ArFolderTests.TinyCausal();
        var sampler = new AutoregressiveSampler(model, DefaultTokenizer.Load());
        var samples = sampler.Sample([5, 9], Enumerable.Range(0, 40).ToList(), new AutoregressiveOptions { Temperature = 1.0, MaxNewTokens = 24 });
        Assert.Contains(samples, s => s.Ids.Length < 24); // with 64 ids at τ = 1 some of the 40 rows draw end-of-text
        Assert.Contains(samples, s => s.Ids.Length == 24);
        foreach (var sample in samples) Assert.Equal(sample.Ids.Length < 24, sample.Stopped);
        // Rows the network carried: the prefill's one, then each sample once per drawn token except its last draw
        // (end-of-text, or the 24th token at the cap), which is never fed back.
        long draws(AutoregressiveSample s) => s.Ids.Length < 24 ? s.Ids.Length + 1 : 24;
        Assert.Equal(1 + samples.Sum(s => draws(s) - 1), sampler.LastRun!.NetworkRows);
        Assert.Equal(1 + samples.Max(s => draws(s)) - 1, sampler.LastRun.NetworkCalls);
    }

    [Fact]
    public void Samples_do_not_depend_on_the_batch_they_ran_in()
    {
        using var model = ArFolderTests.TinyCausal();
        var sampler = new AutoregressiveSampler(model, DefaultTokenizer.Load());
        var options = new AutoregressiveOptions { Temperature = 1.0, TopP = 0.9, MaxNewTokens = 8, IgnoreEndOfText = true };
        var together = sampler.Sample([5, 9], [10, 11, 12], options);
        var alone = sampler.Sample([5, 9], [11], options);
        Assert.Equal(together[1].Ids, alone[0].Ids);
        Assert.NotEqual(together[0].Ids, together[2].Ids);
    }

    [Fact]
    public void Top_p_keeps_the_smallest_nucleus_reaching_p_and_renormalises()
    {
        // softmax of ln(0.5), ln(0.3), ln(0.15), ln(0.05) = 0.5, 0.3, 0.15, 0.05
        float[] logits = [MathF.Log(0.3f), MathF.Log(0.5f), MathF.Log(0.05f), MathF.Log(0.15f)];
        var p = TokenChoice.Probabilities(logits, 1.0, 0.75);
        // 0.5 alone < 0.75; 0.5 + 0.3 reaches it: the nucleus is {1, 0}.
        Assert.Equal(0.3 / 0.8, p[0], 6);
        Assert.Equal(0.5 / 0.8, p[1], 6);
        Assert.Equal(0.0, p[2]);
        Assert.Equal(0.0, p[3]);
        var all = TokenChoice.Probabilities(logits, 1.0, 1.0);
        Assert.Equal(0.15, all[3], 6);
        var cold = TokenChoice.Probabilities(logits, 0.5, 1.0); // τ = 0.5 squares and renormalises
        Assert.Equal(0.25 / (0.25 + 0.09 + 0.0025 + 0.0225), cold[1], 6);
        Assert.Equal(1, TokenChoice.Choose(logits, 0, 1, new Random(0)));
        var random = new Random(7);
        var counts = new int[4];
        for (int k = 0; k < 4000; k++) counts[TokenChoice.Choose(logits, 1.0, 0.75, random)]++;
        Assert.Equal(0, counts[2] + counts[3]);
        Assert.InRange(counts[1] / 4000.0, 0.58, 0.67); // 0.625
    }
}
