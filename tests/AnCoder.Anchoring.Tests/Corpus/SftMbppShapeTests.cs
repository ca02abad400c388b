using Xunit;
using System.Text;
using System.Text.Json.Nodes;
using AnCoder.Anchoring.Corpus;
using AnCoder.Anchoring.Tokenization;
using AnCoder.Evaluation.Benchmarks;
using AnCoder.Syntax;
using AnCoder.Syntax.Text;

namespace AnCoder.Anchoring.Tests.Corpus;

/// <summary>Fine-tuning pairs in MBPP's shape (<c>prepare --sft --sft-shape mbpp|both</c>; docs/corpus.md): the prompt
/// is a module docstring holding the task text and a test, as <c>ProgramAssembly.MbppPrompt</c> builds it; the
/// completion is the whole program.</summary>
public sealed class SftMbppShapeTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "ancoder-sft-mbpp-" + Guid.NewGuid().ToString("N"));

    public SftMbppShapeTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const string Module = """"
        import functools
        import os
        import re as regex, sys


        def count_words(text: str) -> int:
            """Count the words of text.

            Words are runs of letters.

            >>> count_words("a b")
            2
            """

            # words are runs of letters
            return len(regex.findall(r"\w+", text))


        @functools.lru_cache(maxsize=None)
        def scale(values,
                  factor=2):
            """Multiply every value
               by factor.

            Returns a list.
            """
            return [v * factor for v in values]


        class Paths:
            """Paths."""

            def join_all(self, parts):
                """Join parts with the separator."""
                return os.sep.join(parts)

        """";

    private static List<SftPair> Extract(string source, SftShape shape)
    {
        var parsed = PythonParser.Parse(Encoding.UTF8.GetBytes(source));
        Assert.True(parsed.Success);
        return SftPairs.Extract(SourceText.FromString(source), parsed.Module!, shape);
    }

    [Fact]
    public void A_module_level_function_becomes_a_task_docstring_and_the_whole_program()
    {
        var pairs = Extract(Module, SftShape.Mbpp);
        Assert.Equal(["count_words@mbpp", "scale@mbpp"], pairs.Select(p => p.Name)); // the method Paths.join_all is not mined
        Assert.All(pairs, p => Assert.Equal(SftShape.Mbpp, p.Shape));

        // The doctest becomes the assert line; the paragraphs after the first and the blank line after the docstring go.
        Assert.Equal("\"\"\"\nCount the words of text.\nassert count_words(\"a b\") == 2\n\"\"\"\n", pairs[0].Prompt);
        Assert.Equal("import re as regex\n\n\ndef count_words(text: str) -> int:\n    # words are runs of letters\n"
            + "    return len(regex.findall(r\"\\w+\", text))\n", pairs[0].Completion);

        // No doctest: no test line. The first paragraph keeps its lines, dedented; decorators and a multi-line
        // signature stay.
        Assert.Equal("\"\"\"\nMultiply every value\nby factor.\n\"\"\"\n", pairs[1].Prompt);
        Assert.Equal("import functools\n\n\n@functools.lru_cache(maxsize=None)\ndef scale(values,\n          factor=2):\n"
            + "    return [v * factor for v in values]\n", pairs[1].Completion);

        foreach (var pair in pairs) Assert.True(PythonParser.Parse(pair.Text).Success, pair.Text);
    }

    [Fact]
    public void The_prompt_has_the_layout_of_the_mbpp_benchmark_prompt()
    {
        var pairs = Extract(Module, SftShape.Mbpp);
        // The prompt evaluation gives a model for an MBPP task with this text and first test (docs/algorithms.md §9).
        Assert.Equal(ProgramAssembly.MbppPrompt("Count the words of text.", ["assert count_words(\"a b\") == 2"]), pairs[0].Prompt);
    }

    [Theory]
    // The first example that calls the function with literals and shows one output line.
    [InlineData(">>> f([1, 2], key=-1)\n[2, 1]\n", "assert f([1, 2], key=-1) == [2, 1]")]
    [InlineData(">>> f(1)\n{'a': (1, -2.5)}\n>>> f(2)\n3\n", "assert f(1) == {'a': (1, -2.5)}")]
    [InlineData(">>> x = [3]\n>>> f(x)\n3\n>>> f(4)\n4\n", "assert f(4) == 4")] // f(x) names the example's own variable
    [InlineData(">>> f(1)\n<object at 0x7f>\n", null)] // not a literal
    [InlineData(">>> f(1)\nhello\n", null)] // printed text, not a value
    [InlineData(">>> f(1)\n1\n2\n", null)] // several output lines
    [InlineData(">>> g(1)\n1\n", null)] // another function
    [InlineData(">>> f(1)\n", null)] // no output shown
    [InlineData(">>> print(f(1))\n1\n", null)]
    [InlineData(">>> f(1)\nTraceback (most recent call last):\n", null)]
    public void The_test_line_is_a_doctest_of_the_function_as_written_or_nothing(string examples, string? expected)
    {
        string indented = string.Join("", examples.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => "    " + l + "\n"));
        string source = "def f(n, key=0):\n    \"\"\"Do it.\n\n" + indented + "    \"\"\"\n    return n\n";
        var pair = Assert.Single(Extract(source, SftShape.Mbpp));
        Assert.Equal("\"\"\"\nDo it.\n" + (expected is null ? "" : expected + "\n") + "\"\"\"\n", pair.Prompt);
        Assert.True(PythonParser.Parse(pair.Text).Success, pair.Text);
    }

    [Theory]
    [InlineData("\"\"\"\n    >>> f(1)\n    1\n    \"\"\"")] // the docstring opens with an example: no task text
    [InlineData("\"\"\"   \"\"\"")]
    [InlineData("r\"\"\"Match \\d+ digits.\"\"\"")] // a backslash would change meaning in a plain """ string
    [InlineData("'''Say \"\"\"hi\"\"\".'''")] // would close the prompt's docstring
    public void A_function_without_a_usable_summary_gives_no_mbpp_pair(string docstring)
    {
        string source = $"def f(n):\n    {docstring}\n    return n + 1\n";
        Assert.Empty(Extract(source, SftShape.Mbpp));
        Assert.Single(Extract(source, SftShape.HumanEval));
    }

    [Fact]
    public void Both_shapes_give_each_function_its_humaneval_pair_then_its_mbpp_pair()
    {
        var both = Extract(Module, SftShape.Both);
        Assert.Equal(["count_words", "count_words@mbpp", "scale", "scale@mbpp", "Paths.join_all"], both.Select(p => p.Name));
        Assert.Equal(Extract(Module, SftShape.HumanEval), both.Where(p => p.Shape == SftShape.HumanEval));
        Assert.Equal(Extract(Module, SftShape.Mbpp), both.Where(p => p.Shape == SftShape.Mbpp));
    }

    [Fact]
    public void The_parameter_rule_applies_to_the_mbpp_shape()
    {
        var pair = Assert.Single(Extract("def four(x):\n    \"\"\"Always four.\"\"\"\n    return 4\n", SftShape.Mbpp));
        Assert.False(pair.ReadsParameter);
    }

    [Fact]
    public void An_mbpp_pair_holding_a_benchmark_solution_is_found_by_the_decontaminator()
    {
        string datasets = CorpusFilterTests.DatasetsDirectory();
        string code = BenchmarkTexts.Load(datasets).Single(t => t.TaskId == "MBPP/1" && t.Part == "code").Text;
        // MBPP/1's solution with a docstring of our own after the def line (its body is indented with tabs).
        int def = code.IndexOf("def min_cost", StringComparison.Ordinal), endOfDef = code.IndexOf('\n', def);
        string source = code[..(endOfDef + 1)] + "\t\"\"\"Cheapest path through the grid.\"\"\"\r\n" + code[(endOfDef + 1)..] + "\n";
        var pair = Assert.Single(Extract(source, SftShape.Mbpp));
        Assert.Equal("\"\"\"\nCheapest path through the grid.\n\"\"\"\n", pair.Prompt);
        Assert.Equal("MBPP/1", Decontaminator.Load(datasets).Find(pair.Text)[0].TaskId);
    }

    private Manifest Build(SftShape shape, string output, string? datasets = null) => CorpusBuilder.Build(new PrepareOptions
    {
        Sources = [new CorpusSource("made-up", Path.Combine(_dir, "src"))], OutputDirectory = Path.Combine(_dir, output),
        Tokenizer = DefaultTokenizer.Load(), TokenizerName = DefaultTokenizer.Name, ValidFraction = 0, TestFraction = 0, Sft = true,
        NearDeduplicate = false, SftShape = shape, DatasetsDirectory = datasets,
    });

    [Fact]
    public void Prepare_with_both_shapes_writes_both_and_records_the_shape()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "src"));
        File.WriteAllText(Path.Combine(_dir, "src", "words.py"), Module);
        var humanEval = Build(SftShape.HumanEval, "humaneval", CorpusFilterTests.DatasetsDirectory());
        var mbpp = Build(SftShape.Mbpp, "mbpp", CorpusFilterTests.DatasetsDirectory());
        var both = Build(SftShape.Both, "both", CorpusFilterTests.DatasetsDirectory());

        Assert.Equal(3, humanEval.Sft!.Pairs); // count_words, scale, Paths.join_all
        Assert.Equal(2, mbpp.Sft!.Pairs); // count_words, scale
        Assert.Equal(5, both.Sft!.Pairs);
        Assert.Equal(2, both.Sft.MbppPairs);
        Assert.Equal(3, both.Sft.FunctionsSeen);
        Assert.Equal(both.Splits[Splits.Train].Tokens, humanEval.Splits[Splits.Train].Tokens + mbpp.Splits[Splits.Train].Tokens);

        Assert.Equal("both", both.Config.SftShape);
        Assert.Equal("mbpp", mbpp.Config.SftShape);
        Assert.Equal(3, new[] { humanEval.ConfigHash, mbpp.ConfigHash, both.ConfigHash }.Distinct().Count());
    }

    [Fact]
    public void Humaneval_shape_writes_the_manifest_of_before_the_option()
    {
        // HumanEval's shape is the default and adds no key, so a folder prepared before --sft-shape existed (e.g.
        // data/sft-reads) keeps its configuration hash and `prepare` still finds it up to date.
        Directory.CreateDirectory(Path.Combine(_dir, "src"));
        File.WriteAllText(Path.Combine(_dir, "src", "words.py"), Module);
        Assert.Equal(SftShape.HumanEval, new PrepareOptions { OutputDirectory = "x", Tokenizer = DefaultTokenizer.Load(), TokenizerName = "t" }.SftShape);
        var manifest = Build(SftShape.HumanEval, "humaneval");
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(_dir, "humaneval", CorpusBuilder.ManifestFile)))!.AsObject();
        Assert.False(json["config"]!.AsObject().ContainsKey("sft_shape"));
        Assert.False(json["sft"]!.AsObject().ContainsKey("mbpp_pairs"));
        Assert.Null(manifest.Sft!.MbppPairs);
        Assert.Equal(["count_words", "scale", "Paths.join_all"], manifest.Sft.Examples.Select(e => e.Function));
    }

    [Fact]
    public void A_shape_other_than_humaneval_without_sft_is_refused()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "src"));
        var error = Assert.Throws<InvalidDataException>(() => CorpusBuilder.Build(new PrepareOptions
        {
            Sources = [new CorpusSource("made-up", Path.Combine(_dir, "src"))], OutputDirectory = Path.Combine(_dir, "out"),
            Tokenizer = DefaultTokenizer.Load(), TokenizerName = DefaultTokenizer.Name, SftShape = SftShape.Mbpp,
        }));
        Assert.Contains("--sft", error.Message);
    }
}
