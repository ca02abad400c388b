using AnCoder.Anchoring.Settings;
using AnCoder.Diffusion.Configuration;
using static TorchSharp.torch;

namespace AnCoder.Diffusion.Schedules;

/// <summary>The four schedules of docs/algorithms.md §2 (<see cref="ScheduleKind"/>: <c>cosine2</c> (default), <c>cosine</c>,
/// <c>md4cosine</c>, <c>loglinear</c>).</summary>
public static class NoiseSchedules
{
    public static IReadOnlyList<string> Names => SettingNames.All<ScheduleKind>();

    /// <summary>
    /// A schedule. <paramref name="epsilon"/> is α(1) (the floor that keeps w(1) finite); it must lie in [0, 0.5)
    /// because <c>md4cosine</c> scales by 1 − 2ε. Throws <see cref="ConfigException"/> on a bad ε.
    /// </summary>
    public static INoiseSchedule Create(ScheduleKind kind = ScheduleKind.Cosine2, double epsilon = 1e-3)
    {
        if (!(epsilon >= 0 && epsilon < 0.5))
            throw new ConfigException($"schedule epsilon ({epsilon}) must be in [0, 0.5)");
        return kind switch
        {
            ScheduleKind.Cosine2 => new Cosine2Schedule(epsilon),
            ScheduleKind.Cosine => new CosineSchedule(epsilon),
            ScheduleKind.Md4Cosine => new Md4CosineSchedule(epsilon),
            ScheduleKind.LogLinear => new LogLinearSchedule(epsilon),
            _ => throw new ConfigException($"unknown noise schedule {kind}"),
        };
    }

    /// <summary>A schedule by its name; an unknown name is a <see cref="ConfigException"/> listing the known ones.</summary>
    public static INoiseSchedule Create(string name, double epsilon = 1e-3) =>
        SettingNames.TryParse<ScheduleKind>(name, out var kind) ? Create(kind, epsilon)
            : throw new ConfigException($"unknown noise schedule '{name}' (known: {string.Join(", ", Names)})");

    /// <summary>The schedule a model was configured (and trained) with: <c>diffusion.schedule</c>, <c>diffusion.schedule_epsilon</c>.</summary>
    public static INoiseSchedule From(DiffusionSettings settings) => Create(settings.Schedule, settings.ScheduleEpsilon);
}

/// <summary>
/// Shared plumbing: each schedule gives α, α' and a cancellation-free 1 − α (scalar and tensor); the weight is then
/// w = −α' / (1 − α) exactly, for every ε (no approximation from the doc's w column).
/// </summary>
public abstract class NoiseSchedule(ScheduleKind kind, double epsilon) : INoiseSchedule
{
    public string Name { get; } = SettingNames.Name(kind);
    public double Epsilon { get; } = epsilon;

    public abstract double Alpha(double t);
    public abstract double AlphaDerivative(double t);
    /// <summary>1 − α(t) written without the cancellation of 1 − α for small t.</summary>
    public abstract double MaskProbability(double t);
    public double Weight(double t) => -AlphaDerivative(t) / MaskProbability(t);

    public Tensor Alpha(Tensor t) => InFloat64(t, AlphaOf);
    public Tensor AlphaDerivative(Tensor t) => InFloat64(t, AlphaDerivativeOf);
    public Tensor MaskProbability(Tensor t) => InFloat64(t, MaskProbabilityOf);
    public Tensor Weight(Tensor t) => InFloat64(t, x => AlphaDerivativeOf(x).neg_().div_(MaskProbabilityOf(x)));

    // Tensor forms on a float64 t.
    protected abstract Tensor AlphaOf(Tensor t);
    protected abstract Tensor AlphaDerivativeOf(Tensor t);
    protected abstract Tensor MaskProbabilityOf(Tensor t);

    private static Tensor InFloat64(Tensor t, Func<Tensor, Tensor> f)
    {
        using var scope = NewDisposeScope();
        return f(t.to(ScalarType.Float64)).to(t.dtype).MoveToOuterDisposeScope();
    }

    public override string ToString() => $"{Name}(ε={Epsilon})";
}

/// <summary>α = ε + (1−ε)·cos²(πt/2); α' = −(1−ε)(π/2)·sin(πt); 1−α = (1−ε)·sin²(πt/2); w = π·cot(πt/2) exactly.</summary>
public sealed class Cosine2Schedule(double epsilon) : NoiseSchedule(ScheduleKind.Cosine2, epsilon)
{
    public override double Alpha(double t) { double c = Math.Cos(Math.PI * t / 2); return Epsilon + (1 - Epsilon) * c * c; }
    public override double AlphaDerivative(double t) => -(1 - Epsilon) * (Math.PI / 2) * Math.Sin(Math.PI * t);
    public override double MaskProbability(double t) { double s = Math.Sin(Math.PI * t / 2); return (1 - Epsilon) * s * s; }

    protected override Tensor AlphaOf(Tensor t) => (t * (Math.PI / 2)).cos_().pow_(2).mul_(1 - Epsilon).add_(Epsilon);
    protected override Tensor AlphaDerivativeOf(Tensor t) => (t * Math.PI).sin_().mul_(-(1 - Epsilon) * (Math.PI / 2));
    protected override Tensor MaskProbabilityOf(Tensor t) => (t * (Math.PI / 2)).sin_().pow_(2).mul_(1 - Epsilon);
}

/// <summary>α = ε + (1−ε)·cos(πt/2); α' = −(1−ε)(π/2)·sin(πt/2); 1−α = (1−ε)·2sin²(πt/4); w = (π/2)·cot(πt/4) exactly.</summary>
public sealed class CosineSchedule(double epsilon) : NoiseSchedule(ScheduleKind.Cosine, epsilon)
{
    public override double Alpha(double t) => Epsilon + (1 - Epsilon) * Math.Cos(Math.PI * t / 2);
    public override double AlphaDerivative(double t) => -(1 - Epsilon) * (Math.PI / 2) * Math.Sin(Math.PI * t / 2);
    public override double MaskProbability(double t) { double s = Math.Sin(Math.PI * t / 4); return (1 - Epsilon) * 2 * s * s; }

    protected override Tensor AlphaOf(Tensor t) => (t * (Math.PI / 2)).cos_().mul_(1 - Epsilon).add_(Epsilon);
    protected override Tensor AlphaDerivativeOf(Tensor t) => (t * (Math.PI / 2)).sin_().mul_(-(1 - Epsilon) * (Math.PI / 2));
    protected override Tensor MaskProbabilityOf(Tensor t) => (t * (Math.PI / 4)).sin_().pow_(2).mul_(2 * (1 - Epsilon));
}

/// <summary>
/// MD4's cosine: α = (1−2ε)(1 − sin(πt/2)) + ε, so α(0) = 1 − ε and α(1) = ε; α' = −(1−2ε)(π/2)·cos(πt/2);
/// 1−α = ε + (1−2ε)·sin(πt/2); w = (1−2ε)(π/2)·cos(πt/2) / (ε + (1−2ε)·sin(πt/2)) — the doc's (π/2)·cot(πt/2)
/// only at ε = 0 (with ε > 0, w(0) is finite: (1−2ε)π/(2ε)).
/// </summary>
public sealed class Md4CosineSchedule(double epsilon) : NoiseSchedule(ScheduleKind.Md4Cosine, epsilon)
{
    public override double Alpha(double t) => (1 - 2 * Epsilon) * (1 - Math.Sin(Math.PI * t / 2)) + Epsilon;
    public override double AlphaDerivative(double t) => -(1 - 2 * Epsilon) * (Math.PI / 2) * Math.Cos(Math.PI * t / 2);
    public override double MaskProbability(double t) => Epsilon + (1 - 2 * Epsilon) * Math.Sin(Math.PI * t / 2);

    protected override Tensor AlphaOf(Tensor t) => (t * (Math.PI / 2)).sin_().neg_().add_(1).mul_(1 - 2 * Epsilon).add_(Epsilon);
    protected override Tensor AlphaDerivativeOf(Tensor t) => (t * (Math.PI / 2)).cos_().mul_(-(1 - 2 * Epsilon) * (Math.PI / 2));
    protected override Tensor MaskProbabilityOf(Tensor t) => (t * (Math.PI / 2)).sin_().mul_(1 - 2 * Epsilon).add_(Epsilon);
}

/// <summary>MDLM's log-linear: α = 1 − (1−ε)t; α' = −(1−ε); 1−α = (1−ε)t; w = 1/t exactly.</summary>
public sealed class LogLinearSchedule(double epsilon) : NoiseSchedule(ScheduleKind.LogLinear, epsilon)
{
    public override double Alpha(double t) => 1 - (1 - Epsilon) * t;
    public override double AlphaDerivative(double t) => -(1 - Epsilon);
    public override double MaskProbability(double t) => (1 - Epsilon) * t;

    protected override Tensor AlphaOf(Tensor t) => (t * -(1 - Epsilon)).add_(1);
    protected override Tensor AlphaDerivativeOf(Tensor t) => full_like(t, -(1 - Epsilon));
    protected override Tensor MaskProbabilityOf(Tensor t) => t * (1 - Epsilon);
}
