using AnCoder.Anchoring.Tokenization;
using AnCoder.Diffusion.Sampling;
using AnCoder.Syntax;

namespace AnCoder.Diffusion.Tests.Recipe;

/// <summary>
/// The autoregressive sampler's repetition penalty and viable-prefix guard (docs/recipe.md §8): the penalty against
/// hand-computed logits and against a replay of the full causal forward, the guard against our parser's verdict on
/// every sample it produced.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class AutoregressiveDecodingOptionsTests
{
    [Fact]
    public void Repetition_penalty_divides_positive_logits_and_multiplies_negative_ones_once_per_token()
    {
        float[] logits = [2f, -1f, 0.5f, float.NegativeInfinity, 3f];
        RepetitionPenalty.Apply(logits, [0, 1, 0, 3, 7], 2.0); // 0 twice, 7 outside the vocabulary
        Assert.Equal([1f, -2f, 0.5f, float.NegativeInfinity, 3f], logits);
        float[] zero = [0f];
        RepetitionPenalty.Apply(zero, [0], 1.5);
        Assert.Equal(0f, zero[0]);
    }

    [Fact]
    public void Frequency_penalty_subtracts_alpha_once_per_occurrence()
    {
        float[] logits = [2f, -1f, 0.5f, float.NegativeInfinity, 3f];
        FrequencyPenalty.Apply(logits, [0, 1, 0, 3, 7, -1], 0.5); // 0 twice, 7 and −1 outside the vocabulary
        Assert.Equal([1f, -1.5f, 0.5f, float.NegativeInfinity, 3f], logits);
    }

    [Fact]
    public void Options_refuse_a_penalty_below_one_and_negative_guard_tries()
    {
        Assert.Single(new AutoregressiveOptions { FrequencyPenalty = -0.5 }.Validate());
        Assert.Single(new AutoregressiveOptions { FrequencyPenalty = double.NaN }.Validate());
        Assert.Single(new AutoregressiveOptions { RepetitionPenalty = 0.9 }.Validate());
        Assert.Single(new AutoregressiveOptions { RepetitionPenalty = double.NaN }.Validate());
        Assert.Single(new AutoregressiveOptions { GuardTries = -1 }.Validate());
        Assert.Empty(new AutoregressiveOptions { RepetitionPenalty = 1.3, Guard = DecodingGuard.Prefix }.Validate());
    }

    [Fact]
    public void Greedy_sampling_with_a_penalty_follows_the_penalised_argmax_of_the_full_forward()
    {
        using var model = ArFolderTests.TinyCausal();
        var sampler = new AutoregressiveSampler(model, DefaultTokenizer.Load());
        int[] prompt = [5, 9, 17];
        const double theta = 1.8;
        var plain = sampler.Sample(prompt, [1], new AutoregressiveOptions { Temperature = 0, MaxNewTokens = 10, IgnoreEndOfText = true });
        var penalised = sampler.Sample(prompt, [1], new AutoregressiveOptions { Temperature = 0, MaxNewTokens = 10, IgnoreEndOfText = true, RepetitionPenalty = theta });
        // Replay without a cache, the penalty written out by hand: ℓ/θ for a positive logit of a generated token, ℓ·θ otherwise.
        var replay = DecodingTests.GreedyReplay(model, prompt, 10, (row, generated) =>
        {
            foreach (int id in generated.Distinct()) row[id] = row[id] > 0 ? (float)(row[id] / theta) : (float)(row[id] * theta);
        });
        Assert.Equal(replay, penalised[0].Ids);
        Assert.NotEqual(plain[0].Ids, penalised[0].Ids); // the untrained model repeats tokens, so the penalty changes the path
    }

    /// <summary>
    /// The ids of <paramref name="text"/> one byte each, inside the tiny model's 64-id vocabulary (ids 3..63 of the
    /// default tokenizer are single bytes: control characters, space and <c>!</c> to <c>&lt;</c>, no letters).
    /// </summary>
    private static int[] ByteIds(ByteLevelBpe tokenizer, string text) =>
        text.Select(c => Enumerable.Range(3, 61).Single(id => tokenizer.TokenBytes(id).SequenceEqual(new[] { (byte)c }))).ToArray();

    [Fact]
    public void The_guard_keeps_every_sample_a_viable_prefix_and_ends_only_on_text_that_parses()
    {
        using var model = ArFolderTests.TinyCausal();
        var tokenizer = DefaultTokenizer.Load();
        var sampler = new AutoregressiveSampler(model, tokenizer);
        const string promptText = "(1 + (2 * ";
        var prompt = ByteIds(tokenizer, promptText);
        var seeds = Enumerable.Range(0, 24).ToList();
        var baseOptions = new AutoregressiveOptions { Temperature = 1.0, MaxNewTokens = 12 };

        // Without the guard the untrained model writes bytes that break the program in most samples.
        var plain = sampler.Sample(prompt, seeds, baseOptions);
        int broken = plain.Count(s => PythonParser.CheckPrefix(promptText + s.Completion).Status == PrefixStatus.NotViable);
        Assert.True(broken >= 6, $"only {broken} of 24 unguarded samples are broken: the test would not show the guard working");

        var guarded = sampler.Sample(prompt, seeds, baseOptions with { Guard = DecodingGuard.Prefix, GuardTries = 200 });
        var counts = sampler.LastRun!.GuardTotals;
        Assert.True(counts.Resamples > 0);
        Assert.True(counts.Checks >= guarded.Sum(s => s.Ids.Length));
        int guardedBroken = guarded.Count(s => PythonParser.CheckPrefix(promptText + s.Completion).Status == PrefixStatus.NotViable);
        Assert.True(guardedBroken < broken, $"guarded {guardedBroken} broken samples, unguarded {broken}");

        // With more tries than the vocabulary has ids, the guard keeps a token that breaks the text only where no id of
        // the vocabulary would have kept it viable (a dead end such as "2!", whose only way on, "=", lies outside the
        // tiny model's 64 ids); a failure is counted for each. Checked by trying every id at every generated token.
        string Text(IEnumerable<int> ids) => promptText + string.Concat(ids.Select(id => System.Text.Encoding.Latin1.GetString(tokenizer.TokenBytes(id))));
        var allowed = Enumerable.Range(0, 64).Where(id => id == model.Config.EosTokenId || (id != model.Config.MaskTokenId && id != model.Config.PadTokenId)).ToList();
        bool Acceptable(int[] before, int id) => id == model.Config.EosTokenId
            ? PythonParser.CheckPrefix(Text(before)).Status == PrefixStatus.Complete
            : PythonParser.CheckPrefix(Text(before.Append(id))).Status != PrefixStatus.NotViable;
        int deadEnds = 0;
        foreach (var sample in guarded)
        {
            for (int i = 0; i < sample.Ids.Length; i++)
            {
                var before = sample.Ids[..i];
                if (Acceptable(before, sample.Ids[i])) continue;
                Assert.DoesNotContain(allowed, id => Acceptable(before, id));
                deadEnds++;
            }
            if (sample.Ids.Length < 12) Assert.True(Acceptable(sample.Ids, model.Config.EosTokenId), "ended by end-of-text on text that does not parse");
        }
        Assert.Equal(counts.Failures, deadEnds);
    }

    [Fact]
    public void A_prompt_that_is_no_viable_prefix_is_not_guarded()
    {
        using var model = ArFolderTests.TinyCausal();
        var tokenizer = DefaultTokenizer.Load();
        var sampler = new AutoregressiveSampler(model, tokenizer);
        var prose = ByteIds(tokenizer, "1 2 3 "); // two numbers side by side: no continuation parses
        var options = new AutoregressiveOptions { Temperature = 1.0, MaxNewTokens = 8, IgnoreEndOfText = true };
        var plain = sampler.Sample(prose, [4, 5], options);
        var guarded = sampler.Sample(prose, [4, 5], options with { Guard = DecodingGuard.Prefix });
        Assert.Equal(0, sampler.LastRun!.GuardTotals.Checks);
        Assert.Equal(plain.Select(s => s.Ids), guarded.Select(s => s.Ids));
    }
}
