using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

using AnCoder.Anchoring.Tokenization;

namespace AnCoder.Anchoring.Tests;

/// <summary>
/// A test oracle: loads a Hugging Face byte-level BPE directory (Qwen2 layout) through Microsoft.ML.Tokenizers, the
/// maintained library; <see cref="ByteLevelBpe"/> must give the same ids (and adds byte spans).
/// </summary>
public static class MlTokenizerLoader
{
    public static BpeTokenizer Load(string directory) => Create(HfTokenizerFiles.Read(directory));

    public static BpeTokenizer Create(HfTokenizerFiles.Contents contents)
    {
        var specials = new Dictionary<string, int>(contents.SpecialTokens);
        var options = new BpeOptions(contents.Vocab.Where(kv => !specials.ContainsKey(kv.Key)))
        {
            Merges = contents.Merges.Select(m => $"{m.Left} {m.Right}").ToList(),
            ByteLevel = true,
            SpecialTokens = specials,
            PreTokenizer = new RegexPreTokenizer(new Regex(contents.Pattern, RegexOptions.Compiled), specials),
        };
        return BpeTokenizer.Create(options);
    }
}
