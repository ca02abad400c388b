using System.Text;
using System.Text.Json;
using AnCoder.Anchoring.Labels;
using AnCoder.Anchoring.Tokenization;
using Xunit;

namespace AnCoder.Anchoring.Tests;

public sealed class LabelTests
{
    private static readonly ByteLevelBpe Bpe = DefaultTokenizer.Load();
    private static string CasesDir => Path.Combine(TestSupport.ReferenceDir, "cases");

    private static LabelledSource FindMax() => LabelledSource.Create(File.ReadAllBytes(Path.Combine(CasesDir, "find_max.py")), Bpe);

    /// <summary>The labels of the token(s) covering the first occurrence of <paramref name="text"/> at or after <paramref name="from"/>.</summary>
    private static List<(TokenLabel Label, string Node)> LabelsOf(LabelledSource source, string text, int from = 0)
    {
        int at = Encoding.UTF8.GetString(source.Bytes).IndexOf(text, from, StringComparison.Ordinal);
        Assert.True(at >= 0, text);
        int start = Encoding.UTF8.GetByteCount(Encoding.UTF8.GetString(source.Bytes)[..at]), end = start + Encoding.UTF8.GetByteCount(text);
        return source.Labels.Select((l, i) => (l, i)).Where(x => x.l.Start < end && start < x.l.End)
            .Select(x => (x.l, source.NodeTypeOf(x.i))).ToList();
    }

    [Fact]
    public void WorkedExampleOfAlgorithmsMd()
    {
        var source = FindMax();
        Assert.True(source.Parsed);
        // docs/algorithms.md §6 worked example.
        Assert.All(LabelsOf(source, "def"), x => Assert.Equal(("FunctionDef", 1, true), (x.Node, x.Label.Depth, x.Label.Keyword)));
        Assert.All(LabelsOf(source, "find_max"), x => Assert.Equal(("FunctionDef", 1, true), (x.Node, x.Label.Depth, x.Label.Identifier)));
        Assert.All(LabelsOf(source, "umber"), x => Assert.Equal(("arg", 3), (x.Node, x.Label.Depth)));
        Assert.All(LabelsOf(source, "for"), x => Assert.Equal(("For", 2, true), (x.Node, x.Label.Depth, x.Label.Keyword)));
        Assert.All(LabelsOf(source, " in"), x => Assert.Equal(("For", 2), (x.Node, x.Label.Depth)));
        Assert.All(LabelsOf(source, "num", Encoding.UTF8.GetString(source.Bytes).IndexOf("for num", StringComparison.Ordinal)), x => Assert.Equal(("Name", 3), (x.Node, x.Label.Depth)));
        Assert.All(LabelsOf(source, "if"), x => Assert.Equal(("If", 3, true), (x.Node, x.Label.Depth, x.Label.Keyword)));
        Assert.All(LabelsOf(source, "num > max_num"), x => Assert.True(x.Node == "Compare" || (x.Node, x.Label.Depth) == ("Name", 5)));
        Assert.All(LabelsOf(source, "return"), x => Assert.Equal(("Return", 2, true), (x.Node, x.Label.Depth, x.Label.Keyword)));
    }

    [Theory]
    // γ = λ·A·ρ^max(0, depth − d0), computed by hand.
    [InlineData(AnchorStrategy.AnchorTree, 1, true, false, 0.03)]        // depth ≤ d0: no decay
    [InlineData(AnchorStrategy.AnchorTree, 2, false, true, 0.03)]
    [InlineData(AnchorStrategy.AnchorTree, 3, false, true, 0.024)]       // 0.03·0.8
    [InlineData(AnchorStrategy.AnchorTree, 5, false, true, 0.01536)]     // 0.03·0.8³
    [InlineData(AnchorStrategy.AnchorTree, 5, false, false, 0.0)]        // not an anchor
    [InlineData(AnchorStrategy.Keyword, 7, true, false, 0.1)]            // ρ = 1
    [InlineData(AnchorStrategy.Keyword, 7, false, true, 0.0)]
    [InlineData(AnchorStrategy.Identifier, 9, false, true, 0.003)]
    [InlineData(AnchorStrategy.Identifier, 9, true, false, 0.0)]
    [InlineData(AnchorStrategy.Null, 1, true, true, 0.0)]
    [InlineData(AnchorStrategy.Mdlm, 1, true, true, 0.0)]
    public void WeightFormulaWithPaperDefaults(AnchorStrategy strategy, int depth, bool keyword, bool identifier, double expected)
    {
        Assert.Equal(expected, AnchorWeights.Weight(AnchorWeightOptions.Defaults(strategy), depth, keyword, identifier), 12);
        Assert.Equal(0.0, AnchorWeights.Weight(AnchorWeightOptions.Defaults(strategy), depth, keyword, identifier, parsed: false));
    }

    [Fact]
    public void ConfigurableRhoAndD0()
    {
        var options = AnchorWeightOptions.Defaults(AnchorStrategy.AnchorTree, lambda: 0.1, rho: 0.5, d0: 0);
        Assert.Equal(0.1 * 0.125, AnchorWeights.Weight(options, 3, true, false), 12);
        Assert.Equal(0.1, AnchorWeights.Weight(options, 0, true, false), 12);
    }

    [Fact]
    public void UnparsableSourceHasNoAnchorsButStillTiles()
    {
        byte[] bytes = File.ReadAllBytes(Path.Combine(CasesDir, "syntax_error.py"));
        var source = LabelledSource.Create(bytes, Bpe);
        Assert.False(source.Parsed);
        Assert.NotNull(source.Error);
        Assert.All(source.Weights(AnchorWeightOptions.Defaults(AnchorStrategy.AnchorTree)), w => Assert.Equal(0.0, w));
        Assert.Equal(bytes.Length, source.Labels[^1].End);
    }

    [Fact]
    public void AncestorChainAndPartialOrder()
    {
        var source = FindMax();
        int ifToken = Array.FindIndex(source.Labels, l => Encoding.UTF8.GetString(source.Bytes, l.Start, l.End - l.Start) == " if");
        int numInTest = ifToken + 1; // ` num` in `if num > max_num`
        Assert.Equal("Name", source.NodeTypeOf(numInTest));
        Assert.Equal(["Compare", "If", "For", "FunctionDef", "Module"], source.AncestorsOf(numInTest).Select(n => n.TypeName));
        Assert.True(source.Precedes(ifToken, numInTest));   // If is a strict ancestor of the Name
        Assert.False(source.Precedes(numInTest, ifToken));
        int defToken = 0, nameToken = 1;                     // `def`, ` find`: same node → token order
        Assert.True(source.Precedes(defToken, nameToken));
        Assert.False(source.Precedes(nameToken, defToken));
        int lastNewline = source.Labels.Length - 1;          // Module
        Assert.True(source.Precedes(lastNewline, numInTest));
    }

    [Fact]
    public void LabelsMatchIndependentCPythonImplementationOnEdgeCases()
    {
        var files = Directory.EnumerateFiles(CasesDir, "*.py").OrderBy(p => p, StringComparer.Ordinal).ToList();
        Assert.True(files.Count >= 10);
        CompareWithReference(files);
    }

    [Fact]
    public void LabelsMatchIndependentCPythonImplementationOnStdlibSample()
    {
        CompareWithReference(TestSupport.StdlibSample(Environment.GetEnvironmentVariable("ANCODER_FULL_LABEL_CHECK") == "1" ? 100_000 : 150));
    }

    private static void CompareWithReference(List<string> files)
    {
        var sources = files.Select(f => LabelledSource.Create(File.ReadAllBytes(f), Bpe)).ToList();
        var input = new StringBuilder();
        for (int k = 0; k < files.Count; k++)
        {
            input.Append(JsonSerializer.Serialize(new { path = files[k], spans = sources[k].Labels.Select(l => new[] { l.Start, l.End }) })).Append('\n');
        }
        string output = TestSupport.RunPython($"\"{Path.Combine(TestSupport.ReferenceDir, "labels_reference.py")}\"", input.ToString());
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(files.Count, lines.Length);
        var mismatches = new List<string>();
        long compared = 0;
        for (int k = 0; k < files.Count; k++)
        {
            using var doc = JsonDocument.Parse(lines[k]);
            var source = sources[k];
            bool parsed = doc.RootElement.GetProperty("parsed").GetBoolean();
            if (parsed != source.Parsed) { mismatches.Add($"{files[k]}: parsed {source.Parsed}, CPython {parsed}"); continue; }
            int i = 0;
            foreach (var expected in doc.RootElement.GetProperty("labels").EnumerateArray())
            {
                var label = source.Labels[i];
                var want = (expected[0].GetString(), expected[1].GetInt32(), expected[2].GetBoolean(), expected[3].GetBoolean());
                var got = (source.NodeTypeOf(i), label.Depth, label.Keyword, label.Identifier);
                if (want != got && mismatches.Count < 20)
                    mismatches.Add($"{files[k]} token {i} [{label.Start},{label.End}) {Encoding.UTF8.GetString(source.Bytes, label.Start, label.End - label.Start)!.Replace("\n", "\\n")}: ours {got}, CPython {want}");
                i++;
                compared++;
            }
            Assert.Equal(source.Labels.Length, i);
        }
        Assert.True(mismatches.Count == 0, $"{mismatches.Count}+ mismatches over {compared} tokens:\n" + string.Join('\n', mismatches));
        Assert.True(compared > 0);
    }
}
