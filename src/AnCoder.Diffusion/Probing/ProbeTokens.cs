using AnCoder.Anchoring.Labels;
using AnCoder.Syntax.Ast;

namespace AnCoder.Diffusion.Probing;

/// <summary>
/// The AST facts the probe needs about one tokenised source (docs/algorithms.md §6, §8), as plain arrays so the selection
/// logic is pure: node(i) as an index (-1 = Module), the positioned strict ancestors of node(i) below the Module
/// (nearest first) and the identifier flag.
/// </summary>
/// <param name="Ids">Token ids.</param>
/// <param name="NodeOfToken">node(i) as a node index; -1 when node(i) is the Module.</param>
/// <param name="AncestorsOfToken">Positioned strict ancestors of node(i) below the Module, nearest first (node indices).</param>
/// <param name="Identifier">The token overlaps a NAME that is not a hard keyword.</param>
public sealed record ProbeTokens(int[] Ids, int[] NodeOfToken, int[][] AncestorsOfToken, bool[] Identifier)
{
    public int Count => Ids.Length;

    /// <summary>
    /// From a labelled source (null when it did not parse: no anchors, nothing to probe). Node indices are assigned in
    /// token order of first appearance; only positioned nodes are kept in ancestor lists, since a token's node is
    /// always positioned and nodes such as <c>arguments</c> own no token.
    /// </summary>
    public static ProbeTokens? From(LabelledSource source)
    {
        if (!source.Parsed) return null;
        var labels = source.Labels;
        var index = new Dictionary<Node, int>(ReferenceEqualityComparer.Instance);
        int IndexOf(Node node)
        {
            if (!index.TryGetValue(node, out int i)) index[node] = i = index.Count;
            return i;
        }
        var ids = new int[labels.Length];
        var nodes = new int[labels.Length];
        var ancestors = new int[labels.Length][];
        var identifier = new bool[labels.Length];
        var ancestorCache = new Dictionary<Node, int[]>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < labels.Length; i++)
        {
            ids[i] = labels[i].Id;
            identifier[i] = labels[i].Identifier;
            Node? node = source.NodeOf(i);
            nodes[i] = node is null ? -1 : IndexOf(node);
            if (node is null) { ancestors[i] = []; continue; }
            if (!ancestorCache.TryGetValue(node, out int[]? chain))
            {
                chain = source.AncestorsOf(i).Where(a => a is PositionedNode).Select(IndexOf).ToArray();
                ancestorCache[node] = chain;
            }
            ancestors[i] = chain;
        }
        return new ProbeTokens(ids, nodes, ancestors, identifier);
    }
}
