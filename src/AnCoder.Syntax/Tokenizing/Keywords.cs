using System.Buffers.Binary;

namespace AnCoder.Syntax.Tokenizing;

/// <summary>Classifies a NAME's bytes as a hard keyword (keyword.kwlist) or soft keyword (keyword.softkwlist).</summary>
public static class Keywords
{
    /// <summary>Every NAME token is classified: the spelling (at most 8 bytes for a keyword) is packed into a ulong,
    /// little-endian, and compared with the keywords packed the same way (the constants below), instead of a chain
    /// of span comparisons.</summary>
    public static KeywordKind Classify(ReadOnlySpan<byte> s)
    {
        ulong p;
        switch (s.Length)
        {
            case 1: return s[0] == '_' ? KeywordKind.SoftUnderscore : KeywordKind.None;
            case 2:
                p = BinaryPrimitives.ReadUInt16LittleEndian(s);
                if (p == 0x6669UL) return KeywordKind.If; // if
                if (p == 0x6E69UL) return KeywordKind.In; // in
                if (p == 0x7369UL) return KeywordKind.Is; // is
                if (p == 0x726FUL) return KeywordKind.Or; // or
                if (p == 0x7361UL) return KeywordKind.As; // as
                return KeywordKind.None;
            case 3:
                p = BinaryPrimitives.ReadUInt16LittleEndian(s) | ((ulong)s[2] << 16);
                if (p == 0x666564UL) return KeywordKind.Def; // def
                if (p == 0x726F66UL) return KeywordKind.For; // for
                if (p == 0x646E61UL) return KeywordKind.And; // and
                if (p == 0x746F6EUL) return KeywordKind.Not; // not
                if (p == 0x797274UL) return KeywordKind.Try; // try
                if (p == 0x6C6564UL) return KeywordKind.Del; // del
                return KeywordKind.None;
            case 4:
                p = BinaryPrimitives.ReadUInt32LittleEndian(s);
                if (p == 0x656E6F4EUL) return KeywordKind.NoneKeyword; // None
                if (p == 0x65757254UL) return KeywordKind.True; // True
                if (p == 0x65736C65UL) return KeywordKind.Else; // else
                if (p == 0x66696C65UL) return KeywordKind.Elif; // elif
                if (p == 0x6D6F7266UL) return KeywordKind.From; // from
                if (p == 0x73736170UL) return KeywordKind.Pass; // pass
                if (p == 0x68746977UL) return KeywordKind.With; // with
                if (p == 0x65736163UL) return KeywordKind.SoftCase; // case
                return KeywordKind.None;
            case 5:
                p = BinaryPrimitives.ReadUInt32LittleEndian(s) | ((ulong)BinaryPrimitives.ReadUInt32LittleEndian(s[1..]) << 8);
                if (p == 0x65736C6146UL) return KeywordKind.False; // False
                if (p == 0x7373616C63UL) return KeywordKind.Class; // class
                if (p == 0x656C696877UL) return KeywordKind.While; // while
                if (p == 0x646C656979UL) return KeywordKind.Yield; // yield
                if (p == 0x6B61657262UL) return KeywordKind.Break; // break
                if (p == 0x6573696172UL) return KeywordKind.Raise; // raise
                if (p == 0x636E797361UL) return KeywordKind.Async; // async
                if (p == 0x7469617761UL) return KeywordKind.Await; // await
                if (p == 0x686374616DUL) return KeywordKind.SoftMatch; // match
                return KeywordKind.None;
            case 6:
                p = BinaryPrimitives.ReadUInt32LittleEndian(s) | ((ulong)BinaryPrimitives.ReadUInt32LittleEndian(s[2..]) << 16);
                if (p == 0x74726F706D69UL) return KeywordKind.Import; // import
                if (p == 0x6E7275746572UL) return KeywordKind.Return; // return
                if (p == 0x6164626D616CUL) return KeywordKind.Lambda; // lambda
                if (p == 0x6C61626F6C67UL) return KeywordKind.Global; // global
                if (p == 0x747265737361UL) return KeywordKind.Assert; // assert
                if (p == 0x747065637865UL) return KeywordKind.Except; // except
                return KeywordKind.None;
            case 7:
                p = BinaryPrimitives.ReadUInt32LittleEndian(s) | ((ulong)BinaryPrimitives.ReadUInt32LittleEndian(s[3..]) << 24);
                if (p == 0x796C6C616E6966UL) return KeywordKind.Finally; // finally
                return KeywordKind.None;
            case 8:
                p = BinaryPrimitives.ReadUInt64LittleEndian(s);
                if (p == 0x65756E69746E6F63UL) return KeywordKind.Continue; // continue
                if (p == 0x6C61636F6C6E6F6EUL) return KeywordKind.Nonlocal; // nonlocal
                return KeywordKind.None;
            default:
                return KeywordKind.None;
        }
    }
}
