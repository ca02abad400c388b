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

public static class PrecisionExtensions
{
    public static torch.ScalarType ScalarType(this Precision precision) =>
        precision == Precision.Bf16 ? torch.ScalarType.BFloat16 : torch.ScalarType.Float32;
}
