using System.Globalization;
using AnCoder.Diffusion.Configuration;

namespace AnCoder.Diffusion.Sampling;

/// <summary>ReMDM remasking strategies (docs/algorithms.md §7). <see cref="None"/> is the MDLM step (σ = 0).</summary>
public enum RemaskStrategy { None, Cap, Rescale, Conf, Loop }

/// <summary>
/// Remasking settings. <c>cap</c>: σ_t = min(η, (1 − α_s)/α_t); <c>rescale</c>: σ_t = η·σ_max; <c>conf</c>: per
/// decoded token σ = softmax(−ψ)·σ_max over the remaskable decoded tokens, ψ = the probability the token had when it
/// was drawn (ReMDM's η_conf); <c>loop</c>: MDLM steps until the schedule reaches α_on at t_on, then α is held at α_on
/// and tokens are remasked with the cap rule (η) until t_off, then MDLM steps to the end (ReMDM-loop).
/// </summary>
public sealed record RemaskOptions(RemaskStrategy Strategy, double Eta = 0, double LoopOn = 0.55, double LoopOff = 0.05, double LoopAlpha = 0.9)
{
    public static readonly RemaskOptions None = new(RemaskStrategy.None);
    /// <summary>The paper's "remask rate 0.1" for AnCoder.</summary>
    public static readonly RemaskOptions PaperDefault = new(RemaskStrategy.Cap, 0.1);

    /// <summary>
    /// Parses <c>none</c>, <c>cap:η</c>, <c>rescale:η</c>, <c>conf</c>, <c>loop:η[:t_on:t_off:α_on]</c>; throws
    /// <see cref="FormatException"/> with the accepted forms.
    /// </summary>
    public static RemaskOptions Parse(string text)
    {
        var parts = text.Trim().ToLowerInvariant().Split(':');
        double Number(int index, double fallback)
        {
            if (parts.Length <= index) return fallback;
            if (!double.TryParse(parts[index], NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || value < 0)
                throw new FormatException($"--remask '{text}': '{parts[index]}' is not a non-negative number");
            return value;
        }
        var options = parts[0] switch
        {
            "none" or "mdlm" or "0" => None,
            "cap" => new RemaskOptions(RemaskStrategy.Cap, Number(1, 0.1)),
            "rescale" => new RemaskOptions(RemaskStrategy.Rescale, Number(1, 0.1)),
            "conf" => new RemaskOptions(RemaskStrategy.Conf, 1),
            "loop" => new RemaskOptions(RemaskStrategy.Loop, Number(1, 0.1), Number(2, 0.55), Number(3, 0.05), Number(4, 0.9)),
            _ => throw new FormatException($"--remask '{text}': expected none, cap:η, rescale:η, conf or loop:η[:t_on:t_off:α_on]"),
        };
        if (options.Strategy == RemaskStrategy.Rescale && options.Eta > 1)
            throw new FormatException($"--remask '{text}': rescale η must be in [0, 1]");
        if (options.Strategy == RemaskStrategy.Loop && !(options.LoopOff < options.LoopOn && options.LoopOn < 1 && options.LoopAlpha is > 0 and < 1))
            throw new FormatException($"--remask '{text}': loop needs 0 ≤ t_off < t_on < 1 and 0 < α_on < 1");
        return options;
    }

    public override string ToString() => Strategy switch
    {
        RemaskStrategy.None => "none",
        RemaskStrategy.Conf => "conf",
        RemaskStrategy.Loop => FormattableString.Invariant($"loop:{Eta}:{LoopOn}:{LoopOff}:{LoopAlpha}"),
        _ => FormattableString.Invariant($"{Strategy.ToString().ToLowerInvariant()}:{Eta}"),
    };
}

/// <summary>
/// Which masked positions a step unmasks. <see cref="Random"/> is the paper's (each masked position independently);
/// the others first draw how many to unmask the same way, then take that many masked positions with the highest
/// score: max probability (<see cref="Confidence"/>), top-1 minus top-2 probability (<see cref="Margin"/>) or lowest
/// entropy (<see cref="Entropy"/>), as peers (LLaDA, Dream) do. <see cref="Anchor"/> (ours, past the paper: its
/// anchoring applied at inference) takes first the positions whose current prediction (argmax) is an anchor token
/// (<see cref="SamplerOptions.AnchorTokens"/>: keyword or identifier), the most confident of them first, then the
/// others by confidence: the scaffold of the program is fixed before the rest. <see cref="AnchorDepth"/> (ours) weighs
/// the anchors by the AnchorTree depth weight (<see cref="AnchorDepthWeights"/>: score 1 + ρ^max(0, d̂ − d0)·(1 +
/// confidence) for an anchor at estimated depth d̂, confidence for the others): every anchor still comes before every
/// other position, the outer levels of the scaffold before the inner ones. <see cref="LeftToRight"/> takes the leftmost
/// masked positions (the semi-autoregressive order of LLaDA's block decoding with blocks of one token): with the
/// Dream-style shift each revealed token is predicted from the whole decided text to its left, as the autoregressive
/// model the network was adapted from predicted it (docs/recipe.md §9).
/// </summary>
public enum UnmaskOrder { Random, Confidence, Margin, Entropy, Anchor, AnchorDepth, LeftToRight }

/// <summary>Every sampling knob; defaults are the paper's (docs/algorithms.md §7, §10).</summary>
public sealed record SamplerOptions
{
    /// <summary>Number of reverse steps T.</summary>
    public int Steps { get; init; } = 128;
    /// <summary>τ; 0 means greedy (argmax).</summary>
    public double Temperature { get; init; } = 0.8;
    /// <summary>Nucleus sampling: keep the smallest set of tokens whose probability reaches P (1 = off).</summary>
    public double TopP { get; init; } = 1.0;
    public RemaskOptions Remask { get; init; } = RemaskOptions.PaperDefault;
    public UnmaskOrder Order { get; init; } = UnmaskOrder.Random;
    /// <summary>Noise schedule; must be the one the model was trained with.</summary>
    public ScheduleKind Schedule { get; init; } = ScheduleKind.Cosine2;
    public double ScheduleEpsilon { get; init; } = 1e-3;
    /// <summary>Reuse the previous probabilities after a step that changed nothing (and for canvases that did not change).</summary>
    public bool Caching { get; init; } = true;
    /// <summary>The grid's last s (docs/algorithms.md §7: 1e-5). Larger values leave masks for the final argmax pass.</summary>
    public double FinalTime { get; init; } = TimeGrid.FinalTime;
    /// <summary>
    /// Per token id, whether it is an anchor token (<see cref="AnchorTokenTable"/>); <see cref="UnmaskOrder.Anchor"/>
    /// needs it. A longer table than the vocabulary is fine; ids past its end are not anchors.
    /// </summary>
    public IReadOnlyList<bool>? AnchorTokens { get; init; }
    /// <summary>Depth estimates and weights for <see cref="UnmaskOrder.AnchorDepth"/> (with <see cref="AnchorTokens"/>).</summary>
    public AnchorDepthWeights? AnchorDepths { get; init; }
    /// <summary>
    /// Confidence-parallel decoding (Fast-dLLM's threshold rule): instead of the time grid's T steps, each step
    /// reveals every masked position whose confidence (the model's largest probability there, before temperature)
    /// exceeds τ, and at least one (the best by <see cref="Order"/>; confidence for the random order), until nothing
    /// is masked: the number of network calls adapts to the model's certainty. With <see cref="UnmaskOrder.LeftToRight"/>
    /// only the run of masked positions from the leftmost counts (the decided text grows as a prefix). No remasking.
    /// Null = off.
    /// </summary>
    public double? ParallelThreshold { get; init; }
    /// <summary>
    /// Syntax-repair rounds R (0 = off): after sampling, a canvas whose text does not parse gets the generated tokens
    /// around the parser's error remasked (<see cref="SyntaxRepair"/>: the line, then the enclosing block) and
    /// <see cref="RepairSteps"/> more MDLM steps on that region only; up to R rounds. Needs a repair judge in
    /// <see cref="DiffusionSampler.Sample"/>.
    /// </summary>
    public int RepairRounds { get; init; }
    /// <summary>Reverse steps of each repair round.</summary>
    public int RepairSteps { get; init; } = 8;
    /// <summary>
    /// Viable-prefix guard (issue 17 item 2; <see cref="DecodingGuard.Prefix"/>): when a revealed token extends the
    /// decided left-to-right prefix (the canvas's positions from the start up to its first mask), that prefix's text must
    /// stay a viable program prefix (<see cref="ViablePrefixJudge"/>); otherwise the token is redrawn from the rest of
    /// its distribution (the rejected tokens' probabilities set to zero, renormalised; greedy: the next most likely),
    /// up to <see cref="GuardTries"/> times, then the most likely proposal is kept and a guard failure counted. Revealed
    /// tokens are judged left to right within a step, in the order the sampler unmasks. A canvas whose leading prompt
    /// is already no viable prefix (prose) is not guarded. Needs a prefix judge in
    /// <see cref="DiffusionSampler.Sample"/>. Draws no network call.
    /// </summary>
    public DecodingGuard Guard { get; init; } = DecodingGuard.None;
    /// <summary>Redraws the guard allows per revealed token.</summary>
    public int GuardTries { get; init; } = 4;
    /// <summary>
    /// Repetition penalty θ ≥ 1 (1 = off), the diffusion form of the autoregressive sampler's CTRL penalty
    /// (<see cref="AutoregressiveOptions.RepetitionPenalty"/>): at every masked position, each token id already decided
    /// in the canvas's generated region before the step (not the prompt, not a frozen position; the positions one step
    /// reveals are drawn together, so they do not see each other) has its log-probability multiplied by θ
    /// before temperature; the draw renormalises. The network gives SUBS log-probabilities, not raw logits, so CTRL's
    /// rule (ℓ/θ when positive, ℓ·θ otherwise) is applied to log p ≤ 0, i.e. always ℓ·θ. Used by every draw, order
    /// score, guard redraw and the final argmax pass. Draws no network call.
    /// </summary>
    public double RepetitionPenalty { get; init; } = 1.0;
    /// <summary>
    /// Frequency penalty α ≥ 0 (0 = off; OpenAI's <c>frequency_penalty</c>): at every masked position, each token id
    /// decided c times in the canvas's generated region (the same ids <see cref="RepetitionPenalty"/> counts) has α·c
    /// subtracted from its log-probability, after θ and before temperature; the draw renormalises. Unlike θ·log p,
    /// which barely moves a token the model is sure of (p = 0.9 stays 0.898 at θ = 1.2), it grows with every repeat, so it
    /// breaks the in-line loops (<c>1, 1, 1, …</c>) a small model falls into. On logits it is the same rule, so
    /// <see cref="AutoregressiveOptions.FrequencyPenalty"/> means exactly this for the AR sampler. Draws no network call.
    /// </summary>
    public double FrequencyPenalty { get; init; }

    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (Steps < 1) problems.Add($"steps ({Steps}) must be at least 1");
        if (Temperature < 0 || double.IsNaN(Temperature)) problems.Add($"temperature ({Temperature}) must be >= 0");
        if (FinalTime is < 0 or >= 1) problems.Add($"final time ({FinalTime}) must be in [0, 1)");
        if (TopP is <= 0 or > 1) problems.Add($"top-p ({TopP}) must be in (0, 1]");
        if (Order is UnmaskOrder.Anchor or UnmaskOrder.AnchorDepth && AnchorTokens is null) problems.Add($"order {Order.ToString().ToLowerInvariant()} needs the tokenizer's anchor-token table");
        if (Order == UnmaskOrder.AnchorDepth && AnchorDepths is null) problems.Add("order anchordepth needs the tokenizer's depth table");
        if (ParallelThreshold is { } tau && !(tau >= 0 && tau <= 1)) problems.Add($"parallel threshold ({tau}) must be in [0, 1]");
        if (RepairRounds < 0) problems.Add($"repair rounds ({RepairRounds}) must be >= 0");
        if (RepairSteps < 1) problems.Add($"repair steps ({RepairSteps}) must be at least 1");
        if (!(RepetitionPenalty >= 1) || double.IsInfinity(RepetitionPenalty)) problems.Add($"repetition penalty ({RepetitionPenalty}) must be a number >= 1 (1 = off)");
        if (!(FrequencyPenalty >= 0) || double.IsInfinity(FrequencyPenalty)) problems.Add($"frequency penalty ({FrequencyPenalty}) must be a number >= 0 (0 = off)");
        if (GuardTries < 0) problems.Add($"guard tries ({GuardTries}) must be >= 0");
        if (ParallelThreshold is not null && Remask.Strategy != RemaskStrategy.None)
            problems.Add($"parallel decoding never remasks: use remask none (got {Remask})");
        return problems;
    }
}
