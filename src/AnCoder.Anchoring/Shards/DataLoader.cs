using AnCoder.Anchoring.Labels;

namespace AnCoder.Anchoring.Shards;

/// <summary>How samples become rows of the context length.</summary>
public enum PackingMode
{
    /// <summary>Concatenate samples, each followed by end-of-text, and cut the stream into rows of L tokens
    /// (the last partial row is padded).</summary>
    Pack,
    /// <summary>One sample per row: truncated to L tokens, padded when shorter.</summary>
    Truncate,
    /// <summary>
    /// Supervised fine-tuning (<c>train --sft</c>, docs/corpus.md): one prompt–completion pair per row, truncated to
    /// L tokens; the prompt is conditioning (never masked, no loss) and the rest of the row after the completion is
    /// end-of-text tokens that are part of the completion (valid, with loss, γ = 0), as in LLaDA's SFT: the model
    /// learns where a completion ends and what fills a longer canvas. There is no padding.
    /// </summary>
    Sft,
}

/// <summary>A batch, row-major B×L: ids, anchor weights γ, prompt mask (conditioning: never masked, no loss) and
/// valid mask (false on padding).</summary>
public sealed record Batch(int Rows, int Length, int[] Ids, float[] Weights, bool[] PromptMask, bool[] Valid);

/// <summary>
/// Random batches from shards, deterministic given the seed: each epoch visits every row once in an order drawn by
/// <c>new Random(seed + epoch)</c> (Fisher–Yates). Weights come from the stored depth and flags for any
/// (strategy, λ, ρ, d0). End-of-text separators and padding have weight 0.
/// </summary>
public sealed class DataLoader
{
    private readonly IReadOnlyList<ShardReader> _shards;
    private readonly AnchorWeightOptions _weights;
    private readonly int _eosId, _padId;
    private readonly PackingMode _mode;
    // Global sample index -> (shard, sample); stream start of each sample (Pack: length + 1 for the separator).
    private readonly (int Shard, long Sample)[] _samples;
    private readonly long[] _streamStart;
    private readonly long _rowCount;
    private readonly int _seed;
    private long[] _order = [];
    private int _epoch = -1;
    private long _cursor;

    public DataLoader(IReadOnlyList<ShardReader> shards, int contextLength, int batchSize, int seed,
        AnchorWeightOptions weights, int eosId, int padId, PackingMode mode = PackingMode.Pack)
    {
        if (contextLength <= 0 || batchSize <= 0) throw new ArgumentException("context length and batch size must be positive");
        _shards = shards;
        ContextLength = contextLength;
        BatchSize = batchSize;
        _seed = seed;
        _weights = weights;
        _eosId = eosId;
        _padId = padId;
        _mode = mode;
        var samples = new List<(int, long)>();
        for (int s = 0; s < shards.Count; s++)
            for (long k = 0; k < shards[s].SampleCount; k++) samples.Add((s, k));
        _samples = samples.ToArray();
        _streamStart = new long[_samples.Length + 1];
        for (int i = 0; i < _samples.Length; i++)
        {
            var (shard, sample) = _samples[i];
            var (start, end) = shards[shard].SampleRange(sample);
            _streamStart[i + 1] = _streamStart[i] + (end - start) + 1;
        }
        _rowCount = mode == PackingMode.Pack ? (_streamStart[^1] + contextLength - 1) / contextLength : _samples.Length;
        if (mode == PackingMode.Sft && eosId < 0) throw new ArgumentException("SFT rows need an end-of-text id");
        if (_rowCount == 0) throw new InvalidOperationException("no tokens in the given shards");
    }

    public int ContextLength { get; }
    public int BatchSize { get; }
    public long RowCount => _rowCount;
    public int Epoch => Math.Max(0, _epoch);

    /// <summary>
    /// Where the next batch starts: (epoch, row cursor within it); (-1, 0) before the first batch. Setting a value
    /// read earlier makes the following batches identical to those that followed it (exact resume).
    /// </summary>
    public (int Epoch, long Cursor) Position
    {
        get => (_epoch, _cursor);
        set
        {
            if (value.Epoch < -1 || value.Cursor < 0 || value.Cursor > _rowCount || (value.Epoch == -1 && value.Cursor != 0))
                throw new ArgumentOutOfRangeException(nameof(value), $"loader position {value} is outside epoch >= 0, cursor in [0, {_rowCount}]");
            _epoch = value.Epoch - 1;
            if (value.Epoch >= 0) NewEpoch();
            _cursor = value.Cursor;
        }
    }

    /// <summary>The next batch; rows continue into the next epoch (new order) when one ends.</summary>
    public Batch NextBatch()
    {
        int rows = BatchSize, length = ContextLength;
        var batch = new Batch(rows, length, new int[rows * length], new float[rows * length], new bool[rows * length], new bool[rows * length]);
        for (int r = 0; r < rows; r++)
        {
            if (_epoch < 0 || _cursor >= _rowCount) NewEpoch();
            FillRow(_order[_cursor++], batch, r * length);
        }
        return batch;
    }

    /// <summary>Row <paramref name="row"/> in storage order (no shuffling), for evaluation.</summary>
    public Batch Row(long row)
    {
        var batch = new Batch(1, ContextLength, new int[ContextLength], new float[ContextLength], new bool[ContextLength], new bool[ContextLength]);
        FillRow(row, batch, 0);
        return batch;
    }

    private void NewEpoch()
    {
        _epoch++;
        _cursor = 0;
        if (_order.Length != _rowCount)
        {
            _order = new long[_rowCount];
        }
        for (long i = 0; i < _rowCount; i++) _order[i] = i;
        var random = new Random(unchecked(_seed + _epoch));
        for (long i = _rowCount - 1; i > 0; i--)
        {
            long j = random.NextInt64(i + 1);
            (_order[i], _order[j]) = (_order[j], _order[i]);
        }
    }

    private void FillRow(long row, Batch batch, int at)
    {
        int length = ContextLength;
        Array.Fill(batch.Ids, _padId, at, length);
        if (_mode == PackingMode.Truncate)
        {
            CopySample((int)row, 0, batch, at, length);
            return;
        }
        if (_mode == PackingMode.Sft)
        {
            int copied = CopySample((int)row, 0, batch, at, length);
            for (int i = copied; i < length; i++)
            {
                // PromptMask stays false and the weight 0: end-of-text after the completion carries (denoiser) loss.
                batch.Ids[at + i] = _eosId;
                batch.Valid[at + i] = true;
            }
            return;
        }
        long position = row * length, end = Math.Min(position + length, _streamStart[^1]);
        int sample = FindSample(position);
        int written = 0;
        while (position < end)
        {
            long offsetInSample = position - _streamStart[sample];
            int n = CopySample(sample, offsetInSample, batch, at + written, (int)(end - position));
            written += n;
            position += n;
            if (position < end)
            {
                // The end-of-text separator after the sample (weight 0).
                batch.Ids[at + written] = _eosId;
                batch.Valid[at + written] = true;
                written++;
                position++;
                sample++;
            }
        }
    }

    /// <summary>Copies up to <paramref name="max"/> tokens of a sample from <paramref name="offset"/>; returns the count.</summary>
    private int CopySample(int sample, long offset, Batch batch, int at, int max)
    {
        var (shardIndex, local) = _samples[sample];
        var shard = _shards[shardIndex];
        var (start, end) = shard.SampleRange(local);
        long available = end - start - offset;
        if (available <= 0) return 0;
        int n = (int)Math.Min(available, max);
        var ids = shard.Ids(start + offset, n);
        var depths = shard.Depths(start + offset, n);
        var flags = shard.Flags(start + offset, n);
        int prompt = shard.PromptLength(local);
        for (int i = 0; i < n; i++)
        {
            batch.Ids[at + i] = ids[i];
            batch.Valid[at + i] = true;
            batch.PromptMask[at + i] = offset + i < prompt;
            TokenFlags f = flags[i];
            batch.Weights[at + i] = (float)AnchorWeights.Weight(_weights, depths[i],
                (f & TokenFlags.Keyword) != 0, (f & TokenFlags.Identifier) != 0, (f & TokenFlags.Parsed) != 0);
        }
        return n;
    }

    private int FindSample(long position)
    {
        int lo = 0, hi = _samples.Length - 1;
        while (lo < hi)
        {
            int mid = (lo + hi + 1) >>> 1;
            if (_streamStart[mid] <= position) lo = mid; else hi = mid - 1;
        }
        return lo;
    }
}
