using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace AnCoder.Anchoring.Shards;

/// <summary>Per-token flag bits stored in a shard.</summary>
[Flags]
public enum TokenFlags : byte
{
    None = 0,
    Keyword = 1,
    Identifier = 2,
    /// <summary>The token's source parsed (otherwise every anchor weight of the token is 0).</summary>
    Parsed = 4,
}

/// <summary>One sample to write: its token ids, per-token depth and flags, and how many leading tokens are prompt.</summary>
public sealed record ShardSample(int[] Ids, ushort[] Depths, TokenFlags[] Flags, int PromptLength);

/// <summary>
/// The shard file format (little-endian, memory-mappable; all arrays naturally aligned):
/// <code>
///   0  magic "ANCSHRD1" (8 bytes)
///   8  int32 version (1)            12 int32 vocab size
///  16  int64 sample count S         24 int64 token count N
///  32  SHA-256 of everything after the 64-byte header (32 bytes)
///  64  int64[S + 1]  token offset of each sample (offsets[0] = 0, offsets[S] = N)
///      int32[S]      prompt length of each sample (tokens)
///      int32[N]      token ids
///      uint16[N]     depth of each token (AnchorTree label)
///      uint8[N]      TokenFlags of each token
/// </code>
/// Weights for any (strategy, λ, ρ, d0) are computed from depth and flags at load time.
/// </summary>
public static class ShardFormat
{
    public const int HeaderSize = 64;
    public const int Version = 1;
    public static ReadOnlySpan<byte> Magic => "ANCSHRD1"u8;
    public const string Extension = ".ancshard";

    public static long FileLength(long samples, long tokens) => HeaderSize + 8 * (samples + 1) + 4 * samples + 4 * tokens + 2 * tokens + tokens;

    /// <summary>Writes a shard atomically (temp file, then rename); returns its SHA-256 (hex) and length.</summary>
    public static (string Sha256, long Length) Write(string path, IReadOnlyList<ShardSample> samples, int vocabSize)
    {
        long tokens = 0;
        foreach (var sample in samples) tokens += sample.Ids.Length;
        var payload = new byte[FileLength(samples.Count, tokens) - HeaderSize];
        var span = payload.AsSpan();
        int at = 0;
        long offset = 0;
        foreach (var sample in samples)
        {
            BinaryPrimitives.WriteInt64LittleEndian(span[at..], offset);
            at += 8;
            offset += sample.Ids.Length;
        }
        BinaryPrimitives.WriteInt64LittleEndian(span[at..], offset);
        at += 8;
        foreach (var sample in samples)
        {
            BinaryPrimitives.WriteInt32LittleEndian(span[at..], sample.PromptLength);
            at += 4;
        }
        foreach (var sample in samples)
        {
            MemoryMarshal.AsBytes(sample.Ids.AsSpan()).CopyTo(span[at..]);
            at += 4 * sample.Ids.Length;
        }
        foreach (var sample in samples)
        {
            MemoryMarshal.AsBytes(sample.Depths.AsSpan()).CopyTo(span[at..]);
            at += 2 * sample.Depths.Length;
        }
        foreach (var sample in samples)
        {
            MemoryMarshal.AsBytes(sample.Flags.AsSpan()).CopyTo(span[at..]);
            at += sample.Flags.Length;
        }
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("shards are little-endian");
        byte[] hash = SHA256.HashData(payload);
        var header = new byte[HeaderSize];
        Magic.CopyTo(header);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(8), Version);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(12), vocabSize);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(16), samples.Count);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(24), tokens);
        hash.CopyTo(header, 32);
        Tokenization.AtomicFile.Write(path, stream =>
        {
            stream.Write(header);
            stream.Write(payload);
        });
        return (Convert.ToHexStringLower(SHA256.HashData([.. header, .. payload])), HeaderSize + payload.Length);
    }
}

/// <summary>Raised when a shard file is truncated, corrupted or not a shard.</summary>
public sealed class ShardFormatException(string message) : Exception(message);

/// <summary>A memory-mapped, read-only view of one shard. Dispose to unmap.</summary>
public sealed unsafe class ShardReader : IDisposable
{
    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private readonly byte* _base;
    private readonly long _offsetsAt, _promptsAt, _idsAt, _depthsAt, _flagsAt;

    /// <param name="verifyChecksum">Hash the payload and compare with the header (reads the whole file once).</param>
    public ShardReader(string path, bool verifyChecksum = true)
    {
        Path = path;
        long length = new FileInfo(path).Length;
        if (length < ShardFormat.HeaderSize)
            throw new ShardFormatException($"{path}: truncated shard ({length} bytes, smaller than the {ShardFormat.HeaderSize}-byte header)");
        _file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        _view = _file.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
        byte* pointer = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
        _base = pointer + _view.PointerOffset;
        try
        {
            var header = new ReadOnlySpan<byte>(_base, ShardFormat.HeaderSize);
            if (!header[..8].SequenceEqual(ShardFormat.Magic)) throw new ShardFormatException($"{path}: not an AnCoder shard (bad magic)");
            int version = BinaryPrimitives.ReadInt32LittleEndian(header[8..]);
            if (version != ShardFormat.Version) throw new ShardFormatException($"{path}: shard version {version}, this build reads {ShardFormat.Version}");
            VocabSize = BinaryPrimitives.ReadInt32LittleEndian(header[12..]);
            SampleCount = BinaryPrimitives.ReadInt64LittleEndian(header[16..]);
            TokenCount = BinaryPrimitives.ReadInt64LittleEndian(header[24..]);
            if (SampleCount < 0 || TokenCount < 0 || SampleCount > length || TokenCount > length)
                throw new ShardFormatException($"{path}: corrupted header (samples {SampleCount}, tokens {TokenCount})");
            long expected = ShardFormat.FileLength(SampleCount, TokenCount);
            if (length < expected) throw new ShardFormatException($"{path}: truncated shard ({length} bytes, header promises {expected})");
            if (length > expected) throw new ShardFormatException($"{path}: corrupted shard ({length} bytes, header promises {expected})");
            _offsetsAt = ShardFormat.HeaderSize;
            _promptsAt = _offsetsAt + 8 * (SampleCount + 1);
            _idsAt = _promptsAt + 4 * SampleCount;
            _depthsAt = _idsAt + 4 * TokenCount;
            _flagsAt = _depthsAt + 2 * TokenCount;
            if (verifyChecksum)
            {
                using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                for (long at = ShardFormat.HeaderSize; at < length; at += 1 << 30)
                    sha.AppendData(new ReadOnlySpan<byte>(_base + at, (int)Math.Min(1 << 30, length - at)));
                if (!sha.GetHashAndReset().AsSpan().SequenceEqual(header.Slice(32, 32)))
                    throw new ShardFormatException($"{path}: corrupted shard (checksum mismatch)");
            }
            if (SampleOffset(0) != 0 || SampleOffset(SampleCount) != TokenCount)
                throw new ShardFormatException($"{path}: corrupted sample offsets");
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string Path { get; }
    public int VocabSize { get; }
    public long SampleCount { get; }
    public long TokenCount { get; }

    public long SampleOffset(long sample) => ((long*)(_base + _offsetsAt))[sample];
    public int PromptLength(long sample) => ((int*)(_base + _promptsAt))[sample];

    /// <summary>Token range [start, end) of a sample (indices into <see cref="Ids"/>).</summary>
    public (long Start, long End) SampleRange(long sample)
    {
        long start = SampleOffset(sample), end = SampleOffset(sample + 1);
        if (start < 0 || end < start || end > TokenCount) throw new ShardFormatException($"{Path}: corrupted offsets of sample {sample}");
        return (start, end);
    }

    public ReadOnlySpan<int> Ids(long start, int count) => new((int*)(_base + _idsAt) + Check(start, count), count);
    public ReadOnlySpan<ushort> Depths(long start, int count) => new((ushort*)(_base + _depthsAt) + Check(start, count), count);
    public ReadOnlySpan<TokenFlags> Flags(long start, int count) => new((TokenFlags*)(_base + _flagsAt) + Check(start, count), count);

    private long Check(long start, int count)
    {
        if (start < 0 || count < 0 || start + count > TokenCount) throw new ArgumentOutOfRangeException(nameof(start));
        return start;
    }

    private bool _disposed;

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_base != null) _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _file.Dispose();
    }
}
