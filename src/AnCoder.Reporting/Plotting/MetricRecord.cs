namespace AnCoder.Reporting.Plotting;

/// <summary>One line of a run's <c>metrics.jsonl</c> (written by the trainer at each logging step). Numeric fields
/// that are absent or null are NaN; <see cref="ValidNelbo"/> is present only on validation steps.</summary>
public sealed record MetricRecord(
    long Step,
    double Tokens,
    double WallSeconds,
    double Lr,
    double Loss,
    double DenoiserNll,
    double AnchorNll,
    double GradNorm,
    double TokensPerSecond,
    string? Strategy,
    double ValidNelbo)
{
    public bool HasValidation => !double.IsNaN(ValidNelbo);
}
