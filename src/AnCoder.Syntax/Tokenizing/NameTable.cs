using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace AnCoder.Syntax.Tokenizing;

/// <summary>Interns identifier spellings: one string per distinct UTF-8 spelling (NFKC-normalised when non-ASCII,
/// as CPython's <c>_PyPegen_new_identifier</c>), found again without allocating.</summary>
/// <remarks>Every NAME token of a parse goes through <see cref="Get"/> (1.7 M per round of the stdlib benchmark, where
/// it was the single hottest function, 7 % of the time: three parallel arrays and a key array per entry made a
/// lookup in a table of 65 K spellings several cache misses). An entry now holds the first 8 bytes of its spelling
/// packed into a ulong beside its hash and length, so most names (8 bytes or shorter) are matched within one entry;
/// longer ASCII names compare their remaining bytes with the interned string itself, and only non-ASCII names keep a
/// copy of their UTF-8 bytes.
/// <para>The entries hold no references: the strings are appended to an array of their own. The table lives as long
/// as its thread, so its arrays are in the oldest generation, and every new spelling stored a young string into
/// them: in a hashed slot, that marked a card at a random place of the table, and each gen0 collection scanned the
/// whole table for them (a parse's gen0 collections cost 5-6 ms each: 2.9 ms of pause per MB of stdlib source, 15 %
/// of parsing it). Appended strings mark only the cards at the array's end: 1.5 ms per MB
/// (docs/parser-verification.md, "Name table and the collector").</para></remarks>
internal sealed class NameTable
{
    /// <summary>Spellings kept per thread before the table starts over. Small enough for the table (at most 8 Ki
    /// entries of 24 bytes, 192 KB, and the strings' array) to stay in the core's own cache: with 64 Ki spellings (a
    /// 3 MB table) most lookups missed it, and parsing the stdlib took 5-6 % longer (4 Ki, 2 Ki and 1 Ki measured
    /// alike, 16 Ki between; docs/parser-verification.md, "Name table and the collector"). A file's names are found
    /// again within the file; a name seen in an earlier file may be decoded again after the table starts over.</summary>
    private const int MaxSharedCount = 1 << 12;

    [ThreadStatic] private static NameTable? t_shared;

    /// <summary>One table per thread, shared by every tokenizer on it (a file's parse, its f-string fields, the next
    /// file): the spellings of a corpus are decoded and stored once instead of once per tokenizer.</summary>
    public static NameTable ForThisThread()
    {
        var table = t_shared;
        if (table == null) t_shared = table = new NameTable();
        else if (table._count > MaxSharedCount) table.Clear();
        return table;
    }

    private struct Entry
    {
        /// <summary>The first (up to) 8 bytes of the spelling, little-endian, zero-padded.</summary>
        public ulong Prefix;
        public int Hash;
        /// <summary>Length of the spelling in UTF-8 bytes.</summary>
        public int Length;
        /// <summary>1 + the spelling's index in <see cref="_strings"/>; 0 marks a free slot.</summary>
        public int Slot;
        /// <summary>The spelling's keyword class (<see cref="Keywords.Classify"/>; none for a non-ASCII name).</summary>
        public KeywordKind Keyword;
    }

    private Entry[] _entries = new Entry[256];
    /// <summary>The interned strings in the order they were added (an ASCII name's string is its spelling).</summary>
    private string[] _strings = new string[128];
    /// <summary>The UTF-8 spelling of each non-ASCII name (whose string is NFKC-normalised), by the same index; null
    /// until the first one.</summary>
    private byte[]?[]? _utf8;
    private int _count;

    /// <summary>The interned string of <paramref name="utf8"/>, and its keyword class.</summary>
    public string Get(ReadOnlySpan<byte> utf8, out KeywordKind keyword)
    {
        ulong prefix = Prefix(utf8);
        int hash = Hash(utf8, prefix);
        var entries = _entries;
        int mask = entries.Length - 1;
        int i = hash & mask;
        while (true)
        {
            ref Entry e = ref entries[i];
            int slot = e.Slot;
            if (slot == 0) break;
            if (e.Hash == hash && e.Prefix == prefix && e.Length == utf8.Length && (utf8.Length <= 8 || RestEquals(slot - 1, utf8)))
            {
                keyword = e.Keyword;
                return _strings[slot - 1];
            }
            i = (i + 1) & mask;
        }
        return Add(ref entries[i], utf8, prefix, hash, out keyword);
    }

    /// <summary>Starts over, keeping the grown arrays (a new table regrew from 256 slots, ~8 MB of arrays on the large
    /// object heap, each time a long run of files passed <see cref="MaxSharedCount"/> spellings).</summary>
    private void Clear()
    {
        Array.Clear(_entries);
        Array.Clear(_strings, 0, _count);
        if (_utf8 != null) Array.Clear(_utf8, 0, Math.Min(_count, _utf8.Length));
        _count = 0;
    }

    private bool RestEquals(int index, ReadOnlySpan<byte> utf8) =>
        _utf8 != null && index < _utf8.Length && _utf8[index] is { } bytes
            ? utf8.SequenceEqual(bytes)
            : Ascii.Equals(utf8[8..], _strings[index].AsSpan(8));

    private string Add(ref Entry slot, ReadOnlySpan<byte> utf8, ulong prefix, int hash, out KeywordKind keyword)
    {
        bool ascii = Ascii.IsValid(utf8);
        // Keywords are ASCII: a non-ASCII spelling is no keyword (the tokenizer's rule before the class was cached
        // here; the differential tests hold it to CPython).
        keyword = ascii ? Keywords.Classify(utf8) : KeywordKind.None;
        slot.Keyword = keyword;
        string value = ascii ? Encoding.Latin1.GetString(utf8) : UnicodeTables.NormalizeNfkc(Encoding.UTF8.GetString(utf8));
        int index = _count;
        if (index == _strings.Length) Array.Resize(ref _strings, index * 2);
        _strings[index] = value;
        if (!ascii)
        {
            _utf8 ??= new byte[]?[_strings.Length];
            if (_utf8.Length <= index) Array.Resize(ref _utf8, _strings.Length);
            _utf8[index] = utf8.ToArray();
        }
        slot.Prefix = prefix;
        slot.Hash = hash;
        slot.Length = utf8.Length;
        slot.Slot = index + 1;
        if (++_count * 2 > _entries.Length) Grow();
        return value;
    }

    /// <summary>The first up to 8 bytes as a little-endian ulong (zero above the length).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Prefix(ReadOnlySpan<byte> s)
    {
        int n = s.Length;
        if (n >= 8) return BinaryPrimitives.ReadUInt64LittleEndian(s);
        if (n >= 4)
        {
            // Two overlapping 4-byte reads: the shared bytes are the same bytes at the same positions.
            ulong lo = BinaryPrimitives.ReadUInt32LittleEndian(s);
            ulong hi = BinaryPrimitives.ReadUInt32LittleEndian(s[(n - 4)..]);
            return lo | (hi << ((n - 4) * 8));
        }
        ulong v = 0;
        for (int k = 0; k < n; k++) v |= (ulong)s[k] << (k * 8);
        return v;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Hash(ReadOnlySpan<byte> s, ulong prefix)
    {
        const ulong K = 0x9E3779B97F4A7C15;
        ulong h = (prefix ^ (ulong)s.Length) * K;
        if (s.Length > 8) h = HashRest(s, h);
        return (int)(h >> 32);
    }

    private static ulong HashRest(ReadOnlySpan<byte> s, ulong h)
    {
        const ulong K = 0xC2B2AE3D27D4EB4F;
        int k = 8;
        for (; k + 8 < s.Length; k += 8) h = (h ^ MemoryMarshal.Read<ulong>(s[k..])) * K;
        // The last 8 bytes (overlapping the previous read when the length is not a multiple of 8).
        h = (h ^ MemoryMarshal.Read<ulong>(s[(s.Length - 8)..])) * K;
        return h ^ (h >> 29);
    }

    private void Grow()
    {
        var old = _entries;
        var entries = new Entry[old.Length * 2];
        int mask = entries.Length - 1;
        foreach (ref readonly Entry e in old.AsSpan())
        {
            if (e.Slot == 0) continue;
            int i = e.Hash & mask;
            while (entries[i].Slot != 0) i = (i + 1) & mask;
            entries[i] = e;
        }
        _entries = entries;
    }
}
