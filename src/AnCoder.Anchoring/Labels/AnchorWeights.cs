namespace AnCoder.Anchoring.Labels;

/// <summary>The anchor-weight strategies of the paper (§4.3; docs/algorithms.md §5).</summary>
public enum AnchorStrategy
{
    /// <summary>Plain MDLM: a single network, no anchor loss (γ = 0).</summary>
    Mdlm,
    /// <summary>Anchor network without anchor supervision (A = 0, λ = 0).</summary>
    Null,
    /// <summary>A = token overlaps a hard keyword; λ = 0.1, ρ = 1.</summary>
    Keyword,
    /// <summary>A = token overlaps an identifier; λ = 0.003, ρ = 1.</summary>
    Identifier,
    /// <summary>A = keyword or identifier, decayed with depth; λ = 0.03, ρ = 0.8, d0 = 2 (ρ and d0 are placeholders).</summary>
    AnchorTree,
}

/// <summary>Resolved weight parameters: γ_i = λ · A_i · ρ^max(0, depth_i − d0).</summary>
public readonly record struct AnchorWeightOptions(AnchorStrategy Strategy, double Lambda, double Rho, int D0)
{
    /// <summary>The paper's defaults for a strategy (docs/algorithms.md §5 table); pass values to override.</summary>
    public static AnchorWeightOptions Defaults(AnchorStrategy strategy, double? lambda = null, double? rho = null, int? d0 = null)
    {
        var (defaultLambda, defaultRho, defaultD0) = strategy switch
        {
            AnchorStrategy.Keyword => (0.1, 1.0, 0),
            AnchorStrategy.Identifier => (0.003, 1.0, 0),
            AnchorStrategy.AnchorTree => (0.03, 0.8, 2),
            _ => (0.0, 1.0, 0),
        };
        return new AnchorWeightOptions(strategy, lambda ?? defaultLambda, rho ?? defaultRho, d0 ?? defaultD0);
    }

    public static string Name(AnchorStrategy strategy) => Settings.SettingNames.Name(strategy);
}

public static class AnchorWeights
{
    /// <summary>A_i of the strategy for a token with the given flags.</summary>
    public static bool IsAnchor(AnchorStrategy strategy, bool keyword, bool identifier) => strategy switch
    {
        AnchorStrategy.Keyword => keyword,
        AnchorStrategy.Identifier => identifier,
        AnchorStrategy.AnchorTree => keyword || identifier,
        _ => false,
    };

    /// <summary>γ_i = λ · A_i · ρ^max(0, depth − d0); 0 for a source that did not parse.</summary>
    public static double Weight(in AnchorWeightOptions options, int depth, bool keyword, bool identifier, bool parsed = true)
    {
        if (!parsed || !IsAnchor(options.Strategy, keyword, identifier)) return 0.0;
        return options.Lambda * Math.Pow(options.Rho, Math.Max(0, depth - options.D0));
    }
}
