using System.Numerics;

namespace AnCoder.Anchoring.Corpus;

/// <summary>
/// Near-duplicate detection by MinHash and LSH over token shingles, with the parameters of BigCode's deduplication of
/// The Stack and StarCoder (Li et al. 2023, §3; Kocetkov et al. 2022): 5-token shingles, 256 permutations,
/// Jaccard threshold 0.7. The band count b and rows per band r (b·r ≤ 256) minimise the equally weighted false
/// positive and false negative areas of the LSH S-curve 1 − (1 − s^r)^b around the threshold, as datasketch's
/// <c>optimal_param</c> does. Candidates that share a band are confirmed with the signatures' Jaccard estimate.
/// </summary>
public static class MinHash
{
    public const int ShingleSize = 5, Permutations = 256;
    public const double Threshold = 0.7;

    private static readonly uint[] Seeds = MakeSeeds();

    private static uint[] MakeSeeds()
    {
        var random = new Random(20231);
        var seeds = new uint[Permutations];
        for (int i = 0; i < seeds.Length; i++) seeds[i] = (uint)random.NextInt64(1, uint.MaxValue);
        return seeds;
    }

    /// <summary>(bands, rows) for <see cref="Threshold"/> and <see cref="Permutations"/>.</summary>
    public static (int Bands, int Rows) Bands { get; } = OptimalBands(Threshold, Permutations);

    /// <summary>datasketch's <c>_optimal_param</c>: the (b, r) with b·r ≤ permutations minimising
    /// ½·∫₀^t P(candidate | s) ds + ½·∫_t^1 (1 − P(candidate | s)) ds, P = 1 − (1 − s^r)^b.</summary>
    public static (int Bands, int Rows) OptimalBands(double threshold, int permutations)
    {
        double Integral(Func<double, double> f, double a, double b)
        {
            const int steps = 1000;
            double h = (b - a) / steps, sum = 0;
            for (int k = 0; k < steps; k++) sum += f(a + (k + 0.5) * h) * h;
            return sum;
        }
        double bestError = double.MaxValue;
        (int, int) best = (1, permutations);
        for (int b = 1; b <= permutations; b++)
        {
            for (int r = 1; r <= permutations / b; r++)
            {
                double fp = Integral(s => 1 - Math.Pow(1 - Math.Pow(s, r), b), 0, threshold);
                double fn = Integral(s => Math.Pow(1 - Math.Pow(s, r), b), threshold, 1);
                double error = 0.5 * fp + 0.5 * fn;
                if (error < bestError) { bestError = error; best = (b, r); }
            }
        }
        return best;
    }

    /// <summary>
    /// The MinHash signature of the set of <see cref="ShingleSize"/>-token shingles: for each permutation i the
    /// minimum over shingles of fmix32(x ⊕ seed_i) (MurmurHash3's finaliser, a bijection of 32-bit words, so each
    /// seed gives a permutation). Null when the file has fewer tokens than a shingle.
    /// </summary>
    public static uint[]? Signature(ReadOnlySpan<ulong> tokens)
    {
        var shingles = CodeScan.NGrams(tokens, ShingleSize);
        if (shingles.Length == 0) return null;
        var distinct = new HashSet<ulong>(shingles);
        var signature = new uint[Permutations];
        Array.Fill(signature, uint.MaxValue);
        int width = Vector<uint>.Count;
        var seeds = Seeds.AsSpan();
        var mins = signature.AsSpan();
        foreach (ulong shingle in distinct)
        {
            var x = new Vector<uint>((uint)shingle ^ (uint)(shingle >> 32));
            for (int i = 0; i < Permutations; i += width)
            {
                var h = x ^ new Vector<uint>(seeds[i..]);
                h ^= Vector.ShiftRightLogical(h, 16);
                h *= 0x85ebca6bu;
                h ^= Vector.ShiftRightLogical(h, 13);
                h *= 0xc2b2ae35u;
                h ^= Vector.ShiftRightLogical(h, 16);
                Vector.Min(h, new Vector<uint>(mins[i..])).CopyTo(mins[i..]);
            }
        }
        return signature;
    }

    /// <summary>Share of equal entries: an unbiased estimate of the Jaccard similarity of the two shingle sets.</summary>
    public static double EstimatedJaccard(uint[] a, uint[] b)
    {
        int equal = 0;
        for (int i = 0; i < a.Length; i++) if (a[i] == b[i]) equal++;
        return (double)equal / a.Length;
    }
}

/// <summary>
/// The LSH index of kept documents: a document is a near-duplicate when it shares a band with a kept document whose
/// signature agrees on at least <see cref="MinHash.Threshold"/> of the entries; otherwise it is kept and indexed.
/// Documents are offered in corpus order, so the first of a group is kept.
/// </summary>
public sealed class NearDuplicateIndex
{
    private readonly Dictionary<ulong, List<int>>[] _bands;
    private readonly List<uint[]> _kept = new();
    private readonly int _rows;

    public NearDuplicateIndex()
    {
        var (bands, rows) = MinHash.Bands;
        _rows = rows;
        _bands = Enumerable.Range(0, bands).Select(_ => new Dictionary<ulong, List<int>>()).ToArray();
    }

    /// <summary>Returns the index (in order of <see cref="Add"/>) of a kept near-duplicate, or -1 after adding this one.</summary>
    public int FindOrAdd(uint[] signature)
    {
        var keys = new ulong[_bands.Length];
        for (int b = 0; b < _bands.Length; b++)
        {
            ulong h = 0xcbf29ce484222325UL ^ (ulong)b;
            for (int r = 0; r < _rows; r++) h = (h ^ signature[b * _rows + r]) * 0x100000001B3UL;
            keys[b] = h;
            if (_bands[b].TryGetValue(h, out var members))
                foreach (int kept in members)
                    if (MinHash.EstimatedJaccard(_kept[kept], signature) >= MinHash.Threshold) return kept;
        }
        int index = _kept.Count;
        _kept.Add(signature);
        for (int b = 0; b < _bands.Length; b++)
        {
            if (!_bands[b].TryGetValue(keys[b], out var members)) _bands[b][keys[b]] = members = new List<int>();
            members.Add(index);
        }
        return -1;
    }
}
