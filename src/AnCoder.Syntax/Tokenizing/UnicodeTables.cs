using System.Text;

namespace AnCoder.Syntax.Tokenizing;

/// <summary>Unicode properties as CPython 3.11 (Unicode 14.0) sees them, from generated tables, and NFKC
/// normalisation (the .NET one is unavailable under invariant globalization and follows another Unicode version).</summary>
internal static partial class UnicodeTables
{
    public static bool IsXidStart(int cp) => InRanges(XidStartRanges, cp);
    public static bool IsXidContinue(int cp) => InRanges(XidContinueRanges, cp);
    public static bool IsPrintable(int cp) => InRanges(PrintableRanges, cp);
    /// <summary>Python's <c>re</c> <c>\w</c> on a str.</summary>
    public static bool IsWord(int cp) => InRanges(WordRanges, cp);

    private static bool InRanges(ReadOnlySpan<int> ranges, int cp)
    {
        int lo = 0, hi = ranges.Length / 2 - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            if (cp < ranges[2 * mid]) hi = mid - 1;
            else if (cp > ranges[2 * mid + 1]) lo = mid + 1;
            else return true;
        }
        return false;
    }

    private static int CombiningClass(int cp)
    {
        if (cp < 0x300) return 0;
        var table = CombiningClasses;
        int lo = 0, hi = table.Length / 2 - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            int key = table[2 * mid];
            if (cp < key) hi = mid - 1;
            else if (cp > key) lo = mid + 1;
            else return table[2 * mid + 1];
        }
        return 0;
    }

    private const int SBase = 0xAC00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7;
    private const int LCount = 19, VCount = 21, TCount = 28, NCount = VCount * TCount, SCount = LCount * NCount;

    private static void Decompose(int cp, List<int> output)
    {
        if (cp >= SBase && cp < SBase + SCount)
        {
            int s = cp - SBase;
            output.Add(LBase + s / NCount);
            output.Add(VBase + s % NCount / TCount);
            if (s % TCount != 0) output.Add(TBase + s % TCount);
            return;
        }
        int index = DecompositionKeys.BinarySearch(cp);
        if (index < 0)
        {
            output.Add(cp);
            return;
        }
        var offsets = DecompositionOffsets;
        var values = DecompositionValues;
        for (int i = offsets[index]; i < offsets[index + 1]; i++) output.Add(values[i]);
    }

    private static int Compose(int first, int second)
    {
        if (first >= LBase && first < LBase + LCount && second >= VBase && second < VBase + VCount)
            return SBase + ((first - LBase) * VCount + (second - VBase)) * TCount;
        if (first >= SBase && first < SBase + SCount && (first - SBase) % TCount == 0 && second > TBase && second < TBase + TCount)
            return first + (second - TBase);
        var table = Compositions;
        int lo = 0, hi = table.Length / 3 - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            int a = table[3 * mid], b = table[3 * mid + 1];
            int cmp = first != a ? first.CompareTo(a) : second.CompareTo(b);
            if (cmp < 0) hi = mid - 1;
            else if (cmp > 0) lo = mid + 1;
            else return table[3 * mid + 2];
        }
        return -1;
    }

    /// <summary><c>unicodedata.normalize("NFKC", s)</c>.</summary>
    public static string NormalizeNfkc(string s)
    {
        var cps = new List<int>(s.Length + 4);
        for (int i = 0; i < s.Length; i++)
        {
            int cp = s[i];
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
                cp = char.ConvertToUtf32(s[i], s[++i]);
            Decompose(cp, cps);
        }
        // Canonical ordering: stable sort of each run of non-starters by combining class.
        for (int i = 0; i < cps.Count;)
        {
            if (CombiningClass(cps[i]) == 0) { i++; continue; }
            int runEnd = i;
            while (runEnd < cps.Count && CombiningClass(cps[runEnd]) != 0) runEnd++;
            if (runEnd - i > 1)
            {
                // OrderBy is a stable sort: O(n log n) even for long runs of combining marks.
                var sorted = cps.GetRange(i, runEnd - i).OrderBy(CombiningClass).ToList();
                for (int k = 0; k < sorted.Count; k++) cps[i + k] = sorted[k];
            }
            i = runEnd;
        }
        // Canonical composition.
        if (cps.Count > 0)
        {
            int starterIndex = CombiningClass(cps[0]) == 0 ? 0 : -1;
            int lastClass = starterIndex == 0 ? 0 : 256;
            int write = 1;
            for (int read = 1; read < cps.Count; read++)
            {
                int cp = cps[read];
                int cc = CombiningClass(cp);
                if (starterIndex >= 0 && (lastClass < cc || (lastClass == 0 && write - 1 == starterIndex)))
                {
                    int composed = Compose(cps[starterIndex], cp);
                    if (composed >= 0)
                    {
                        cps[starterIndex] = composed;
                        continue;
                    }
                }
                if (cc == 0)
                {
                    starterIndex = write;
                    lastClass = 0;
                }
                else lastClass = cc;
                cps[write++] = cp;
            }
            cps.RemoveRange(write, cps.Count - write);
        }
        var sb = new StringBuilder(cps.Count);
        foreach (int cp in cps) sb.Append(char.ConvertFromUtf32(cp));
        return sb.ToString();
    }
}
