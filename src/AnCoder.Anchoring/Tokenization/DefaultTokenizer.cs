namespace AnCoder.Anchoring.Tokenization;

/// <summary>
/// The tokenizer that ships with the project: a byte-level BPE with 8192 ids trained by
/// <c>ancoder prepare --train-tokenizer</c> on python3.11's standard library (ids 0/1/2 = endoftext/mask/pad).
/// Committed in src/AnCoder.Anchoring/DefaultTokenizer/ (Hugging Face layout) and copied next to every binary.
/// </summary>
public static class DefaultTokenizer
{
    public const string Name = "ancoder-stdlib-bpe-8k";
    public const int VocabSize = 8192;

    public static string Directory => Path.Combine(AppContext.BaseDirectory, "DefaultTokenizer");

    private static readonly Lazy<ByteLevelBpe> Instance = new(() => HfTokenizerFiles.Load(Directory));

    public static ByteLevelBpe Load() => Instance.Value;
}
