using static TorchSharp.torch;

namespace AnCoder.Diffusion.Schedules;

/// <summary>
/// A masking schedule α(t): the probability that a token is still visible at time t ∈ [0, 1] (docs/algorithms.md §2).
/// Training and sampling must use the same schedule.
/// </summary>
public interface INoiseSchedule
{
    string Name { get; }

    double Alpha(double t);

    /// <summary>dα/dt (negative: tokens only disappear as t grows).</summary>
    double AlphaDerivative(double t);

    /// <summary>The continuous-time NELBO weight w(t) = −α'(t) / (1 − α(t)); infinite at t = 0.</summary>
    double Weight(double t);

    /// <summary>α(t) element-wise, computed in float64, returned in <paramref name="t"/>'s dtype.</summary>
    Tensor Alpha(Tensor t);

    /// <summary>w(t) element-wise, computed in float64, returned in <paramref name="t"/>'s dtype.</summary>
    Tensor Weight(Tensor t);
}
