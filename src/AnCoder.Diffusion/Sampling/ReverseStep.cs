namespace AnCoder.Diffusion.Sampling;

/// <summary>One reverse step's times: sampling time t → s (s &lt; t) and the α values the step uses.</summary>
/// <param name="Looping">True inside ReMDM-loop's constant-α phase.</param>
public readonly record struct StepTimes(int Index, double T, double S, double AlphaT, double AlphaS, bool Looping);

/// <summary>The per-position probabilities of a reverse step (docs/algorithms.md §7), as small pure functions.</summary>
public static class ReverseStep
{
    /// <summary>σ_max = min(1, (1 − α_s)/α_t): the largest remasking probability that keeps the step a valid posterior.</summary>
    public static double SigmaMax(double alphaS, double alphaT) => alphaT <= 0 ? 0 : Math.Clamp((1 - alphaS) / alphaT, 0, 1);

    /// <summary>σ_t for the position-independent strategies (conf returns σ_max; scale it per token).</summary>
    public static double Sigma(RemaskOptions remask, in StepTimes step)
    {
        double max = SigmaMax(step.AlphaS, step.AlphaT);
        return remask.Strategy switch
        {
            RemaskStrategy.None => 0,
            RemaskStrategy.Cap => Math.Min(remask.Eta, max),
            RemaskStrategy.Rescale => Math.Clamp(remask.Eta, 0, 1) * max,
            RemaskStrategy.Conf => max,
            RemaskStrategy.Loop => step.Looping ? Math.Min(remask.Eta, max) : 0,
            _ => 0,
        };
    }

    /// <summary>
    /// Probability that a masked position becomes a token: (α_s − (1 − σ)·α_t)/(1 − α_t); σ = 0 gives MDLM's
    /// (α_s − α_t)/(1 − α_t).
    /// </summary>
    public static double UnmaskProbability(double alphaS, double alphaT, double sigma) =>
        alphaT >= 1 ? 1 : Math.Clamp((alphaS - (1 - sigma) * alphaT) / (1 - alphaT), 0, 1);

    /// <summary>ReMDM-conf's per-token σ: softmax(−ψ) over the remaskable decoded tokens, times σ_max.</summary>
    public static double[] ConfidenceSigmas(IReadOnlyList<double> confidences, double sigmaMax)
    {
        var sigmas = new double[confidences.Count];
        if (confidences.Count == 0) return sigmas;
        double lowest = confidences.Min();
        double total = 0;
        for (int i = 0; i < sigmas.Length; i++) total += sigmas[i] = Math.Exp(-(confidences[i] - lowest));
        for (int i = 0; i < sigmas.Length; i++) sigmas[i] = sigmas[i] / total * sigmaMax;
        return sigmas;
    }
}

/// <summary>The time grid of docs/algorithms.md §7: t_k = 1 − k·(1 − 1e-5)/T, s = t_k − (1 − 1e-5)/T, k = 0..T−1.</summary>
public static class TimeGrid
{
    public const double FinalTime = 1e-5;

    public static StepTimes[] Create(int steps, Func<double, double> alpha, RemaskOptions remask, double finalTime = FinalTime)
    {
        double dt = (1 - finalTime) / steps;
        var grid = new StepTimes[steps];
        Func<double, double> scheduleTime = remask.Strategy == RemaskStrategy.Loop ? LoopTimeMap(alpha, remask) : t => t;
        for (int k = 0; k < steps; k++)
        {
            double t = 1 - k * dt, s = t - dt;
            bool looping = remask.Strategy == RemaskStrategy.Loop && t <= remask.LoopOn && s >= remask.LoopOff;
            grid[k] = new StepTimes(k, t, s, alpha(scheduleTime(t)), alpha(scheduleTime(s)), looping);
        }
        return grid;
    }

    /// <summary>
    /// ReMDM-loop: sampling time t ∈ [t_on, 1] maps linearly onto schedule time [τ_on, 1] where α(τ_on) = α_on; on
    /// [t_off, t_on] schedule time stays τ_on (α constant); on [0, t_off] it maps linearly onto [0, τ_on].
    /// </summary>
    internal static Func<double, double> LoopTimeMap(Func<double, double> alpha, RemaskOptions remask)
    {
        double tauOn = InverseAlpha(alpha, remask.LoopAlpha);
        return t =>
        {
            if (t >= remask.LoopOn) return tauOn + (t - remask.LoopOn) / (1 - remask.LoopOn) * (1 - tauOn);
            if (t >= remask.LoopOff) return tauOn;
            return remask.LoopOff <= 0 ? 0 : t / remask.LoopOff * tauOn;
        };
    }

    /// <summary>τ with α(τ) = target, by bisection (α decreases on [0, 1]).</summary>
    internal static double InverseAlpha(Func<double, double> alpha, double target)
    {
        double lo = 0, hi = 1;
        for (int i = 0; i < 100; i++)
        {
            double mid = (lo + hi) / 2;
            if (alpha(mid) > target) lo = mid; else hi = mid;
        }
        return (lo + hi) / 2;
    }
}
