using AnCoder.Anchoring.Labels;
using AnCoder.Anchoring.Tokenization;

namespace AnCoder.Diffusion.Sampling;

/// <summary>
/// Depth weights for <see cref="UnmaskOrder.AnchorDepth"/>: the AnchorTree label weight ρ^max(0, depth − d0)
/// (docs/algorithms.md §5; λ is common to every anchor and drops out of an order) at an AST depth estimated from the
/// canvas's indentation, since a canvas that is still mostly masked cannot be parsed. A statement on a line indented
/// k levels (4 columns a level, a tab to the next multiple of 8) sits at AST depth k + 1 under Module (a top-level
/// <c>def</c> at 1, its body's <c>return</c> at 2: the labels' worked example), so a position's depth is estimated as
/// 1 + the indentation level of its line. The line's indentation is read from the decided tokens left of the
/// position back to the last newline; when a mask interrupts the leading whitespace of a line, the line is assumed
/// to be indented at least as deep as the line before it (docs/decoding.md says where this is approximate).
/// </summary>
public sealed class AnchorDepthWeights
{
    /// <summary>Columns of one indentation level.</summary>
    public const int IndentWidth = 4;

    private readonly bool[] _hasNewline;     // the token holds a '\n'
    private readonly int[] _leadingColumns;   // whitespace columns at its start (after its last '\n' when it holds one)
    private readonly bool[] _allWhitespace;   // nothing but spaces/tabs there (after its last '\n')

    public AnchorWeightOptions Weights { get; }

    public AnchorDepthWeights(IReadOnlyList<byte[]> tokenBytes, AnchorWeightOptions weights)
    {
        Weights = weights;
        int n = tokenBytes.Count;
        (_hasNewline, _leadingColumns, _allWhitespace) = (new bool[n], new int[n], new bool[n]);
        for (int id = 0; id < n; id++)
        {
            var bytes = tokenBytes[id];
            int from = Array.LastIndexOf(bytes, (byte)'\n') + 1;
            _hasNewline[id] = from > 0;
            int columns = 0, k = from;
            for (; k < bytes.Length && bytes[k] is (byte)' ' or (byte)'\t'; k++) columns = bytes[k] == '\t' ? (columns / 8 + 1) * 8 : columns + 1;
            _leadingColumns[id] = columns;
            _allWhitespace[id] = k == bytes.Length;
        }
    }

    /// <summary>The table of a tokenizer with the weights of <paramref name="weights"/> (ρ, d0).</summary>
    public static AnchorDepthWeights Build(ByteLevelBpe tokenizer, AnchorWeightOptions weights) =>
        new(Enumerable.Range(0, tokenizer.VocabSize).Select(id => tokenizer.TokenBytes(id).ToArray()).ToList(), weights);

    /// <summary>ρ^max(0, depth − d0): the AnchorTree label weight over λ.</summary>
    public double Weight(int depth) => Math.Pow(Weights.Rho, Math.Max(0, depth - Weights.D0));

    /// <summary>Per position, the estimated AST depth of the line it sits on (1 + its indentation level).</summary>
    public int[] EstimateDepths(int[] ids, int maskId)
    {
        var depths = new int[ids.Length];
        int indent = 0, previousLine = 0;
        bool inLeadingWhitespace = true;   // still reading the current line's indentation
        for (int i = 0; i < ids.Length; i++)
        {
            depths[i] = 1 + indent / IndentWidth;
            int id = ids[i];
            if (id == maskId || id < 0 || id >= _hasNewline.Length)
            {
                // Unknown text: a line whose indentation it interrupts is taken as deep as the line before it.
                if (inLeadingWhitespace) indent = Math.Max(indent, previousLine);
                inLeadingWhitespace = false;
                continue;
            }
            if (_hasNewline[id])
            {
                previousLine = indent;
                indent = _leadingColumns[id];
                inLeadingWhitespace = _allWhitespace[id];
            }
            else if (inLeadingWhitespace)
            {
                indent += _leadingColumns[id];
                inLeadingWhitespace = _allWhitespace[id];
            }
        }
        return depths;
    }
}
