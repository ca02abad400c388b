using AnCoder.Anchoring.Shards;

namespace AnCoder.Diffusion.Training;

/// <summary>
/// Reads the next loader batch on a background thread while the training step runs. Only plain arrays cross
/// threads: tensors are built by the caller on the training thread (dispose scopes are per thread).
/// <see cref="ConsumedPosition"/> is the loader position after the last batch handed out (what a checkpoint
/// stores), not the read-ahead position.
/// </summary>
public sealed class BatchPrefetcher : IDisposable
{
    private readonly DataLoader _loader;
    private Task<(Batch Batch, (int Epoch, long Cursor) After)>? _pending;

    public BatchPrefetcher(DataLoader loader)
    {
        _loader = loader;
        ConsumedPosition = loader.Position;
        _pending = ReadAhead();
    }

    public (int Epoch, long Cursor) ConsumedPosition { get; private set; }

    public Batch Take()
    {
        var (batch, after) = _pending!.GetAwaiter().GetResult();
        ConsumedPosition = after;
        _pending = ReadAhead();
        return batch;
    }

    private Task<(Batch, (int, long))> ReadAhead() => Task.Run(() =>
    {
        var batch = _loader.NextBatch();
        return (batch, _loader.Position);
    });

    public void Dispose()
    {
        try
        {
            _pending?.Wait();
        }
        catch (AggregateException)
        {
            // The read-ahead failed after the last Take; nobody needs its batch.
        }
        _pending = null;
    }
}
