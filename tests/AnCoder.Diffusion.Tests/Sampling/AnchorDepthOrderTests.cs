using System.Text;
using AnCoder.Anchoring.Labels;
using AnCoder.Diffusion.Sampling;

namespace AnCoder.Diffusion.Tests.Sampling;

/// <summary>Depth-weighted anchor-first unmasking (issue 17 item 3, second half) on hand-made logits.</summary>
[Collection(TorchCollection.Name)]
public sealed class AnchorDepthOrderTests
{
    private const int Mask = 1;
    // 0 "\n", 1 mask, 2 "\n        " (a newline and two levels), 3 "    ", 4 "(", 5 "x", 6 "if", 7 "\t", 8 "+", 9 "y = 1\n  "
    private static readonly byte[][] TokenBytes = new[] { "\n", "<mask>", "\n        ", "    ", "(", "x", "if", "\t", "+", "y = 1\n  " }
        .Select(Encoding.UTF8.GetBytes).ToArray();
    private static readonly bool[] Anchors = [.. TokenBytes.Select((b, id) => id != Mask && AnchorTokenTable.IsAnchor(b))];

    private static AnchorDepthWeights Depths(double rho = 0.8, int d0 = 2) =>
        new(TokenBytes, AnchorWeightOptions.Defaults(AnchorStrategy.AnchorTree, rho: rho, d0: d0));

    [Fact]
    public void Depth_is_one_plus_the_indentation_level_of_the_line()
    {
        var depths = Depths();
        Assert.Equal([false, false, false, false, false, true, true, false, false, true], Anchors);
        // "if x\n" "        x (" "\n" [mask] "x" : the masked line start is taken as deep as the line before.
        int[] ids = [6, 5, 2, 5, 4, 0, Mask, 5, 0, 3, 3, 3, 6, 0, 7, 3, 5, 9, 5];
        Assert.Equal(
            //  if x  \n⋯  x  (  \n  M  x  \n  ␣4 ␣4 ␣4 if \n \t ␣4 x  "y = 1\n  " x
            new[] { 1, 1, 1, 3, 3, 3, 1, 3, 3, 1, 2, 3, 4, 4, 1, 3, 4, 4, 1 },
            depths.EstimateDepths(ids, Mask));
        Assert.Equal(1.0, depths.Weight(1));
        Assert.Equal(1.0, depths.Weight(2));
        Assert.Equal(0.8 * 0.8, depths.Weight(4), 12);   // ρ^(4 − d0)
    }

    [Fact]
    public void Shallow_anchors_come_before_deeper_more_confident_ones_then_the_rest()
    {
        // Line 1 (depth 1): positions 1..4 predict "x" with p ≈ 0.45. Line 2 (two levels in, depth 3): positions
        // 6..9 predict "if" with p ≈ 0.7. Positions 10..13 predict "+" (not an anchor) with p ≈ 0.99.
        const int length = 14;
        var table = new double[length, TokenBytes.Length];
        for (int i = 0; i < length; i++)
        {
            (int token, double peak) = i < 5 ? (5, 2.0) : i < 10 ? (6, 3.0) : (8, 7.0);
            for (int v = 0; v < TokenBytes.Length; v++) table[i, v] = v == token ? peak : 0.01 * v;
        }
        int[] ids = [0, Mask, Mask, Mask, Mask, 2, Mask, Mask, Mask, Mask, Mask, Mask, Mask, Mask];
        var frozen = ids.Select(id => id != Mask).ToArray();
        var canvas = new Canvas(ids, frozen, 3);
        var options = new SamplerOptions { Steps = 24, Remask = RemaskOptions.None, Temperature = 0, AnchorTokens = Anchors, AnchorDepths = Depths(rho: 0.5, d0: 0) };

        List<int> RevealOrder(UnmaskOrder order)
        {
            var observer = new RecordingObserver();
            new DiffusionSampler(new FakeDenoiser(table), options with { Order = order }).Sample([canvas], observer);
            return observer.Steps.SelectMany(s => s.Changes[0].Select(c => c.Position)).ToList();
        }
        // Plain anchor order: the more confident deep anchors first. Depth-weighted: the shallow line first
        // (1 + 0.5·(1 + 0.45) > 1 + 0.125·(1 + 0.7)), and every anchor before the confident non-anchors.
        var plain = RevealOrder(UnmaskOrder.Anchor);
        var weighted = RevealOrder(UnmaskOrder.AnchorDepth);
        Assert.All(plain.Take(4), p => Assert.InRange(p, 6, 9));
        Assert.All(weighted.Take(4), p => Assert.InRange(p, 1, 4));
        Assert.All(weighted.Skip(4).Take(4), p => Assert.InRange(p, 6, 9));
        Assert.All(weighted.Skip(8), p => Assert.InRange(p, 10, 13));
        Assert.Equal(12, weighted.Count);
    }

    [Fact]
    public void The_depth_order_needs_its_tables()
    {
        var problems = new SamplerOptions { Order = UnmaskOrder.AnchorDepth, AnchorTokens = Anchors }.Validate();
        Assert.Contains(problems, p => p.Contains("depth table"));
        Assert.Empty(new SamplerOptions { Order = UnmaskOrder.AnchorDepth, AnchorTokens = Anchors, AnchorDepths = Depths() }.Validate());
    }
}
