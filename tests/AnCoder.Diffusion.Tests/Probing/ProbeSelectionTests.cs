using AnCoder.Diffusion.Probing;

namespace AnCoder.Diffusion.Tests.Probing;

/// <summary>
/// Targets, chains and reveal orders on a hand-built token/node table (no parser, no tokenizer), so every expected
/// value is read off the table below.
/// </summary>
public sealed class ProbeSelectionTests
{
    // Nodes: 0 = def (FunctionDef), 1 = for, 2 = if, 3 = compare, 4 = name, 5 = name, 6 = name below 7, 7 = a node
    // that owns no token (like Expr around a Call).
    //  token  node  identifier  ancestors (nearest first, positioned, below Module)
    //  0      0     no          -
    //  1      0     yes         -
    //  2      1     no          0
    //  3      2     no          1 0
    //  4      4     yes         3 2 1 0
    //  5      3     no          2 1 0
    //  6      5     yes         3 2 1 0
    //  7      6     yes         7 2 1 0
    internal static ProbeTokens HandTable() => new(
        Ids: [10, 11, 12, 13, 14, 15, 16, 17],
        NodeOfToken: [0, 0, 1, 2, 4, 3, 5, 6],
        AncestorsOfToken: [[], [], [0], [1, 0], [3, 2, 1, 0], [2, 1, 0], [3, 2, 1, 0], [7, 2, 1, 0]],
        Identifier: [false, true, false, false, true, false, true, true]);

    [Fact]
    public void Representatives_are_the_first_token_of_each_node()
    {
        var representatives = ProbeSelection.Representatives(HandTable(), window: 8);
        Assert.Equal(new Dictionary<int, int> { [0] = 0, [1] = 2, [2] = 3, [4] = 4, [3] = 5, [5] = 6, [6] = 7 }, representatives);
    }

    [Fact]
    public void With_K_3_every_identifier_with_three_represented_ancestors_is_a_target()
    {
        var targets = ProbeSelection.Targets(HandTable(), k: 3, window: 8);
        Assert.Equal([4, 6, 7], targets.Select(t => t.Token));
        Assert.Equal([5, 3, 2], targets[0].Chain); // compare, if, for: the three nearest
        Assert.Equal([5, 3, 2], targets[1].Chain);
        Assert.Equal([3, 2, 0], targets[2].Chain); // node 7 owns no token and is skipped
    }

    [Fact]
    public void With_K_4_the_token_below_a_tokenless_ancestor_has_too_short_a_chain()
    {
        var targets = ProbeSelection.Targets(HandTable(), k: 4, window: 8);
        Assert.Equal([4, 6], targets.Select(t => t.Token));
        Assert.Equal([5, 3, 2, 0], targets[0].Chain);
    }

    [Fact]
    public void The_window_limits_targets_and_representatives()
    {
        // Only tokens 0..4 are seen: the compare node's token (5) is outside, so token 4's chain skips it.
        var targets = ProbeSelection.Targets(HandTable(), k: 3, window: 5);
        var target = Assert.Single(targets);
        Assert.Equal(4, target.Token);
        Assert.Equal([3, 2, 0], target.Chain);
    }

    [Fact]
    public void In_out_reveals_the_nearest_first_and_out_in_the_farthest_first()
    {
        int[] chain = [5, 3, 2, 0];
        int[] pool = [1, 7, 6];
        Assert.Empty(ProbeSelection.Revealed(RevealOrder.InOut, chain, pool, 0));
        Assert.Equal([5, 3], ProbeSelection.Revealed(RevealOrder.InOut, chain, pool, 2));
        Assert.Equal([0, 2], ProbeSelection.Revealed(RevealOrder.OutIn, chain, pool, 2));
        Assert.Equal([0, 2, 3, 5], ProbeSelection.Revealed(RevealOrder.OutIn, chain, pool, 4));
        Assert.Equal([1, 7], ProbeSelection.Revealed(RevealOrder.Random, chain, pool, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => ProbeSelection.Revealed(RevealOrder.Random, chain, pool, 4));
    }

    [Fact]
    public void The_random_pool_is_the_masked_positions_outside_target_and_chain()
    {
        var target = new ProbeTarget(4, [5, 3, 2, 0]);
        bool[] masked = [true, true, false, true, true, true, true, false];
        var pool = ProbeSelection.RandomPool(masked, target, new Random(1));
        Assert.Equal([1, 6], pool.Order());
    }

    [Fact]
    public void No_order_ever_reveals_the_target_and_random_never_touches_the_chain()
    {
        var tokens = HandTable();
        var random = new Random(7);
        foreach (int k in new[] { 1, 2, 3, 4 })
            foreach (var target in ProbeSelection.Targets(tokens, k, 8))
                for (int draw = 0; draw < 50; draw++)
                {
                    var masked = Enumerable.Range(0, tokens.Count).Select(_ => random.NextDouble() < 0.8).ToArray();
                    masked[target.Token] = true;
                    foreach (int c in target.Chain) masked[c] = true;
                    var pool = ProbeSelection.RandomPool(masked, target, random);
                    foreach (var order in ProbeSelection.Orders)
                        for (int hints = 0; hints <= Math.Min(k, order == RevealOrder.Random ? pool.Length : k); hints++)
                        {
                            var revealed = ProbeSelection.Revealed(order, target.Chain, pool, hints);
                            Assert.DoesNotContain(target.Token, revealed);
                            Assert.Equal(hints, revealed.Distinct().Count());
                            if (order == RevealOrder.Random) Assert.Empty(revealed.Intersect(target.Chain));
                            else Assert.Equal(hints, revealed.Intersect(target.Chain).Count());
                        }
                }
    }
}
