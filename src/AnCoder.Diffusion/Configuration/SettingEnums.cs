using TorchSharp;

namespace AnCoder.Diffusion.Configuration;

/// <summary>Compute precision: activations and matmuls; master weights and optimizer state stay fp32.</summary>
public enum Precision
{
    Fp32,
    /// <summary>bfloat16 compute (AMX on recent Xeons), fp32 master weights.</summary>
    Bf16,
}

/// <summary>Where the anchor term of ANELBO applies (docs/algorithms.md §5).</summary>
public enum AnchorLossOn
{
    /// <summary>Every valid position (default, as ADLM).</summary>
    All,
    /// <summary>Only the masked positions.</summary>
    Masked,
}

/// <summary>The noise schedules α_t of docs/algorithms.md §2.</summary>
public enum ScheduleKind
{
    /// <summary>α_t = ε + (1 − ε)·cos²(πt/2) (default).</summary>
    Cosine2,
    Cosine,
    Md4Cosine,
    LogLinear,
}

/// <summary>What <c>ancoder train</c> optimises (docs/recipe.md §1).</summary>
public enum Objective
{
    /// <summary>The (A)NELBO of a diffusion model (default).</summary>
    Diffusion,
    /// <summary>Next-token cross-entropy of a causal Qwen2 model, the recipe's stage 0.</summary>
    Ar,
}

/// <summary>How ψ starts when adapting a pretrained model (docs/recipe.md §3).</summary>
public enum DenoiserInit
{
    /// <summary>As initialised (from the AR model: its first N_d layers; the paper's).</summary>
    Copy,
    /// <summary>Residual output projections zeroed: ψ's layers are the identity at step 0.</summary>
    Identity,
}

public static class PrecisionExtensions
{
    public static torch.ScalarType ScalarType(this Precision precision) =>
        precision == Precision.Bf16 ? torch.ScalarType.BFloat16 : torch.ScalarType.Float32;
}
