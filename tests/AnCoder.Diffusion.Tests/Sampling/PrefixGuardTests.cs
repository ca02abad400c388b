using System.Text;
using AnCoder.Anchoring.Tokenization;
using AnCoder.Diffusion.Sampling;
using AnCoder.Syntax;

namespace AnCoder.Diffusion.Tests.Sampling;

/// <summary>The viable-prefix guard (issue 17 item 2) on hand-made logits: the judge on real text, redraws, the try budget.</summary>
[Collection(TorchCollection.Name)]
public sealed class PrefixGuardTests
{
    private const string Prompt = "def f(x):\n    return x";
    private static readonly ByteLevelBpe Tokenizer = DefaultTokenizer.Load();
    private static int Id(string text) => Tokenizer.EncodeToIds(Encoding.UTF8.GetBytes(text)) is [var id] ? id : throw new ArgumentException($"'{text}' is not one token");
    private static int Eos => Tokenizer.EndOfTextId;

    /// <summary>The prompt's tokens then <paramref name="generated"/> masks, and a denoiser with the given logits at every generated position.</summary>
    private static (Canvas Canvas, FakeDenoiser Denoiser) Setup(int generated, params (string Token, double Logit)[] logits)
    {
        var prompt = Tokenizer.EncodeToIds(Encoding.UTF8.GetBytes(Prompt));
        int length = prompt.Length + generated;
        var table = new double[length, Tokenizer.VocabSize];
        for (int i = 0; i < length; i++)
            foreach (var (token, logit) in logits) table[i, token == "<eos>" ? Eos : Id(token)] = logit;
        // Every other token: logit 0, far below the listed ones (≈ e^-20 each, 150k of them: negligible mass).
        for (int i = 0; i < length; i++) for (int v = 0; v < Tokenizer.VocabSize; v++) if (table[i, v] == 0) table[i, v] = -20;
        return (Canvas.Completion(prompt, generated, Tokenizer.MaskId, 5), new FakeDenoiser(table, Tokenizer.MaskId));
    }

    private static SamplerOptions Options(DecodingGuard guard, double temperature = 0) =>
        new() { Steps = 4, Remask = RemaskOptions.None, Temperature = temperature, Guard = guard };

    private static string Completion(int[] ids, Canvas canvas) =>
        SampleTexts.Extract(ids, canvas.Frozen, Tokenizer, Eos, Tokenizer.PadId).Completion;

    private ViablePrefixJudge Judge => new(Tokenizer, Eos, Tokenizer.PadId);

    [Fact]
    public void The_judge_rejects_a_prefix_no_continuation_can_fix_and_an_ended_text_that_does_not_parse()
    {
        int[] Ids(string text) => Tokenizer.EncodeToIds(Encoding.UTF8.GetBytes(text));
        bool Viable(string text, bool eos = false)
        {
            var ids = eos ? [.. Ids(text), Eos] : Ids(text);
            var frozen = ids.Select(_ => false).ToArray();
            return Judge.Viable(ids, frozen, ids.Length);
        }
        Assert.True(Viable(Prompt));
        Assert.True(Viable(Prompt + " + (1"));           // unfinished, but some continuation parses
        Assert.False(Viable(Prompt + ")"));              // ')' never opened: no continuation helps
        Assert.True(Viable(Prompt + "\n", eos: true));   // ends, and parses
        Assert.False(Viable(Prompt + " + (1", eos: true)); // ends while a bracket is open
        // Cut at a stop sequence, the text ends there: the part before it must parse (here an open string does not).
        var judge = new ViablePrefixJudge(Tokenizer, Eos, Tokenizer.PadId, ["\ndef "]);
        var cut = Ids(Prompt + " + \"\"\"doc\ndef g");
        Assert.False(judge.Viable(cut, cut.Select(_ => false).ToArray(), cut.Length));
        Assert.True(Judge.Viable(cut, cut.Select(_ => false).ToArray(), cut.Length));
    }

    [Fact]
    public void A_token_that_breaks_the_prefix_is_replaced_by_the_next_viable_one()
    {
        // One generated position: ')' is the argmax but "return x)" can never parse; '\n' is next.
        var (canvas, fake) = Setup(1, (")", 5), ("\n", 4), (" +", 3));
        var plain = new DiffusionSampler(fake, Options(DecodingGuard.None)).Sample([canvas])[0];
        Assert.Equal(")", Completion(plain, canvas));
        Assert.Equal(PrefixStatus.NotViable, PythonParser.CheckPrefix(Prompt + ")").Status);

        var observer = new RecordingObserver();
        var sampler = new DiffusionSampler(fake, Options(DecodingGuard.Prefix));
        var guarded = sampler.Sample([canvas], observer, guard: Judge)[0];
        Assert.Equal("\n", Completion(guarded, canvas));
        Assert.Equal(new GuardCounts(Checks: 2, Resamples: 1, Failures: 0), sampler.LastRun!.GuardTotals);
        // The trace records the token that stayed.
        Assert.Equal(Id("\n"), observer.Steps.SelectMany(s => s.Changes[0]).Single().To);
        // Without a judge (or with the guard off) nothing is checked.
        var off = new DiffusionSampler(fake, Options(DecodingGuard.None));
        off.Sample([canvas], guard: Judge);
        Assert.Null(off.LastRun!.Guard);
    }

    [Fact]
    public void Sampling_redraws_from_the_rest_of_the_distribution()
    {
        // τ = 1: ')' holds almost all the mass; every redraw comes from ' +' and '\n' (both viable).
        var (canvas, fake) = Setup(1, (")", 9), ("\n", 3), (" +", 3));
        var canvases = Enumerable.Range(0, 12).Select(s => canvas with { Seed = s }).ToList();
        var sampler = new DiffusionSampler(fake, Options(DecodingGuard.Prefix, temperature: 1));
        var ids = sampler.Sample(canvases, guard: Judge);
        var completions = ids.Select((row, b) => Completion(row, canvases[b])).ToList();
        Assert.All(completions, c => Assert.Contains(c, new[] { "\n", " +" }));
        Assert.Equal(0, sampler.LastRun!.GuardTotals.Failures);
        Assert.Equal(12, sampler.LastRun.Guard!.Count);
        // Without the guard the same seeds draw ')' nearly always.
        var plain = new DiffusionSampler(fake, Options(DecodingGuard.None, temperature: 1)).Sample(canvases);
        Assert.True(plain.Select((row, b) => Completion(row, canvases[b])).Count(c => c == ")") >= 10);
    }

    [Fact]
    public void When_the_tries_run_out_the_most_likely_proposal_stays_and_a_failure_is_counted()
    {
        // Every likely token closes a bracket that was never opened; two redraws allowed.
        var (canvas, fake) = Setup(1, (")", 5), ("]", 4), ("}", 3.5), ("\n", 1));
        var sampler = new DiffusionSampler(fake, Options(DecodingGuard.Prefix) with { GuardTries = 2 });
        var ids = sampler.Sample([canvas], guard: Judge)[0];
        Assert.Equal(")", Completion(ids, canvas));
        Assert.Equal(new GuardCounts(Checks: 3, Resamples: 2, Failures: 1), sampler.LastRun!.GuardTotals);
        // With a third redraw '\n' is reached.
        var wider = new DiffusionSampler(fake, Options(DecodingGuard.Prefix) with { GuardTries = 3 });
        Assert.Equal("\n", Completion(wider.Sample([canvas], guard: Judge)[0], canvas));
        Assert.Contains(new SamplerOptions { GuardTries = -1 }.Validate(), p => p.Contains("guard tries"));
    }

    [Fact]
    public void An_end_of_text_that_would_end_an_unfinished_program_is_redrawn()
    {
        var (canvas, fake) = Setup(1, ("<eos>", 5), ("\n", 4));
        var prompt = Tokenizer.EncodeToIds(Encoding.UTF8.GetBytes("def f(x):\n    return (x"));
        var open = Canvas.Completion(prompt, 1, Tokenizer.MaskId, 5);
        var ids = new DiffusionSampler(fake, Options(DecodingGuard.Prefix)).Sample([open, canvas], guard: Judge);
        Assert.Equal(Id("\n"), ids[0][^1]);   // "return (x" cannot end here
        Assert.Equal(Eos, ids[1][^1]);       // "return x" can
    }

    [Fact]
    public void A_prompt_that_is_no_program_prefix_is_not_guarded()
    {
        var (_, fake) = Setup(1, (")", 5), ("\n", 4));
        var prose = Tokenizer.EncodeToIds(Encoding.UTF8.GetBytes("Write a function that returns x"));
        var canvas = Canvas.Completion(prose, 1, Tokenizer.MaskId, 5);
        Assert.Equal(PrefixStatus.NotViable, PythonParser.CheckPrefix("Write a function that returns x").Status);
        var sampler = new DiffusionSampler(fake, Options(DecodingGuard.Prefix));
        var ids = sampler.Sample([canvas], guard: Judge)[0];
        Assert.Equal(Id(")"), ids[^1]);                       // the argmax stays: nothing to protect
        Assert.Equal(default(GuardCounts), sampler.LastRun!.GuardTotals);
    }

    /// <summary>Accepts a prefix unless it holds token 4; records every prefix it saw.</summary>
    private sealed class NoFours : IPrefixJudge
    {
        public List<int[]> Seen { get; } = [];
        public bool Viable(int[] ids, bool[] frozen, int end)
        {
            Seen.Add(ids[..end]);
            return !ids[..end].Contains(4);
        }
    }

    [Fact]
    public void Only_reveals_that_extend_the_decided_prefix_are_judged_and_network_calls_do_not_change()
    {
        // Token 4 is every position's argmax, token 5 the runner-up; the judge forbids 4.
        var table = new double[8, 10];
        for (int i = 0; i < 8; i++) for (int v = 0; v < 10; v++) table[i, v] = v == 4 ? 3 : v == 5 ? 2 : 0;
        var options = new SamplerOptions { Steps = 6, Remask = RemaskOptions.None, Temperature = 0, Guard = DecodingGuard.Prefix };
        foreach (var order in new[] { UnmaskOrder.Confidence, UnmaskOrder.Random })
        {
            var judge = new NoFours();
            var guarded = new FakeDenoiser(table);
            var plain = new FakeDenoiser(table);
            var sampler = new DiffusionSampler(guarded, options with { Order = order });
            var ids = sampler.Sample([Canvas.Completion([], 8, 1, 3)], guard: judge)[0];
            new DiffusionSampler(plain, options with { Order = order, Guard = DecodingGuard.None }).Sample([Canvas.Completion([], 8, 1, 3)]);
            Assert.Equal(plain.Calls, guarded.Calls);
            Assert.Equal(plain.Rows, guarded.Rows);
            Assert.All(judge.Seen, prefix => Assert.DoesNotContain(1, prefix));   // never judged across a mask
            var counts = sampler.LastRun!.GuardTotals;
            Assert.Equal(judge.Seen.Count, counts.Checks);
            if (order == UnmaskOrder.Confidence)
            {
                // Ties go to the leftmost position: every reveal extends the prefix, each 4 becomes a 5.
                Assert.Equal(Enumerable.Repeat(5, 8), ids);
                Assert.Equal(new GuardCounts(16, 8, 0), counts);
            }
            else
            {
                // Random order reveals some positions past a mask; those are judged (and cannot be redrawn) only
                // when the gap before them closes, so some 4s survive as failures.
                Assert.Contains(4, ids);
                Assert.True(counts.Failures > 0);
            }
        }
    }

    [Fact]
    public void Parallel_steps_are_guarded_too()
    {
        // Every position is confident (p(4) ≈ 0.7 > τ): one parallel step reveals all eight, and each, judged left to
        // right on the prefix it completes, becomes the runner-up 5.
        var table = new double[8, 10];
        for (int i = 0; i < 8; i++) for (int v = 0; v < 10; v++) table[i, v] = v == 4 ? 4 : v == 5 ? 3 : 0;
        var judge = new NoFours();
        var sampler = new DiffusionSampler(new FakeDenoiser(table), new SamplerOptions
        {
            ParallelThreshold = 0.5, Remask = RemaskOptions.None, Temperature = 0, Guard = DecodingGuard.Prefix, Order = UnmaskOrder.Anchor,
            AnchorTokens = Enumerable.Range(0, 10).Select(v => v == 4).ToArray(),
        });
        var ids = sampler.Sample([Canvas.Completion([], 8, 1, 3)], guard: judge)[0];
        Assert.Equal(Enumerable.Repeat(5, 8), ids);
        Assert.Equal(1, sampler.LastRun!.Steps);
        Assert.Equal(new GuardCounts(16, 8, 0), sampler.LastRun.GuardTotals);
        Assert.Equal(Enumerable.Range(1, 8).SelectMany(end => new[] { end, end }), judge.Seen.Select(p => p.Length));
    }

    [Fact]
    public void A_canvas_gets_the_same_tokens_alone_or_in_a_batch()
    {
        var (canvas, fake) = Setup(3, (")", 6), ("\n", 4), (" +", 4), ("1", 3));
        var options = Options(DecodingGuard.Prefix, temperature: 1);
        var alone = new DiffusionSampler(fake, options).Sample([canvas with { Seed = 7 }], guard: Judge)[0];
        var batch = new DiffusionSampler(fake, options).Sample([canvas with { Seed = 3 }, canvas with { Seed = 7 }], guard: Judge)[1];
        Assert.Equal(alone, batch);
        Assert.NotEqual(PrefixStatus.NotViable, PythonParser.CheckPrefix(Prompt + Completion(alone, canvas)).Status);
    }
}
