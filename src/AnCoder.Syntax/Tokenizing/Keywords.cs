namespace AnCoder.Syntax.Tokenizing;

/// <summary>Classifies a NAME's bytes as a hard keyword (keyword.kwlist) or soft keyword (keyword.softkwlist).</summary>
public static class Keywords
{
    public static KeywordKind Classify(ReadOnlySpan<byte> s)
    {
        switch (s.Length)
        {
            case 1: return s[0] == '_' ? KeywordKind.SoftUnderscore : KeywordKind.None;
            case 2:
                if (s.SequenceEqual("if"u8)) return KeywordKind.If;
                if (s.SequenceEqual("in"u8)) return KeywordKind.In;
                if (s.SequenceEqual("is"u8)) return KeywordKind.Is;
                if (s.SequenceEqual("or"u8)) return KeywordKind.Or;
                if (s.SequenceEqual("as"u8)) return KeywordKind.As;
                return KeywordKind.None;
            case 3:
                if (s.SequenceEqual("def"u8)) return KeywordKind.Def;
                if (s.SequenceEqual("for"u8)) return KeywordKind.For;
                if (s.SequenceEqual("and"u8)) return KeywordKind.And;
                if (s.SequenceEqual("not"u8)) return KeywordKind.Not;
                if (s.SequenceEqual("try"u8)) return KeywordKind.Try;
                if (s.SequenceEqual("del"u8)) return KeywordKind.Del;
                return KeywordKind.None;
            case 4:
                if (s.SequenceEqual("None"u8)) return KeywordKind.NoneKeyword;
                if (s.SequenceEqual("True"u8)) return KeywordKind.True;
                if (s.SequenceEqual("else"u8)) return KeywordKind.Else;
                if (s.SequenceEqual("elif"u8)) return KeywordKind.Elif;
                if (s.SequenceEqual("from"u8)) return KeywordKind.From;
                if (s.SequenceEqual("pass"u8)) return KeywordKind.Pass;
                if (s.SequenceEqual("with"u8)) return KeywordKind.With;
                if (s.SequenceEqual("case"u8)) return KeywordKind.SoftCase;
                return KeywordKind.None;
            case 5:
                if (s.SequenceEqual("False"u8)) return KeywordKind.False;
                if (s.SequenceEqual("class"u8)) return KeywordKind.Class;
                if (s.SequenceEqual("while"u8)) return KeywordKind.While;
                if (s.SequenceEqual("yield"u8)) return KeywordKind.Yield;
                if (s.SequenceEqual("break"u8)) return KeywordKind.Break;
                if (s.SequenceEqual("raise"u8)) return KeywordKind.Raise;
                if (s.SequenceEqual("async"u8)) return KeywordKind.Async;
                if (s.SequenceEqual("await"u8)) return KeywordKind.Await;
                if (s.SequenceEqual("match"u8)) return KeywordKind.SoftMatch;
                return KeywordKind.None;
            case 6:
                if (s.SequenceEqual("import"u8)) return KeywordKind.Import;
                if (s.SequenceEqual("return"u8)) return KeywordKind.Return;
                if (s.SequenceEqual("lambda"u8)) return KeywordKind.Lambda;
                if (s.SequenceEqual("global"u8)) return KeywordKind.Global;
                if (s.SequenceEqual("assert"u8)) return KeywordKind.Assert;
                if (s.SequenceEqual("except"u8)) return KeywordKind.Except;
                return KeywordKind.None;
            case 7:
                return s.SequenceEqual("finally"u8) ? KeywordKind.Finally : KeywordKind.None;
            case 8:
                if (s.SequenceEqual("continue"u8)) return KeywordKind.Continue;
                if (s.SequenceEqual("nonlocal"u8)) return KeywordKind.Nonlocal;
                return KeywordKind.None;
            default:
                return KeywordKind.None;
        }
    }
}
