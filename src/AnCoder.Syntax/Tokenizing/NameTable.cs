using System.Text;

namespace AnCoder.Syntax.Tokenizing;

/// <summary>Interns identifier spellings: one string per distinct UTF-8 spelling (NFKC-normalised when non-ASCII,
/// as CPython's <c>_PyPegen_new_identifier</c>), found again without allocating.</summary>
internal sealed class NameTable
{
    /// <summary>Spellings kept per thread before the table starts over (bounds the memory a long-running process
    /// spends on identifiers it saw once).</summary>
    private const int MaxSharedCount = 1 << 16;

    [ThreadStatic] private static NameTable? t_shared;

    /// <summary>One table per thread, shared by every tokenizer on it (a file's parse, its f-string fields, the next
    /// file): the spellings of a corpus are decoded and stored once instead of once per tokenizer.</summary>
    public static NameTable ForThisThread()
    {
        var table = t_shared;
        if (table == null || table._count > MaxSharedCount) t_shared = table = new NameTable();
        return table;
    }

    private byte[][] _keys = new byte[256][];
    private string[] _values = new string[256];
    private int[] _hashes = new int[256];
    private int _count;

    public string Get(ReadOnlySpan<byte> utf8)
    {
        int hash = Hash(utf8);
        int mask = _keys.Length - 1;
        int i = hash & mask;
        while (true)
        {
            byte[]? key = _keys[i];
            if (key is null) break;
            if (_hashes[i] == hash && utf8.SequenceEqual(key)) return _values[i];
            i = (i + 1) & mask;
        }
        string value = Create(utf8);
        _keys[i] = utf8.ToArray();
        _values[i] = value;
        _hashes[i] = hash;
        if (++_count * 2 > _keys.Length) Grow();
        return value;
    }

    private static string Create(ReadOnlySpan<byte> utf8)
    {
        foreach (byte b in utf8)
        {
            if (b >= 0x80)
            {
                string decoded = Encoding.UTF8.GetString(utf8);
                return UnicodeTables.NormalizeNfkc(decoded);
            }
        }
        return Encoding.Latin1.GetString(utf8);
    }

    private static int Hash(ReadOnlySpan<byte> utf8)
    {
        uint h = 2166136261;
        foreach (byte b in utf8) h = (h ^ b) * 16777619;
        return (int)(h ^ (h >> 15));
    }

    private void Grow()
    {
        var keys = _keys;
        var values = _values;
        var hashes = _hashes;
        _keys = new byte[keys.Length * 2][];
        _values = new string[keys.Length * 2];
        _hashes = new int[keys.Length * 2];
        int mask = _keys.Length - 1;
        for (int k = 0; k < keys.Length; k++)
        {
            if (keys[k] is null) continue;
            int i = hashes[k] & mask;
            while (_keys[i] is not null) i = (i + 1) & mask;
            _keys[i] = keys[k];
            _values[i] = values[k];
            _hashes[i] = hashes[k];
        }
    }
}
