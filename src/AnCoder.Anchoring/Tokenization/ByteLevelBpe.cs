using System.Collections.Concurrent;
using System.Text;

namespace AnCoder.Anchoring.Tokenization;

/// <summary>One token of an encoding: its id and the UTF-8 byte range [Start, End) it covers in the input.</summary>
public readonly record struct BpeToken(int Id, int Start, int End);

/// <summary>
/// A byte-level BPE (GPT-2 / Qwen2 style) that encodes bytes, not strings: every token carries its byte span, the
/// tokens tile the input, and <c>Decode(Encode(x)) == x</c> for any byte sequence. Ids equal those of Hugging Face
/// tokenizers (and of Microsoft.ML.Tokenizers, the test oracle) on text with no special-token strings: encoding raw source
/// never produces special tokens, so a file that contains the text <c>&lt;|endoftext|&gt;</c> is encoded as text.
/// Thread-safe.
/// </summary>
public sealed class ByteLevelBpe
{
    private readonly byte[][] _tokenBytes;
    private readonly int[] _byteIds = new int[256];
    /// <summary>(left id, right id) → (merge rank, merged id).</summary>
    private readonly Dictionary<long, (int Rank, int Id)> _merges;
    private readonly ConcurrentDictionary<string, int[]> _cache = new();
    private const int MaxCacheEntries = 1 << 20;

    public ByteLevelBpe(IReadOnlyList<byte[]?> tokenBytes, IReadOnlyList<(int Left, int Right)> merges,
        IReadOnlyDictionary<string, int> specialTokens, PreTokenizer preTokenizer)
    {
        _tokenBytes = new byte[tokenBytes.Count][];
        var idOfBytes = new Dictionary<string, int>(tokenBytes.Count);
        Array.Fill(_byteIds, -1);
        for (int id = 0; id < tokenBytes.Count; id++)
        {
            byte[]? bytes = tokenBytes[id];
            _tokenBytes[id] = bytes ?? [];
            if (bytes is null || specialTokens.Values.Contains(id)) continue;
            if (bytes.Length == 1 && _byteIds[bytes[0]] < 0) _byteIds[bytes[0]] = id;
            idOfBytes.TryAdd(Latin1(bytes), id);
        }
        for (int b = 0; b < 256; b++)
        {
            if (_byteIds[b] < 0) throw new InvalidDataException($"vocabulary has no token for byte 0x{b:X2}: not a byte-level BPE");
        }
        _merges = new Dictionary<long, (int, int)>(merges.Count);
        for (int rank = 0; rank < merges.Count; rank++)
        {
            var (left, right) = merges[rank];
            byte[] joined = [.. _tokenBytes[left], .. _tokenBytes[right]];
            if (!idOfBytes.TryGetValue(Latin1(joined), out int merged))
                throw new InvalidDataException($"merge {rank} produces a token that is not in the vocabulary");
            _merges.TryAdd(Key(left, right), (rank, merged));
        }
        SpecialTokens = specialTokens;
        PreTokenizer = preTokenizer;
        MergeCount = merges.Count;
    }

    public IReadOnlyDictionary<string, int> SpecialTokens { get; }
    public PreTokenizer PreTokenizer { get; }
    public int VocabSize => _tokenBytes.Length;
    public int MergeCount { get; }

    public int EndOfTextId => SpecialTokens.TryGetValue(SpecialTokenNames.EndOfText, out int id) ? id : -1;
    public int MaskId => SpecialTokens.TryGetValue(SpecialTokenNames.Mask, out int id) ? id : -1;
    public int PadId => SpecialTokens.TryGetValue(SpecialTokenNames.Pad, out int id) ? id : -1;

    public ReadOnlySpan<byte> TokenBytes(int id) => _tokenBytes[id];

    /// <summary>The token's text for display: special tokens by name, others as their bytes decoded (lossy).</summary>
    public string TokenText(int id) => Encoding.UTF8.GetString(_tokenBytes[id]);

    public List<BpeToken> Encode(ReadOnlySpan<byte> input)
    {
        var tokens = new List<BpeToken>(input.Length / 3 + 4);
        Encode(input, tokens);
        return tokens;
    }

    public List<BpeToken> Encode(string text) => Encode(Encoding.UTF8.GetBytes(text));

    public void Encode(ReadOnlySpan<byte> input, List<BpeToken> output)
    {
        var pieces = PreTokenizer.Split(input);
        foreach (var (start, end) in pieces) EncodePiece(input[start..end], start, output);
    }

    public int[] EncodeToIds(ReadOnlySpan<byte> input)
    {
        var tokens = Encode(input);
        var ids = new int[tokens.Count];
        for (int i = 0; i < ids.Length; i++) ids[i] = tokens[i].Id;
        return ids;
    }

    public byte[] Decode(IEnumerable<int> ids)
    {
        var buffer = new List<byte>();
        foreach (int id in ids) buffer.AddRange(_tokenBytes[id]);
        return buffer.ToArray();
    }

    private void EncodePiece(ReadOnlySpan<byte> piece, int offset, List<BpeToken> output)
    {
        if (piece.Length == 1)
        {
            output.Add(new BpeToken(_byteIds[piece[0]], offset, offset + 1));
            return;
        }
        string key = Latin1(piece);
        if (!_cache.TryGetValue(key, out int[]? ids))
        {
            ids = MergePiece(piece);
            if (_cache.Count >= MaxCacheEntries) _cache.Clear();
            _cache.TryAdd(key, ids);
        }
        int pos = offset;
        foreach (int id in ids)
        {
            int next = pos + _tokenBytes[id].Length;
            output.Add(new BpeToken(id, pos, next));
            pos = next;
        }
    }

    /// <summary>Applies merges lowest rank first (Hugging Face's BPE word merge), left-most occurrence first on ties.</summary>
    private int[] MergePiece(ReadOnlySpan<byte> piece)
    {
        var symbols = new List<int>(piece.Length);
        foreach (byte b in piece) symbols.Add(_byteIds[b]);
        while (symbols.Count > 1)
        {
            int bestRank = int.MaxValue, bestAt = -1, bestId = -1;
            for (int i = 0; i + 1 < symbols.Count; i++)
            {
                if (_merges.TryGetValue(Key(symbols[i], symbols[i + 1]), out var merge) && merge.Rank < bestRank)
                {
                    bestRank = merge.Rank; bestAt = i; bestId = merge.Id;
                }
            }
            if (bestAt < 0) break;
            symbols[bestAt] = bestId;
            symbols.RemoveAt(bestAt + 1);
        }
        return symbols.ToArray();
    }

    internal static long Key(int left, int right) => ((long)left << 32) | (uint)right;

    internal static string Latin1(ReadOnlySpan<byte> bytes) => Encoding.Latin1.GetString(bytes);

    /// <summary>SHA-256 of the vocabulary, merges and special tokens: identifies the tokenizer in manifests.</summary>
    public string ComputeHash()
    {
        using var sha = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        foreach (var bytes in _tokenBytes)
        {
            sha.AppendData(BitConverter.GetBytes(bytes.Length));
            sha.AppendData(bytes);
        }
        foreach (var (key, value) in _merges.OrderBy(m => m.Value.Rank))
        {
            sha.AppendData(BitConverter.GetBytes(key));
        }
        foreach (var (name, id) in SpecialTokens.OrderBy(s => s.Value))
        {
            sha.AppendData(Encoding.UTF8.GetBytes(name));
            sha.AppendData(BitConverter.GetBytes(id));
        }
        sha.AppendData(Encoding.UTF8.GetBytes(PreTokenizer.Pattern));
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }
}

/// <summary>The special tokens our trained tokenizers carry.</summary>
public static class SpecialTokenNames
{
    public const string EndOfText = "<|endoftext|>";
    public const string Mask = "<|mask|>";
    public const string Pad = "<|pad|>";
}
