using static TorchSharp.torch;

namespace AnCoder.Diffusion.Losses;

/// <summary>
/// The left-to-right (suffix) forward process, our variant beside the paper's (docs/recipe.md §10). A chosen row keeps
/// a clean prefix and masks its whole completion from a cut c on, the state that left-to-right decoding with one
/// token per network call (<c>--order lefttoright --parallel 1</c>) puts the model in at every step. The loss counts
/// the first <c>block</c> masked positions c, c+1, … only, each with coefficient m / block, where m is the number of
/// places the cut could fall (the completion up to and including its first end-of-text). With block 1 that is
/// m·(−log p(x_c | x_&lt;c, rest masked)), whose expectation over the uniform cut is the completion's left-to-right
/// NLL: the reverse process of this masking is exactly that decoder. With block b &gt; 1 positions c+1… add the
/// predictions b−1 tokens ahead that confidence-parallel decoding uses. Rows not chosen keep the paper's
/// random-mask NELBO, so the model stays a masked diffusion model.
/// </summary>
public static class LeftToRightProcess
{
    /// <summary>One chosen row: the cut (first masked position) and the coefficient of each counted position.</summary>
    public readonly record struct RowPlan(int Cut, int Candidates, int[] Counted, double Coefficient);

    /// <summary>
    /// The plan of one row from its loss positions (valid, not prompt), clean ids, the end-of-text id, the block size
    /// and a uniform draw u ∈ [0, 1): the cut candidates are the loss positions from the first up to and including
    /// the first that holds end-of-text (the rest is end-of-text filling, which teaches nothing new), or every loss
    /// position when none does; the cut is candidate ⌊u·m⌋. Null when the row has no loss position.
    /// </summary>
    public static RowPlan? PlanRow(ReadOnlySpan<bool> lossPositions, ReadOnlySpan<long> ids, int eosId, int block, double u)
    {
        if (block < 1) throw new ArgumentOutOfRangeException(nameof(block), block, "block must be >= 1");
        if (!(u >= 0 && u < 1)) throw new ArgumentOutOfRangeException(nameof(u), u, "u must be in [0, 1)");
        var candidates = new List<int>();
        for (int i = 0; i < lossPositions.Length; i++)
        {
            if (!lossPositions[i]) continue;
            candidates.Add(i);
            if (ids[i] == eosId) break;
        }
        if (candidates.Count == 0) return null;
        int cut = candidates[(int)Math.Floor(u * candidates.Count)];
        var counted = new List<int>(block);
        for (int i = cut; i < lossPositions.Length && counted.Count < block; i++)
            if (lossPositions[i]) counted.Add(i);
        return new RowPlan(cut, candidates.Count, counted.ToArray(), (double)candidates.Count / counted.Count);
    }

    /// <summary>
    /// Applies the process to a fraction of the rows of z_t from the random-mask process. Row b is chosen when its
    /// draw is below <paramref name="fraction"/>; its z_t becomes the clean ids with every loss position from the cut
    /// on masked. Draws 2·B uniforms from <paramref name="generator"/> (the row choice, then the cut).
    /// </summary>
    public static LeftToRightRows Apply(DiffusionBatch batch, Tensor noisy, double fraction, int block, int maskId, int eosId,
        Generator? generator = null)
    {
        if (!(fraction > 0 && fraction <= 1)) throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "fraction must be in (0, 1]");
        using var scope = NewDisposeScope();
        int rows = (int)batch.Rows, length = (int)batch.Length;
        var choice = rand(rows, dtype: ScalarType.Float64, generator: generator).data<double>().ToArray();
        var cutDraws = rand(rows, dtype: ScalarType.Float64, generator: generator).data<double>().ToArray();
        var ids = batch.Ids.to(ScalarType.Int64).data<long>().ToArray();
        var loss = batch.LossPositions().data<bool>().ToArray();
        var noisyIds = noisy.to(ScalarType.Int64).data<long>().ToArray();
        var chosen = new bool[rows];
        var counted = new bool[rows * length];
        var coefficient = new float[rows * length];
        for (int b = 0; b < rows; b++)
        {
            if (choice[b] >= fraction) continue;
            int at = b * length;
            var plan = PlanRow(loss.AsSpan(at, length), ids.AsSpan(at, length), eosId, block, cutDraws[b]);
            if (plan is not { } p) continue;
            chosen[b] = true;
            for (int i = 0; i < length; i++)
                noisyIds[at + i] = loss[at + i] && i >= p.Cut ? maskId : ids[at + i];
            foreach (int i in p.Counted)
            {
                counted[at + i] = true;
                coefficient[at + i] = (float)p.Coefficient;
            }
        }
        long[] shape = [rows, length];
        return new LeftToRightRows(tensor(noisyIds, shape).MoveToOuterDisposeScope(), tensor(chosen).MoveToOuterDisposeScope(),
            tensor(counted, shape).MoveToOuterDisposeScope(), tensor(coefficient, shape).MoveToOuterDisposeScope());
    }
}

/// <summary>
/// The rows <see cref="LeftToRightProcess.Apply"/> chose: <see cref="Noisy"/> z_t for the whole batch (int64 [B, L];
/// rows not chosen unchanged), <see cref="Chosen"/> bool [B], the positions whose loss counts (<see cref="Counted"/>,
/// bool [B, L]) and their coefficients (fp32 [B, L], replacing w(t) in those rows). Dispose it to free the tensors.
/// </summary>
public sealed record LeftToRightRows(Tensor Noisy, Tensor Chosen, Tensor Counted, Tensor Coefficient) : IDisposable
{
    public void Dispose()
    {
        Noisy.Dispose();
        Chosen.Dispose();
        Counted.Dispose();
        Coefficient.Dispose();
    }
}
