namespace AnCoder.Diffusion.Probing;

/// <summary>The three reveal orders of the probe (docs/algorithms.md §8, the paper's §4.2 / Figure 5).</summary>
public enum RevealOrder
{
    /// <summary>Nearest ancestor's representative first.</summary>
    InOut,
    /// <summary>Farthest ancestor's representative first.</summary>
    OutIn,
    /// <summary>k masked positions outside the chain (and not the target), in a random order.</summary>
    Random,
}

/// <summary>A probe target: token i0 and its ancestor chain (one representative token per ancestor, nearest first).</summary>
public sealed record ProbeTarget(int Token, int[] Chain);

/// <summary>Pure selection logic of the probe (docs/algorithms.md §8): targets, chains and reveal orders.</summary>
public static class ProbeSelection
{
    public static readonly IReadOnlyList<RevealOrder> Orders = [RevealOrder.InOut, RevealOrder.OutIn, RevealOrder.Random];

    public static string Name(RevealOrder order) => order switch
    {
        RevealOrder.InOut => "in-out",
        RevealOrder.OutIn => "out-in",
        _ => "random",
    };

    /// <summary>
    /// The representative token of each node among the first <paramref name="window"/> tokens: the first token whose
    /// node is exactly that node.
    /// </summary>
    public static Dictionary<int, int> Representatives(ProbeTokens tokens, int window)
    {
        var first = new Dictionary<int, int>();
        for (int i = 0; i < Math.Min(window, tokens.Count); i++)
        {
            int node = tokens.NodeOfToken[i];
            if (node >= 0) first.TryAdd(node, i);
        }
        return first;
    }

    /// <summary>
    /// The chain of token i: representatives of the positioned ancestors of node(i) below the Module, nearest first.
    /// Ancestors that own no token (e.g. an <c>Expr</c> statement whose span is exactly its <c>Call</c>) have
    /// nothing to reveal and are skipped.
    /// </summary>
    public static int[] FullChain(ProbeTokens tokens, int token, IReadOnlyDictionary<int, int> representatives)
    {
        var chain = new List<int>();
        foreach (int ancestor in tokens.AncestorsOfToken[token])
            if (representatives.TryGetValue(ancestor, out int representative)) chain.Add(representative);
        return chain.ToArray();
    }

    /// <summary>
    /// Every eligible target among the first <paramref name="window"/> tokens: an identifier token whose node has at
    /// least <paramref name="k"/> positioned ancestors below the Module with a representative token; the chain is
    /// the representatives of the k nearest of them, nearest first.
    /// </summary>
    public static List<ProbeTarget> Targets(ProbeTokens tokens, int k, int window)
    {
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(k), "K must be at least 1");
        var representatives = Representatives(tokens, window);
        var targets = new List<ProbeTarget>();
        for (int i = 0; i < Math.Min(window, tokens.Count); i++)
        {
            if (!tokens.Identifier[i] || tokens.NodeOfToken[i] < 0) continue;
            int[] chain = FullChain(tokens, i, representatives);
            if (chain.Length >= k) targets.Add(new ProbeTarget(i, chain[..k]));
        }
        return targets;
    }

    /// <summary>
    /// The positions revealed after <paramref name="k"/> hints in <paramref name="order"/>: a prefix of the chain
    /// (in-out), of the reversed chain (out-in), or of <paramref name="randomPool"/> — a random permutation of masked
    /// positions outside the chain and the target, drawn once per noisy sample so the sets are nested in k.
    /// </summary>
    public static int[] Revealed(RevealOrder order, int[] chain, int[] randomPool, int k)
    {
        var source = order switch
        {
            RevealOrder.InOut => chain,
            RevealOrder.OutIn => chain.Reverse().ToArray(),
            _ => randomPool,
        };
        if (k < 0 || k > source.Length) throw new ArgumentOutOfRangeException(nameof(k), $"k = {k} outside 0..{source.Length}");
        return source[..k];
    }

    /// <summary>
    /// The random pool: the positions masked in <paramref name="masked"/> that are neither the target nor in the
    /// chain, shuffled (Fisher–Yates with <paramref name="random"/>).
    /// </summary>
    public static int[] RandomPool(bool[] masked, ProbeTarget target, Random random)
    {
        var excluded = new HashSet<int>(target.Chain) { target.Token };
        var pool = new List<int>();
        for (int i = 0; i < masked.Length; i++)
            if (masked[i] && !excluded.Contains(i)) pool.Add(i);
        var array = pool.ToArray();
        for (int i = array.Length - 1; i > 0; i--)
        {
            int j = random.Next(i + 1);
            (array[i], array[j]) = (array[j], array[i]);
        }
        return array;
    }
}
