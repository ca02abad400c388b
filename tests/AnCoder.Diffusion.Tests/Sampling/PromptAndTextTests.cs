using AnCoder.Anchoring.Tokenization;
using AnCoder.Diffusion.Sampling;

namespace AnCoder.Diffusion.Tests.Sampling;

public sealed class PromptAndTextTests
{
    private static readonly ByteLevelBpe Tokenizer = DefaultTokenizer.Load();

    [Fact]
    public void Placeholders_are_parsed_anywhere_with_their_counts()
    {
        var segments = PromptTemplate.Parse("def f(<|mask:3|>):\n<|mask|>\n    return x<|mask:12|>");
        Assert.Equal(
            [new PromptSegment("def f(", 0), new PromptSegment(null, 3), new PromptSegment("):\n", 0), new PromptSegment(null, 1),
             new PromptSegment("\n    return x", 0), new PromptSegment(null, 12)], segments);
        Assert.False(PromptTemplate.HasPlaceholders("x = '<|mask:|>'"));
        Assert.Throws<FormatException>(() => PromptTemplate.Parse("<|mask:0|>"));
    }

    [Fact]
    public void An_infilling_canvas_freezes_the_text_and_masks_the_placeholders()
    {
        var canvas = PromptTemplate.BuildCanvas(Tokenizer, "a = (<|mask:4|>)\nb", 99, Tokenizer.MaskId, 1);
        var left = Tokenizer.EncodeToIds("a = ("u8).Length;
        var right = Tokenizer.EncodeToIds(")\nb"u8).Length;
        Assert.Equal(left + 4 + right, canvas.Length);
        Assert.Equal(Enumerable.Range(0, canvas.Length).Select(i => i < left || i >= left + 4), canvas.Frozen);
        Assert.All(canvas.Ids.Skip(left).Take(4), id => Assert.Equal(Tokenizer.MaskId, id));
        var plain = PromptTemplate.BuildCanvas(Tokenizer, "def f():", 7, Tokenizer.MaskId, 1);
        Assert.Equal(7, plain.Ids.Count(id => id == Tokenizer.MaskId));
        Assert.All(plain.Ids[^7..], id => Assert.Equal(Tokenizer.MaskId, id));
    }

    private static int[] Ids(string text) => Tokenizer.EncodeToIds(System.Text.Encoding.UTF8.GetBytes(text));

    [Fact]
    public void Completion_is_cut_at_the_first_end_of_text_and_at_stop_sequences()
    {
        int eos = Tokenizer.EndOfTextId, pad = Tokenizer.PadId;
        int[] prompt = Ids("def f():\n");
        int[] generated = [.. Ids("    return 1\n"), eos, .. Ids("junk")];
        int[] ids = [.. prompt, .. generated];
        var frozen = ids.Select((_, i) => i < prompt.Length).ToArray();
        var text = SampleTexts.Extract(ids, frozen, Tokenizer, eos, pad);
        Assert.Equal("def f():\n    return 1\n", text.Text);
        Assert.Equal("    return 1\n", text.Completion);
        Assert.Equal(prompt.Length + Ids("    return 1\n").Length, text.Tokens.Count);

        int[] more = [.. prompt, .. Ids("    return 1\n\ndef g():\n    pass")];
        var stopped = SampleTexts.Extract(more, more.Select((_, i) => i < prompt.Length).ToArray(), Tokenizer, eos, pad, ["\ndef ", "\nclass "]);
        Assert.Equal("    return 1\n", stopped.Completion);
        Assert.Equal("def f():\n    return 1\n", stopped.Text);
        Assert.True(stopped.Tokens[^1].End <= stopped.Bytes.Length);
    }

    [Fact]
    public void An_end_of_text_inside_an_infilled_span_drops_only_the_rest_of_that_span()
    {
        int eos = Tokenizer.EndOfTextId, pad = Tokenizer.PadId;
        int[] left = Ids("x = ("), right = Ids(")\n");
        int[] ids = [.. left, .. Ids("1"), eos, .. Ids("2"), pad, .. right];
        var frozen = ids.Select((_, i) => i < left.Length || i >= ids.Length - right.Length).ToArray();
        var text = SampleTexts.Extract(ids, frozen, Tokenizer, eos, pad, ["\n"]);
        Assert.Equal("x = (1)\n", text.Text);
        Assert.Equal("1", text.Completion);
    }
}

public sealed class LexicalAnchorTests
{
    [Fact]
    public void Names_outside_strings_and_comments_are_flagged_keywords_by_keyword_iskeyword()
    {
        const string source = "def f(x): # if\n    return 'while' + x1 + rb\"else\" + 2e5 + match\n";
        var labels = LexicalAnchors.Label(System.Text.Encoding.UTF8.GetBytes(source));
        var words = labels.Select(l => (source[l.Start..l.End], l.Keyword, l.Identifier)).ToList();
        Assert.Equal([("def", true, false), ("f", false, true), ("x", false, true), ("return", true, false), ("x1", false, true), ("match", false, true)], words);
    }
}
