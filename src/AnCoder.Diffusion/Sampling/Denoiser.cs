using AnCoder.Diffusion.Model;
using static TorchSharp.torch;

namespace AnCoder.Diffusion.Sampling;

/// <summary>
/// What the sampler needs from a network: for noisy ids z_t [B, L] (int64) and an optional key mask [B, L] (bool,
/// true where a position may be attended), the SUBS log-probabilities x_θ(z_t) fp32 [B, L, V] (docs/algorithms.md §3:
/// the mask column is ≈ −1e6, a visible position is one-hot on its own token) and, for anchored models, φ's anchor
/// logits fp32 [B, L, V] (used only by traces). Rows of the batch must be independent of each other.
/// <c>logitsFrom</c> &gt; 0 asks for the log-probabilities of positions logitsFrom.. only ([B, L − from, V]; the
/// sampler passes the first position that is not frozen in any canvas, since it never reads a prompt position's).
/// </summary>
public interface IDenoiser
{
    int VocabSize { get; }
    int MaskId { get; }
    DenoiserOutput Predict(Tensor noisyIds, Tensor? keyMask, long logitsFrom = 0);
}

/// <summary>SUBS log-probabilities fp32 [B, L, V] and, for anchored models, anchor logits fp32 [B, L, V] (else null).</summary>
public sealed record DenoiserOutput(Tensor LogProbabilities, Tensor? AnchorLogits);

/// <summary>A <see cref="DiffusionModel"/> (MDLM or anchored) with SUBS applied to its denoiser logits; no gradients.</summary>
public sealed class ModelDenoiser(DiffusionModel model) : IDenoiser
{
    public DiffusionModel Model { get; } = model;
    public int VocabSize => Model.Config.VocabSize;
    public int MaskId => Model.Config.MaskTokenId;

    public DenoiserOutput Predict(Tensor noisyIds, Tensor? keyMask, long logitsFrom = 0)
    {
        using var noGrad = no_grad();
        var output = Model.ForwardFrom(noisyIds, keyMask, logitsFrom);
        var windowIds = logitsFrom == 0 ? noisyIds : noisyIds[.., (int)logitsFrom..];
        return new DenoiserOutput(Losses.Subs.LogProbabilities(output.DenoiserLogits, windowIds, MaskId), output.AnchorLogits);
    }
}
