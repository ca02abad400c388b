namespace AnCoder.Diffusion.Configuration;

/// <summary>Named model configs. <c>tiny</c> and <c>small</c> use our 8192-token default tokenizer.</summary>
public static class ModelPresets
{
    /// <summary>~2.6M parameters (anchored): a training step on a few thousand tokens well under a second here.</summary>
    public static ModelConfig Tiny => new()
    {
        HiddenSize = 128, IntermediateSize = 352, NumHiddenLayers = 2, DenoiserLayers = 2,
        NumAttentionHeads = 4, NumKeyValueHeads = 2, MaxPositionEmbeddings = 1024,
    };

    /// <summary>~9M parameters (anchored): the size of the CPU experiments.</summary>
    public static ModelConfig Small => new()
    {
        HiddenSize = 256, IntermediateSize = 704, NumHiddenLayers = 6, DenoiserLayers = 3,
        NumAttentionHeads = 4, NumKeyValueHeads = 2, MaxPositionEmbeddings = 2048,
    };

    /// <summary>
    /// The paper's 809M model: φ = Qwen2.5-Coder-0.5B (24 layers), ψ = 12 layers of the same shape, mask id 151665.
    /// </summary>
    public static ModelConfig AnCoder809M => new()
    {
        VocabSize = 151936, MaskTokenId = 151665, PadTokenId = 151643, EosTokenId = 151643,
        HiddenSize = 896, IntermediateSize = 4864, NumHiddenLayers = 24, DenoiserLayers = 12,
        NumAttentionHeads = 14, NumKeyValueHeads = 2, HeadDim = 64, RopeTheta = 1_000_000, RmsNormEps = 1e-6,
        MaxPositionEmbeddings = 32768,
    };

    public static readonly IReadOnlyDictionary<string, Func<ModelConfig>> All = new Dictionary<string, Func<ModelConfig>>
    {
        ["tiny"] = () => Tiny,
        ["small"] = () => Small,
        ["ancoder-809m"] = () => AnCoder809M,
    };

    /// <summary>A preset by name; throws <see cref="ConfigException"/> listing the names when unknown.</summary>
    public static ModelConfig Get(string name) =>
        All.TryGetValue(name, out var make)
            ? make()
            : throw new ConfigException($"unknown model preset '{name}' (known: {string.Join(", ", All.Keys)})");
}
