using System.Collections.Concurrent;

namespace AnCoder.Anchoring.Tokenization;

/// <summary>
/// Trains a byte-level BPE (no .NET package does). Layout of the result: ids 0, 1, 2 are the special tokens
/// <c>&lt;|endoftext|&gt;</c>, <c>&lt;|mask|&gt;</c>, <c>&lt;|pad|&gt;</c>; ids 3..258 the 256 single bytes in byte
/// order; then one id per merge, in merge order, up to the vocabulary size.
/// Algorithm: pre-tokenize every document with the Qwen2 regex, count distinct pieces, then repeatedly merge the
/// most frequent adjacent pair, with pair counts kept incrementally and a lazy max-heap.
/// Tie rule (also in tests/AnCoder.Anchoring.Tests/Reference/bpe_reference.py): highest count, then the smallest
/// (left id, right id). Pairs seen fewer than <see cref="MinPairCount"/> times are never merged. When a merge
/// produces bytes that already have a token, the merge is recorded and reuses that id (as Hugging Face's trainer).
/// </summary>
public sealed class BpeTrainer
{
    public static readonly string[] DefaultSpecialTokens = [SpecialTokenNames.EndOfText, SpecialTokenNames.Mask, SpecialTokenNames.Pad];

    public int VocabSize { get; init; } = 8192;
    public int MinPairCount { get; init; } = 2;
    public IReadOnlyList<string> SpecialTokens { get; init; } = DefaultSpecialTokens;
    public PreTokenizer PreTokenizer { get; init; } = new();

    /// <summary>Counts the pre-tokenized pieces of the documents (in parallel).</summary>
    public Dictionary<string, long> CountPieces(IEnumerable<byte[]> documents)
    {
        var partials = new ConcurrentBag<Dictionary<string, long>>();
        Parallel.ForEach(documents,
            () => new Dictionary<string, long>(),
            (document, _, local) =>
            {
                PreTokenizer.Split(document, (s, e) =>
                {
                    string key = ByteLevelBpe.Latin1(document.AsSpan(s, e - s));
                    local[key] = local.GetValueOrDefault(key) + 1;
                });
                return local;
            },
            local => partials.Add(local));
        var total = new Dictionary<string, long>();
        foreach (var part in partials)
        {
            foreach (var (key, count) in part) total[key] = total.GetValueOrDefault(key) + count;
        }
        return total;
    }

    public HfTokenizerFiles.Contents Train(IEnumerable<byte[]> documents, Action<int, int>? progress = null)
        => Train(CountPieces(documents), progress);

    /// <summary>Trains on piece counts (keys are pieces with one char per byte, Latin-1).</summary>
    public HfTokenizerFiles.Contents Train(IReadOnlyDictionary<string, long> pieceCounts, Action<int, int>? progress = null)
    {
        int specialCount = SpecialTokens.Count;
        if (VocabSize < specialCount + 256) throw new ArgumentException($"vocab size must be at least {specialCount + 256}");
        var tokenBytes = new List<byte[]>();
        var idOfBytes = new Dictionary<string, int>();
        foreach (string special in SpecialTokens) tokenBytes.Add(System.Text.Encoding.UTF8.GetBytes(special));
        for (int b = 0; b < 256; b++)
        {
            idOfBytes[ByteLevelBpe.Latin1([(byte)b])] = tokenBytes.Count;
            tokenBytes.Add([(byte)b]);
        }

        // Words in a fixed order (ordinal) so that training is deterministic whatever the counting order.
        var keys = pieceCounts.Keys.Where(k => k.Length > 1).OrderBy(k => k, StringComparer.Ordinal).ToArray();
        var words = new List<int>[keys.Length];
        var wordCounts = new long[keys.Length];
        var pairCounts = new Dictionary<long, long>();
        var where = new Dictionary<long, List<int>>();
        for (int w = 0; w < keys.Length; w++)
        {
            string key = keys[w];
            var symbols = new List<int>(key.Length);
            foreach (char c in key) symbols.Add(specialCount + c);
            words[w] = symbols;
            wordCounts[w] = pieceCounts[key];
            for (int i = 0; i + 1 < symbols.Count; i++)
            {
                long pair = ByteLevelBpe.Key(symbols[i], symbols[i + 1]);
                pairCounts[pair] = pairCounts.GetValueOrDefault(pair) + wordCounts[w];
                if (!where.TryGetValue(pair, out var list)) where[pair] = list = new List<int>();
                if (list.Count == 0 || list[^1] != w) list.Add(w);
            }
        }
        var heap = new PriorityQueue<long, (long Count, long Pair)>(Comparer<(long Count, long Pair)>.Create((a, b) =>
            a.Count != b.Count ? b.Count.CompareTo(a.Count) : a.Pair.CompareTo(b.Pair)));
        foreach (var (pair, count) in pairCounts) heap.Enqueue(pair, (count, pair));

        var merges = new List<(int Left, int Right)>();
        var visited = new int[keys.Length];
        int stamp = 0;
        var changed = new HashSet<long>();
        var newPairsOfWord = new HashSet<long>();
        while (tokenBytes.Count < VocabSize && heap.TryDequeue(out long best, out var priority))
        {
            long current = pairCounts.GetValueOrDefault(best);
            if (current != priority.Count)
            {
                if (current > 0) heap.Enqueue(best, (current, best));
                continue;
            }
            if (current < MinPairCount) break;
            int left = (int)(best >> 32), right = (int)(uint)best;
            byte[] joined = [.. tokenBytes[left], .. tokenBytes[right]];
            string joinedKey = ByteLevelBpe.Latin1(joined);
            if (!idOfBytes.TryGetValue(joinedKey, out int merged))
            {
                merged = tokenBytes.Count;
                tokenBytes.Add(joined);
                idOfBytes[joinedKey] = merged;
            }
            merges.Add((left, right));
            progress?.Invoke(tokenBytes.Count, VocabSize);

            stamp++;
            changed.Clear();
            foreach (int w in where[best])
            {
                if (visited[w] == stamp) continue;
                visited[w] = stamp;
                var symbols = words[w];
                if (!ContainsPair(symbols, left, right)) continue;
                long count = wordCounts[w];
                for (int i = 0; i + 1 < symbols.Count; i++)
                {
                    long pair = ByteLevelBpe.Key(symbols[i], symbols[i + 1]);
                    pairCounts[pair] -= count;
                }
                for (int i = 0; i + 1 < symbols.Count; i++)
                {
                    if (symbols[i] == left && symbols[i + 1] == right)
                    {
                        symbols[i] = merged;
                        symbols.RemoveAt(i + 1);
                    }
                }
                newPairsOfWord.Clear();
                for (int i = 0; i + 1 < symbols.Count; i++)
                {
                    long pair = ByteLevelBpe.Key(symbols[i], symbols[i + 1]);
                    pairCounts[pair] = pairCounts.GetValueOrDefault(pair) + count;
                    if ((symbols[i] == merged || symbols[i + 1] == merged) && newPairsOfWord.Add(pair))
                    {
                        if (!where.TryGetValue(pair, out var list)) where[pair] = list = new List<int>();
                        list.Add(w);
                        changed.Add(pair);
                    }
                }
            }
            pairCounts.Remove(best);
            where.Remove(best);
            foreach (long pair in changed)
            {
                long count = pairCounts.GetValueOrDefault(pair);
                if (count > 0) heap.Enqueue(pair, (count, pair));
            }
        }

        var vocab = new Dictionary<string, int>();
        var specials = new Dictionary<string, int>();
        for (int id = 0; id < tokenBytes.Count; id++)
        {
            if (id < specialCount)
            {
                vocab[SpecialTokens[id]] = id;
                specials[SpecialTokens[id]] = id;
            }
            else vocab[ByteLevelAlphabet.Encode(tokenBytes[id])] = id;
        }
        var mergeStrings = merges.Select(m => (ByteLevelAlphabet.Encode(tokenBytes[m.Left]), ByteLevelAlphabet.Encode(tokenBytes[m.Right]))).ToList();
        return new HfTokenizerFiles.Contents(vocab, mergeStrings, specials, PreTokenizer.Pattern);
    }

    private static bool ContainsPair(List<int> symbols, int left, int right)
    {
        for (int i = 0; i + 1 < symbols.Count; i++)
        {
            if (symbols[i] == left && symbols[i + 1] == right) return true;
        }
        return false;
    }
}
