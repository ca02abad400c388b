namespace AnCoder.Reporting.Plotting;

/// <summary>What the x axis of every plot measures.</summary>
public enum XAxis { Step, Tokens, Time }

/// <summary>How <see cref="RunPlots"/> draws the figures.</summary>
/// <param name="X">The x axis: optimizer step, training tokens seen, or wall-clock time.</param>
/// <param name="Smooth">Trailing moving-average window (in logged points) for the training curves (loss and its parts,
/// grad norm); 1 = raw. The raw curve stays visible behind the smoothed one. LR and validation NELBO are never smoothed.</param>
/// <param name="LogY">Logarithmic y axis (non-positive values are left out).</param>
/// <param name="Width">PNG width in pixels.</param>
/// <param name="Height">PNG height in pixels.</param>
public sealed record PlotOptions(XAxis X = XAxis.Step, int Smooth = 1, bool LogY = false, int Width = 1000, int Height = 600)
{
    public static PlotOptions Default { get; } = new();

    public static XAxis ParseXAxis(string value) => value.ToLowerInvariant() switch
    {
        "step" or "steps" => XAxis.Step,
        "tokens" or "token" => XAxis.Tokens,
        "time" or "wall" => XAxis.Time,
        _ => throw new PlotException($"--x must be step, tokens or time, not \"{value}\""),
    };

    public void Validate()
    {
        if (Smooth < 1) throw new PlotException($"--smooth must be at least 1 (1 = no smoothing), not {Smooth}");
        if (Width is < 100 or > 10_000 || Height is < 100 or > 10_000)
            throw new PlotException($"the image size must be 100–10000 pixels per side, not {Width}x{Height}");
    }
}
