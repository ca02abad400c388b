using System.Text;
using AnCoder.Anchoring.Tokenization;
using AnCoder.Diffusion.Sampling;

namespace AnCoder.Diffusion.Tests.Sampling;

/// <summary>Syntax-repair remasking (issue 17 item 1): the region rule, the judge on real text, and the sampler's rounds.</summary>
[Collection(TorchCollection.Name)]
public sealed class SyntaxRepairTests
{
    private static readonly string[] Program =
    [
        "def f(a):",
        "    if a:",
        "        x = (",
        "        y = 2",
        "",
        "    return a",
    ];

    [Theory]
    [InlineData(3, 1, 3, 3)]   // round 1: the line the parser names
    [InlineData(3, 2, 2, 5)]   // round 2: the enclosing block (its header, its deeper lines, the blank line inside)
    [InlineData(3, 3, 1, 6)]   // round 3: one level further out
    [InlineData(3, 4, 1, 6)]   // at the top level it stops growing
    [InlineData(6, 2, 1, 6)]
    [InlineData(1, 2, 1, 1)]
    public void The_region_grows_from_the_line_to_enclosing_blocks(int errorLine, int round, int first, int last) =>
        Assert.Equal((first, last), SyntaxRepair.RegionLines(Program, errorLine, round));

    private static (Canvas Canvas, ByteLevelBpe Tokenizer, List<BpeToken> Tokens) Canvas(string prompt, string completion)
    {
        var tokenizer = DefaultTokenizer.Load();
        var promptTokens = tokenizer.Encode(Encoding.UTF8.GetBytes(prompt));
        var completionTokens = tokenizer.Encode(Encoding.UTF8.GetBytes(completion));
        var ids = promptTokens.Concat(completionTokens).Select(t => t.Id).ToArray();
        var frozen = ids.Select((_, i) => i < promptTokens.Count).ToArray();
        return (new Canvas(ids, frozen, 0), tokenizer, promptTokens.Concat(completionTokens).ToList());
    }

    [Fact]
    public void The_judge_remasks_the_generated_tokens_of_the_line_the_parser_names()
    {
        const string prompt = "def f(a):\n";
        const string completion = "    b = a + 1\n    return (b\n    c = 3\n";
        var (canvas, tokenizer, _) = Canvas(prompt, completion);
        var judge = new SyntaxRepair(tokenizer, 0, 2);
        var found = judge.Region(canvas.Ids, canvas.Frozen, 1)!;
        var region = found.Positions;
        // "'(' was never closed" names line 3 ("    return (b"): exactly the tokens of that line; the reason is CPython's verdict.
        Assert.Equal("SyntaxError at line 3: '(' was never closed", found.Reason);
        string Text(IEnumerable<int> positions) => string.Concat(positions.Select(i => tokenizer.TokenText(canvas.Ids[i])));
        Assert.Equal("    return (b\n", Text(region));
        Assert.All(region, i => Assert.False(canvas.Frozen[i]));
        var wider = judge.Region(canvas.Ids, canvas.Frozen, 2)!.Positions;
        Assert.Equal(completion, Text(wider));                                   // the def's block: every generated token

        var (good, goodTokenizer, _) = Canvas(prompt, "    return a\n");
        Assert.Null(new SyntaxRepair(goodTokenizer, 0, 2).Region(good.Ids, good.Frozen, 1));
        // Text after a stop sequence is not judged: the broken part is cut away, so nothing needs repair.
        var (cut, cutTokenizer, _) = Canvas(prompt, "    return a\ndef g(:\n");
        Assert.NotNull(new SyntaxRepair(cutTokenizer, 0, 2).Region(cut.Ids, cut.Frozen, 1));
        Assert.Null(new SyntaxRepair(cutTokenizer, 0, 2, ["\ndef "]).Region(cut.Ids, cut.Frozen, 1));
    }

    [Fact]
    public void An_error_in_the_prompt_remasks_the_nearest_generated_line()
    {
        // The prompt opens a bracket the completion never closes: "'(' was never closed" names line 1, the prompt's.
        var (canvas, tokenizer, _) = Canvas("x = foo(\n", "    1, 2\ny = 3\n");
        var region = new SyntaxRepair(tokenizer, 0, 2).Region(canvas.Ids, canvas.Frozen, 1)!;
        Assert.Equal("    1, 2\n", string.Concat(region.Positions.Select(i => tokenizer.TokenText(canvas.Ids[i]))));
        Assert.Equal("SyntaxError at line 1: '(' was never closed", region.Reason);
    }

    /// <summary>Breaks canvas 0 once: positions 2 and 3 in round 1; every other canvas and round is fine.</summary>
    private sealed class BreakOnce : IRepairRegion
    {
        public List<int> Rounds { get; } = [];
        public RepairRegion? Region(int[] ids, bool[] frozen, int round)
        {
            Rounds.Add(round);
            return round == 1 && frozen.Length == 12 ? new RepairRegion([2, 3], "broken at 2") : null;
        }
    }

    [Fact]
    public void A_repair_round_remasks_the_region_and_samples_it_again_on_the_broken_canvas_only()
    {
        var table = new double[12, 10];
        for (int i = 0; i < 12; i++) for (int v = 0; v < 10; v++) table[i, v] = v == 4 ? 3 : 0;
        var fake = new FakeDenoiser(table);
        var observer = new RecordingObserver();
        var judge = new BreakOnce();
        var options = new SamplerOptions { Steps = 8, Remask = RemaskOptions.None, RepairRounds = 3, RepairSteps = 4, Temperature = 0 };
        var sampler = new DiffusionSampler(fake, options);
        var ids = sampler.Sample([global::AnCoder.Diffusion.Sampling.Canvas.Completion([], 12, 1, 1), global::AnCoder.Diffusion.Sampling.Canvas.Completion([], 10, 1, 2)], observer, judge);

        var repair = observer.Steps.Where(s => s.Phase == "repair 1").ToList();
        var remask = repair[0];
        Assert.Equal([2, 3], remask.Changes[0].Select(c => c.Position));
        Assert.All(remask.Changes[0], c => Assert.Equal(1, c.To));
        Assert.Empty(remask.Changes[1]);
        // The reason travels with the remask, for the broken canvas only, and no other step carries one.
        Assert.Equal(["broken at 2", null], remask.Notes!);
        Assert.All(observer.Steps.Where(s => !ReferenceEquals(s, remask)), s => Assert.Null(s.Notes));
        Assert.Equal(1 + 4 + 1, repair.Count);                                    // remask, 4 steps, final pass
        Assert.Equal([2, 3], repair.Skip(1).SelectMany(s => s.Changes[0]).Select(c => c.Position).Order());
        Assert.All(repair, s => Assert.Empty(s.Changes[1]));
        Assert.DoesNotContain(observer.Steps, s => s.Phase == "repair 2");         // round 2 found nothing to repair
        Assert.Equal([1, 2], judge.Rounds.Distinct());
        Assert.All(ids, row => Assert.DoesNotContain(1, row));
        Assert.Equal(Enumerable.Repeat(4, 12), ids[0]);
        Assert.Equal((8 + 4, 1), (sampler.LastRun!.Steps, sampler.LastRun.RepairedCanvases));
        // The repair's network calls carry only the broken canvas: against the same run without repair, every extra
        // call adds exactly one row.
        var plain = new FakeDenoiser(table);
        new DiffusionSampler(plain, options with { RepairRounds = 0 }).Sample([global::AnCoder.Diffusion.Sampling.Canvas.Completion([], 12, 1, 1), global::AnCoder.Diffusion.Sampling.Canvas.Completion([], 10, 1, 2)]);
        int extraCalls = fake.Calls - plain.Calls;
        Assert.Equal(repair.Count(s => s.NetworkRan), extraCalls);
        Assert.InRange(extraCalls, 1, 5);
        Assert.Equal(extraCalls, fake.Rows - plain.Rows);
    }

    [Fact]
    public void Without_rounds_or_a_judge_nothing_is_repaired()
    {
        var fake = FakeDenoiser.Uniformly([0, 0, 1, 2, 0, 0], 8);
        var observer = new RecordingObserver();
        new DiffusionSampler(fake, new SamplerOptions { Steps = 4, Remask = RemaskOptions.None }).Sample([global::AnCoder.Diffusion.Sampling.Canvas.Completion([], 8, 1, 1)], observer, new BreakOnce());
        Assert.DoesNotContain(observer.Steps, s => s.Phase is not null);
        Assert.Contains(new SamplerOptions { RepairSteps = 0 }.Validate(), p => p.Contains("repair steps"));
    }
}
