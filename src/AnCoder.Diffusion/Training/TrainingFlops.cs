using AnCoder.Diffusion.Configuration;

namespace AnCoder.Diffusion.Training;

/// <summary>
/// Model FLOPs of one training token (forward + backward = 3 × forward; multiply-add = 2 FLOPs), the usual
/// "6·N + attention" count: every matmul weight (q, k, v, o, gate, up, down; the tied unembedding E·h of each
/// network; for the anchored model also g⁰ = softmax(a)·E_ψ) costs 6 FLOPs per token, and attention costs
/// 12·L·heads·head_dim per token per layer (QKᵀ and PV, forward 2·2·L·heads·head_dim). The embedding lookup,
/// norms, softmaxes and the loss are not counted.
/// </summary>
public static class TrainingFlops
{
    public static double PerToken(ModelConfig config, int contextLength)
    {
        long d = config.HiddenSize, query = (long)config.NumAttentionHeads * config.ResolvedHeadDim;
        long kv = (long)config.NumKeyValueHeads * config.ResolvedHeadDim;
        long layerMatmul = d * query + 2 * d * kv + query * d + 3 * d * config.IntermediateSize;
        long vocabMatmul = (long)config.VocabSize * d;
        int layers = config.Architecture != Architecture.Anchored ? config.NumHiddenLayers : config.NumHiddenLayers + config.DenoiserLayers;
        int vocabProducts = config.Architecture != Architecture.Anchored ? 1 : 3; // unembed (×2 networks) + softmax(a)·E_ψ
        double matmulWeights = (double)layers * layerMatmul + vocabProducts * (double)vocabMatmul;
        double attention = 12.0 * contextLength * query * layers;
        return 6 * matmulWeights + attention;
    }
}
