using Xunit;
using System.Text;
using AnCoder.Anchoring.Corpus;
using AnCoder.Anchoring.Labels;
using AnCoder.Anchoring.Shards;
using AnCoder.Anchoring.Tokenization;
using AnCoder.Syntax;
using AnCoder.Syntax.Text;

namespace AnCoder.Anchoring.Tests.Corpus;

/// <summary>Mining docstring → body pairs, their shards (prompt = conditioning) and the loader's SFT rows.</summary>
public sealed class SftPairTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "ancoder-sft-" + Guid.NewGuid().ToString("N"));

    public SftPairTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const string Module = """"
        import os
        import re as regex, sys
        from typing import List, Optional
        from collections import *

        LIMIT = 3


        def count_words(text: str) -> int:
            """Count the words of text."""
            # words are runs of letters
            return len(regex.findall(r"\w+", text))


        def stub(x):
            """Not written yet."""
            raise NotImplementedError


        def undocumented(x):
            return x


        class Paths(os.PathLike):
            """Paths."""

            @staticmethod
            def join_all(parts: List[str]) -> str:
                """Join parts with the separator.

                Empty parts are skipped.
                """
                kept = [p for p in parts if p]
                return os.sep.join(kept)

            def only_doc(self):
                """Nothing else."""
                ...

        """";

    private static List<SftPair> Extract(string source)
    {
        var parsed = PythonParser.Parse(Encoding.UTF8.GetBytes(source));
        Assert.True(parsed.Success);
        return SftPairs.Extract(SourceText.FromString(source), parsed.Module!);
    }

    [Fact]
    public void Documented_functions_with_a_real_body_become_humaneval_style_pairs()
    {
        var pairs = Extract(Module);
        Assert.Equal(["count_words", "Paths.join_all"], pairs.Select(p => p.Name));

        Assert.Equal("import re as regex\n\n\ndef count_words(text: str) -> int:\n    \"\"\"Count the words of text.\"\"\"\n", pairs[0].Prompt);
        Assert.Equal("    # words are runs of letters\n    return len(regex.findall(r\"\\w+\", text))\n", pairs[0].Completion);

        Assert.Equal("import os\nfrom typing import List\n\n\nclass Paths(os.PathLike):\n    @staticmethod\n"
            + "    def join_all(parts: List[str]) -> str:\n        \"\"\"Join parts with the separator.\n\n        Empty parts are skipped.\n        \"\"\"\n",
            pairs[1].Prompt);
        Assert.Equal("        kept = [p for p in parts if p]\n        return os.sep.join(kept)\n", pairs[1].Completion);
        foreach (var pair in pairs) Assert.True(PythonParser.Parse(pair.Text).Success, pair.Text);
    }

    [Theory]
    [InlineData("def f(x):\n    \"\"\"D.\"\"\"\n    return x + 1\n", true)]
    [InlineData("def f(*items, **options):\n    \"\"\"D.\"\"\"\n    return len(options)\n", true)]
    [InlineData("def f(a, /, b, *, key=None):\n    \"\"\"D.\"\"\"\n    return sorted(b, key=key)\n", true)]
    [InlineData("def f(x):\n    \"\"\"D.\"\"\"\n    x = 3\n    return 3\n", false)] // x is only stored
    [InlineData("def f(x):\n    \"\"\"Uses x.\"\"\"\n    return None\n", false)] // the docstring does not count
    [InlineData("def f():\n    \"\"\"D.\"\"\"\n    return 1\n", false)] // nothing to read
    [InlineData("def f(y):\n    \"\"\"D.\"\"\"\n    return [x for x in range(3)]\n", false)]
    [InlineData("class C:\n    def get(self):\n        \"\"\"D.\"\"\"\n        return self.value\n", false)] // self is not a parameter here
    [InlineData("class C:\n    @classmethod\n    def make(cls, n):\n        \"\"\"D.\"\"\"\n        return cls(n)\n", true)]
    [InlineData("class C:\n    @staticmethod\n    def twice(value):\n        \"\"\"D.\"\"\"\n        return value * 2\n", true)]
    public void A_pair_records_whether_its_body_reads_a_parameter(string source, bool reads)
    {
        var pair = Assert.Single(Extract(source));
        Assert.Equal(reads, pair.ReadsParameter);
    }

    [Fact]
    public void Prepare_sft_removes_pairs_that_ignore_their_parameters_unless_asked_to_keep_them()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "src"));
        File.WriteAllText(Path.Combine(_dir, "src", "m.py"), "class Box:\n    def size(self):\n        \"\"\"Size.\"\"\"\n        return self.n\n\n"
            + "    def grow(self, by):\n        \"\"\"Grow.\"\"\"\n        self.n += by\n\n\n"
            + "def constant(x):\n    \"\"\"Always four.\"\"\"\n    return 4\n");
        Manifest Build(bool require, string output) => CorpusBuilder.Build(new PrepareOptions
        {
            Sources = [new CorpusSource("made-up", Path.Combine(_dir, "src"))], OutputDirectory = Path.Combine(_dir, output),
            Tokenizer = DefaultTokenizer.Load(), TokenizerName = DefaultTokenizer.Name, ValidFraction = 0, TestFraction = 0, Sft = true,
            NearDeduplicate = false, SftRequireParameterRead = require,
        });
        var strict = Build(true, "strict");
        Assert.Equal(1, strict.Sft!.Pairs); // Box.grow reads `by`
        Assert.Equal(2, strict.Removed![RemovalReasons.PairIgnoresParameters]);
        Assert.Contains("made-up:m.py:Box.size\tthe body reads none", File.ReadAllText(Path.Combine(_dir, "strict", "removed.tsv")));
        Assert.True(strict.Config.SftRequireParameterRead);

        var all = Build(false, "all");
        Assert.Equal(3, all.Sft!.Pairs);
        Assert.False(all.Removed!.ContainsKey(RemovalReasons.PairIgnoresParameters));
        Assert.NotEqual(strict.ConfigHash, all.ConfigHash);
    }

    [Fact]
    public void Imports_guarded_by_try_or_if_at_module_level_are_context_too()
    {
        var pair = Assert.Single(Extract("try:\n    import json\nexcept ImportError:\n    json = None\nif True:\n    import os\n\n\n"
            + "def dump(x):\n    \"\"\"Dump x.\"\"\"\n    return json.dumps(x)\n"));
        Assert.Equal("import json\n\n\ndef dump(x):\n    \"\"\"Dump x.\"\"\"\n", pair.Prompt);
    }

    [Fact]
    public void A_pair_is_labelled_with_its_prompt_tokenized_alone()
    {
        var bpe = DefaultTokenizer.Load();
        // The prompt ends with a blank line: encoded with the body, "\n\n" and the indentation would share a token.
        const string prompt = "def f(x):\n    \"\"\"Double x.\"\"\"\n\n";
        const string completion = "    return 2 * x\n";
        byte[] bytes = Encoding.UTF8.GetBytes(prompt + completion);
        var labelled = LabelledSource.Create(bytes, bpe, prompt.Length);
        Assert.True(labelled.Parsed);
        var expected = bpe.EncodeToIds(Encoding.UTF8.GetBytes(prompt)).Concat(bpe.EncodeToIds(Encoding.UTF8.GetBytes(completion)));
        Assert.Equal(expected, labelled.Labels.Select(l => l.Id));
        Assert.Contains(labelled.Labels, l => l.End == prompt.Length);
    }

    [Fact]
    public void Prepare_sft_writes_pairs_whose_prompt_tokens_are_marked()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "src", "lib"));
        File.WriteAllText(Path.Combine(_dir, "src", "lib", "words.py"), Module);
        File.WriteAllText(Path.Combine(_dir, "src", "lib", "more.py"), Module.Replace("LIMIT = 3", "LIMIT = 4")); // same pairs again
        var bpe = DefaultTokenizer.Load();
        var manifest = CorpusBuilder.Build(new PrepareOptions
        {
            Sources = [new CorpusSource("made-up", Path.Combine(_dir, "src"))], OutputDirectory = Path.Combine(_dir, "sft"), Tokenizer = bpe,
            TokenizerName = DefaultTokenizer.Name, ValidFraction = 0, TestFraction = 0, Sft = true, NearDeduplicate = false,
            DatasetsDirectory = CorpusFilterTests.DatasetsDirectory(),
        });
        Assert.Equal(CorpusKinds.Sft, manifest.Kind);
        Assert.Equal(2, manifest.Sft!.Pairs);
        Assert.Equal(2, manifest.Removed![RemovalReasons.PairDuplicate]);
        var pairs = Extract(Module);
        using var reader = Assert.Single(ShardSet.Open(Path.Combine(_dir, "sft"), Splits.Train));
        for (int s = 0; s < 2; s++)
        {
            var (start, end) = reader.SampleRange(s);
            var ids = reader.Ids(start, (int)(end - start)).ToArray();
            int prompt = reader.PromptLength(s);
            Assert.Equal(bpe.EncodeToIds(Encoding.UTF8.GetBytes(pairs[s].Prompt)), ids[..prompt]);
            Assert.Equal(bpe.EncodeToIds(Encoding.UTF8.GetBytes(pairs[s].Completion)), ids[prompt..]);
        }
        Assert.Equal(manifest.Sft.MeanPromptTokens * 2, manifest.Splits[Splits.Train].PromptTokens, 6);
        Assert.Equal(pairs[0].Prompt, manifest.Sft.Examples[0].Prompt);
    }

    [Fact]
    public void A_pair_containing_a_benchmark_solution_is_removed_and_named()
    {
        var humanEval = BenchmarkTexts.Load(CorpusFilterTests.DatasetsDirectory()).Where(t => t.TaskId == "HumanEval/2").ToDictionary(t => t.Part, t => t.Text);
        Directory.CreateDirectory(Path.Combine(_dir, "src"));
        File.WriteAllText(Path.Combine(_dir, "src", "m.py"), "def keep(a):\n    \"\"\"Keep a.\"\"\"\n    return [a, a]\n\n\n"
            + humanEval["prompt"] + humanEval["canonical_solution"]);
        // The file as a whole is contaminated too; check the function level alone.
        var decontaminator = Decontaminator.Load(CorpusFilterTests.DatasetsDirectory());
        string source = File.ReadAllText(Path.Combine(_dir, "src", "m.py"));
        var pairs = Extract(source);
        Assert.Equal(2, pairs.Count);
        Assert.Empty(decontaminator.Find(pairs[0].Text));
        Assert.Equal("HumanEval/2", decontaminator.Find(pairs[1].Text)[0].TaskId);
    }

    [Fact]
    public void Sft_rows_hold_one_pair_with_the_prompt_as_conditioning_and_end_of_text_after_it()
    {
        string path = Path.Combine(_dir, "pairs" + ShardFormat.Extension);
        var flags = Enumerable.Repeat(TokenFlags.Parsed | TokenFlags.Keyword, 5).ToArray();
        ShardFormat.Write(path, [
            new ShardSample([10, 11, 12, 13, 14], [1, 1, 2, 2, 3], flags, PromptLength: 3),
            new ShardSample([20, 21, 22, 23, 24, 25, 26, 27, 28], [1, 1, 1, 1, 1, 1, 1, 1, 1], Enumerable.Repeat(TokenFlags.Parsed, 9).ToArray(), PromptLength: 2),
        ], 64);
        using var reader = new ShardReader(path);
        var weights = AnchorWeightOptions.Defaults(AnchorStrategy.Keyword, 0.5, null, null);
        var loader = new DataLoader([reader], 8, 1, 0, weights, eosId: 0, padId: 2, PackingMode.Sft);
        Assert.Equal(2, loader.RowCount);

        var row = loader.Row(0);
        Assert.Equal([10, 11, 12, 13, 14, 0, 0, 0], row.Ids);
        Assert.Equal([true, true, true, false, false, false, false, false], row.PromptMask);
        Assert.All(row.Valid, Assert.True);
        Assert.Equal([0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0f, 0f, 0f], row.Weights);

        var truncated = loader.Row(1); // longer than the row: cut, no end-of-text
        Assert.Equal([20, 21, 22, 23, 24, 25, 26, 27], truncated.Ids);
        Assert.Equal([true, true, false, false, false, false, false, false], truncated.PromptMask);
    }
}
