using AnCoder.Evaluation.Scoring;

namespace AnCoder.Evaluation.Tests;

public class PostProcessingTests
{
    [Theory]
    [InlineData("    return x\n\ndef helper():\n    pass", "    return x\n")]
    [InlineData("    return x\nclass A: pass", "    return x")]
    [InlineData("    return x\nif __name__ == '__main__':\n    main()", "    return x")]
    [InlineData("    return x\nprint(f(1))", "    return x")]
    [InlineData("    return x\n# tests\nassert f(1)", "    return x")]
    [InlineData("    return x<|endoftext|>\ndef g(): pass", "    return x")]
    [InlineData("    y = 1  # comment kept\n    return y", "    y = 1  # comment kept\n    return y")]
    [InlineData("    def inner():\n        pass\n    return inner", "    def inner():\n        pass\n    return inner")]
    [InlineData("    return 1\n\nprint(2)\ndef g(): pass", "    return 1\n")]
    public void HumanEval_cuts_at_eos_then_the_first_stop_sequence(string generated, string expected) =>
        Assert.Equal(expected, CompletionPostProcessor.HumanEval(generated));

    [Fact]
    public void Custom_eos_markers_are_cut_first()
    {
        Assert.Equal("    return 1", CompletionPostProcessor.HumanEval("    return 1<|im_end|>\n    return 2", ["<|im_end|>"]));
        Assert.Equal("def f():\n    return 1\n\ndef g(): pass", CompletionPostProcessor.Mbpp("def f():\n    return 1\n\ndef g(): pass<|endoftext|>junk"));
    }
}
