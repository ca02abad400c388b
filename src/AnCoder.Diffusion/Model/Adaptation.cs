using static TorchSharp.torch;

namespace AnCoder.Diffusion.Model;

/// <summary>
/// Initialisation choices for adapting an autoregressive model to diffusion (docs/recipe.md §3).
/// </summary>
public static class Adaptation
{
    /// <summary>
    /// Zeroes every layer's residual output projections (attention o_proj, MLP down_proj): each pre-norm block
    /// x + Attn(·) + MLP(·) then returns x, so the network's layers are the identity and its output is
    /// RMSNorm(input)·Eᵀ. For ψ that means: at step 0 ψ passes φ's prediction softmax(a)·E_ψ through (the "ψ near
    /// identity" start); the gradients of the zeroed matrices are not zero, so ψ learns from there.
    /// </summary>
    public static void ZeroResidualOutputs(Qwen2Network network)
    {
        using var noGrad = no_grad();
        foreach (var layer in network.Layers)
        {
            layer.Attention.OutputProjection.Weight.zero_();
            layer.Mlp.DownProjection.Weight.zero_();
        }
    }

    /// <summary>The parameter names <see cref="ZeroResidualOutputs"/> zeroes in a network registered as <paramref name="prefix"/>.</summary>
    public static IEnumerable<string> ResidualOutputNames(string prefix, int layers) =>
        Enumerable.Range(0, layers).SelectMany(i => new[] { $"{prefix}.layers.{i}.self_attn.o_proj.weight", $"{prefix}.layers.{i}.mlp.down_proj.weight" });
}
