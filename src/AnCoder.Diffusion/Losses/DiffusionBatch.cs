using static TorchSharp.torch;

namespace AnCoder.Diffusion.Losses;

/// <summary>
/// A training batch as tensors, all [B, L]: clean <see cref="Ids"/> (int64), soft anchor weights γ
/// (<see cref="AnchorWeights"/>, fp32; docs/algorithms.md §5), <see cref="Conditioning"/> (bool; prompt positions: never
/// masked, no loss) and <see cref="Valid"/> (bool; false on padding). Loss positions = Valid ∧ ¬Conditioning.
/// Dispose it (or create it inside a dispose scope) to free the tensors.
/// </summary>
public sealed record DiffusionBatch(Tensor Ids, Tensor AnchorWeights, Tensor Conditioning, Tensor Valid) : IDisposable
{
    public long Rows => Ids.shape[0];
    public long Length => Ids.shape[1];

    /// <summary>Converts a loader batch (row-major B×L arrays) to tensors on the CPU.</summary>
    public static DiffusionBatch FromLoaderBatch(AnCoder.Anchoring.Shards.Batch batch)
    {
        long[] shape = [batch.Rows, batch.Length];
        long count = (long)batch.Rows * batch.Length;
        foreach (var (name, length) in new[] { ("Ids", batch.Ids.LongLength), ("Weights", batch.Weights.LongLength),
                     ("PromptMask", batch.PromptMask.LongLength), ("Valid", batch.Valid.LongLength) })
            if (length != count)
                throw new ArgumentException($"batch.{name} has {length} entries, expected Rows×Length = {count}");
        using var scope = NewDisposeScope();
        var ids = tensor(batch.Ids, shape).to(ScalarType.Int64);
        var weights = tensor(batch.Weights, shape);
        var conditioning = tensor(batch.PromptMask, shape);
        var valid = tensor(batch.Valid, shape);
        return new DiffusionBatch(ids.MoveToOuterDisposeScope(), weights.MoveToOuterDisposeScope(),
            conditioning.MoveToOuterDisposeScope(), valid.MoveToOuterDisposeScope());
    }

    /// <summary>Positions that carry loss: valid (not padding) and not conditioning. bool [B, L].</summary>
    public Tensor LossPositions()
    {
        using var scope = NewDisposeScope();
        return Valid.logical_and(Conditioning.logical_not()).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        Ids.Dispose();
        AnchorWeights.Dispose();
        Conditioning.Dispose();
        Valid.Dispose();
    }
}
