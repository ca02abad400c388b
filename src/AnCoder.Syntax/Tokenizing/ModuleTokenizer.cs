using System.Text;
using AnCoder.Syntax.Text;

namespace AnCoder.Syntax.Tokenizing;

/// <summary>
/// The token stream of Python 3.11's pure-Python <c>tokenize</c> module (<c>_tokenize</c> in Lib/tokenize.py, without
/// the ENCODING token), mirrored on UTF-8 bytes. Its regular expressions (PseudoToken and the string tails) are matched
/// by hand with the same alternation order. Lines end at '\n' only (the module reads the file with a binary readline);
/// columns are UTF-8 byte columns (the module's are character columns). The whole stream is computed on first use.
/// </summary>
internal sealed class ModuleTokenizer
{
    private const int TabSize = 8;

    private readonly byte[] _b;
    private readonly int _length;
    private List<Token>? _tokens;
    private int _index;
    private PythonSyntaxError? _error;

    public ModuleTokenizer(PythonTokenizer owner, SourceText text)
    {
        _b = text.Utf8;
        _length = _b.Length;
    }

    public bool TryNext(out Token token, out PythonSyntaxError? error)
    {
        if (_tokens is null)
        {
            _tokens = new List<Token>(_length / 4 + 16);
            Run();
        }
        if (_index < _tokens.Count)
        {
            token = _tokens[_index++];
            error = null;
            return true;
        }
        token = default;
        error = _error;
        return false;
    }

    private void Add(TokenKind kind, OpKind op, int line, int lineStart, int start, int end, KeywordKind keyword = KeywordKind.None)
        => _tokens!.Add(new Token(kind, op, line, start - lineStart, line, end - lineStart, start, end, keyword));

    private byte At(int i, int lineEnd) => i < lineEnd ? _b[i] : (byte)0;

    private void Run()
    {
        int lnum = 0, parenlev = 0;
        bool continued = false;
        var indents = new List<int> { 0 };
        // A string continued over lines (contstr).
        bool inString = false, needcont = false, tripleString = false;
        byte stringQuote = 0;
        int strStartLine = 0, strStartCol = 0, strStartOffset = 0;
        int lastLineStart = 0, lastLineEnd = 0;
        int lineStart = 0, lineEnd = 0;
        int next = 0;

        while (true)
        {
            lastLineStart = lineStart;
            lastLineEnd = lineEnd;
            lineStart = next;
            if (next < _length)
            {
                int nl = _b.AsSpan(next).IndexOf((byte)'\n');
                lineEnd = nl < 0 ? _length : next + nl + 1;
            }
            else lineEnd = next;
            next = lineEnd;
            bool emptyLine = lineStart == lineEnd;
            lnum++;
            int pos = lineStart, max = lineEnd;

            if (inString)
            {
                if (emptyLine)
                {
                    _error = new PythonSyntaxError("EOF in multi-line string", strStartLine, strStartCol);
                    return;
                }
                int end = MatchStringTail(lineStart, lineEnd, stringQuote, tripleString);
                if (end >= 0)
                {
                    pos = end;
                    _tokens!.Add(new Token(TokenKind.String, OpKind.None, strStartLine, strStartCol, lnum, end - lineStart,
                        strStartOffset, end));
                    inString = false;
                    needcont = false;
                }
                else if (needcont && !EndsWith(lineStart, lineEnd, "\\\n"u8) && !EndsWith(lineStart, lineEnd, "\\\r\n"u8))
                {
                    _tokens!.Add(new Token(TokenKind.ErrorToken, OpKind.None, strStartLine, strStartCol, lnum,
                        lineEnd - lineStart, strStartOffset, lineEnd));
                    inString = false;
                    continue;
                }
                else continue;
            }
            else if (parenlev == 0 && !continued)
            {
                if (emptyLine) break;
                int column = 0;
                while (pos < max)
                {
                    byte c = _b[pos];
                    if (c == ' ') column++;
                    else if (c == '\t') column = (column / TabSize + 1) * TabSize;
                    else if (c == '\f') column = 0;
                    else break;
                    pos++;
                }
                if (pos == max) break;

                byte first = _b[pos];
                if (first == '#' || first == '\r' || first == '\n')
                {
                    if (first == '#')
                    {
                        int commentEnd = lineEnd;
                        while (commentEnd > pos && (_b[commentEnd - 1] == '\r' || _b[commentEnd - 1] == '\n')) commentEnd--;
                        Add(TokenKind.Comment, OpKind.None, lnum, lineStart, pos, commentEnd);
                        pos = commentEnd;
                    }
                    Add(TokenKind.NL, OpKind.None, lnum, lineStart, pos, lineEnd);
                    continue;
                }
                if (column > indents[^1])
                {
                    indents.Add(column);
                    Add(TokenKind.Indent, OpKind.None, lnum, lineStart, lineStart, pos);
                }
                while (column < indents[^1])
                {
                    if (indents.BinarySearch(column) < 0) // indents are strictly increasing
                    {
                        _error = new PythonSyntaxError("unindent does not match any outer indentation level", lnum, pos - lineStart);
                        return;
                    }
                    indents.RemoveAt(indents.Count - 1);
                    Add(TokenKind.Dedent, OpKind.None, lnum, lineStart, pos, pos);
                }
            }
            else
            {
                if (emptyLine)
                {
                    _error = new PythonSyntaxError("EOF in multi-line statement", lnum, 0);
                    return;
                }
                continued = false;
            }

            while (pos < max)
            {
                int p = pos;
                while (p < max && (_b[p] == ' ' || _b[p] == '\f' || _b[p] == '\t')) p++;
                int end = MatchPseudoToken(p, lineEnd, out PseudoKind kind, out byte quote, out OpKind op);
                if (end < 0)
                {
                    // Each whitespace character before p fails the same way: one ERRORTOKEN each, then the
                    // character at p (emitted here at once, so long runs stay linear).
                    for (; pos < p; pos++) Add(TokenKind.ErrorToken, OpKind.None, lnum, lineStart, pos, pos + 1);
                    int width = CharWidth(pos, lineEnd);
                    Add(TokenKind.ErrorToken, OpKind.None, lnum, lineStart, pos, pos + width);
                    pos += width;
                    continue;
                }
                int start = p;
                pos = end;
                if (start == end) continue;
                switch (kind)
                {
                    case PseudoKind.Number:
                        Add(TokenKind.Number, OpKind.None, lnum, lineStart, start, end);
                        break;
                    case PseudoKind.Newline:
                        Add(parenlev > 0 ? TokenKind.NL : TokenKind.Newline, OpKind.None, lnum, lineStart, start, end);
                        break;
                    case PseudoKind.Comment:
                        Add(TokenKind.Comment, OpKind.None, lnum, lineStart, start, end);
                        break;
                    case PseudoKind.TripleStart:
                    {
                        int stringEnd = MatchStringTail(end, lineEnd, quote, triple: true);
                        if (stringEnd >= 0)
                        {
                            pos = stringEnd;
                            Add(TokenKind.String, OpKind.None, lnum, lineStart, start, stringEnd);
                        }
                        else
                        {
                            (strStartLine, strStartCol, strStartOffset) = (lnum, start - lineStart, start);
                            inString = true;
                            tripleString = true;
                            // Like tokenize.py, needcont keeps its value here: one left set by an earlier
                            // unterminated single-quoted string still applies to this triple-quoted one.
                            stringQuote = quote;
                            pos = max;
                        }
                        break;
                    }
                    case PseudoKind.SingleString:
                        if (_b[end - 1] == '\n')
                        {
                            (strStartLine, strStartCol, strStartOffset) = (lnum, start - lineStart, start);
                            inString = true;
                            tripleString = false;
                            needcont = true;
                            stringQuote = quote;
                            pos = max;
                        }
                        else Add(TokenKind.String, OpKind.None, lnum, lineStart, start, end);
                        break;
                    case PseudoKind.Name:
                        if (IsIdentifierStart(start, lineEnd))
                        {
                            Add(TokenKind.Name, OpKind.None, lnum, lineStart, start, end,
                                Keywords.Classify(_b.AsSpan(start, end - start)));
                        }
                        else Add(TokenKind.Op, OpKind.Unknown, lnum, lineStart, start, end);
                        break;
                    case PseudoKind.Continuation:
                        continued = true;
                        break;
                    case PseudoKind.Operator:
                        byte initial = _b[start];
                        if (initial == '(' || initial == '[' || initial == '{') parenlev++;
                        else if (initial == ')' || initial == ']' || initial == '}') parenlev--;
                        Add(TokenKind.Op, op, lnum, lineStart, start, end);
                        break;
                }
            }
        }

        // Implicit NEWLINE when the input does not end in a newline (not after a comment-only line).
        if (lastLineEnd > lastLineStart && _b[lastLineEnd - 1] != '\r' && _b[lastLineEnd - 1] != '\n'
            && !StripStartsWithHash(lastLineStart, lastLineEnd))
        {
            int length = lastLineEnd - lastLineStart;
            _tokens!.Add(new Token(TokenKind.Newline, OpKind.None, lnum - 1, length, lnum - 1, length + 1, _length, _length));
        }
        for (int i = 1; i < indents.Count; i++)
            _tokens!.Add(new Token(TokenKind.Dedent, OpKind.None, lnum, 0, lnum, 0, _length, _length));
        _tokens!.Add(new Token(TokenKind.EndMarker, OpKind.None, lnum, 0, lnum, 0, _length, _length));
    }

    private bool EndsWith(int start, int end, ReadOnlySpan<byte> suffix) => _b.AsSpan(start, end - start).EndsWith(suffix);

    private bool StripStartsWithHash(int start, int end)
    {
        string line = Encoding.UTF8.GetString(_b, start, end - start);
        int i = 0;
        while (i < line.Length && IsPythonSpace(line[i])) i++;
        return i < line.Length && line[i] == '#';
    }

    private static bool IsPythonSpace(char c) => char.IsWhiteSpace(c) || (c >= '\x1c' && c <= '\x1f');

    private enum PseudoKind { Continuation, End, Comment, TripleStart, Number, Newline, Operator, SingleString, Name }

    /// <summary>
    /// PseudoToken after its Whitespace: group(PseudoExtras, Number, Funny, ContStr, Name), first alternative that
    /// matches. Returns the match end, or -1.
    /// </summary>
    private int MatchPseudoToken(int p, int lineEnd, out PseudoKind kind, out byte quote, out OpKind op)
    {
        quote = 0;
        op = OpKind.None;
        byte c = At(p, lineEnd);
        // PseudoExtras: \\\r?\n | \Z | Comment | Triple
        if (c == '\\')
        {
            if (At(p + 1, lineEnd) == '\n') { kind = PseudoKind.Continuation; return p + 2; }
            if (At(p + 1, lineEnd) == '\r' && At(p + 2, lineEnd) == '\n') { kind = PseudoKind.Continuation; return p + 3; }
        }
        if (p == lineEnd) { kind = PseudoKind.End; return p; }
        if (c == '#')
        {
            int e = p + 1;
            while (e < lineEnd && _b[e] != '\r' && _b[e] != '\n') e++;
            kind = PseudoKind.Comment;
            return e;
        }
        int prefixEnd = StringPrefixEnd(p, lineEnd);
        if (prefixEnd >= 0)
        {
            byte q = At(prefixEnd, lineEnd);
            if (At(prefixEnd + 1, lineEnd) == q && At(prefixEnd + 2, lineEnd) == q)
            {
                kind = PseudoKind.TripleStart;
                quote = q;
                return prefixEnd + 3;
            }
        }
        int numberEnd = MatchNumber(p, lineEnd);
        if (numberEnd >= 0) { kind = PseudoKind.Number; return numberEnd; }
        // Funny: \r?\n | Special
        if (c == '\n') { kind = PseudoKind.Newline; return p + 1; }
        if (c == '\r' && At(p + 1, lineEnd) == '\n') { kind = PseudoKind.Newline; return p + 2; }
        int opEnd = MatchOperator(p, lineEnd, out op);
        if (opEnd >= 0) { kind = PseudoKind.Operator; return opEnd; }
        // ContStr
        if (prefixEnd >= 0)
        {
            byte q = _b[prefixEnd];
            int e = MatchContStr(prefixEnd + 1, lineEnd, q);
            if (e >= 0) { kind = PseudoKind.SingleString; quote = q; return e; }
        }
        // Name: \w+
        int nameEnd = p;
        while (nameEnd < lineEnd)
        {
            int width = WordCharWidth(nameEnd, lineEnd);
            if (width == 0) break;
            nameEnd += width;
        }
        if (nameEnd > p) { kind = PseudoKind.Name; return nameEnd; }
        kind = PseudoKind.End;
        return -1;
    }

    /// <summary>End of a valid string prefix (StringPrefix: '', b, r, u, f, br, rb, fr, rf in any case) that is followed
    /// by a quote, or -1.</summary>
    private int StringPrefixEnd(int p, int lineEnd)
    {
        int i = p;
        while (i < lineEnd && i - p < 3 && IsAsciiLetter(_b[i])) i++;
        if (i >= lineEnd || (_b[i] != '\'' && _b[i] != '"')) return -1;
        int n = i - p;
        if (n == 0) return i;
        if (n > 2) return -1;
        int a = _b[p] | 0x20;
        if (n == 1) return a is 'b' or 'r' or 'u' or 'f' ? i : -1;
        int b = _b[p + 1] | 0x20;
        bool ok = (a == 'b' && b == 'r') || (a == 'r' && b == 'b') || (a == 'f' && b == 'r') || (a == 'r' && b == 'f');
        return ok ? i : -1;
    }

    private static bool IsAsciiLetter(byte c) => (uint)((c | 0x20) - 'a') <= 25;

    /// <summary>ContStr after its opening quote: [^\n q \\]*(?:\\.[^\n q \\]*)* (q | \\\r?\n).</summary>
    private int MatchContStr(int i, int lineEnd, byte q)
    {
        while (i < lineEnd)
        {
            byte c = _b[i];
            if (c == '\n') return -1;
            if (c == q) return i + 1;
            if (c == '\\')
            {
                if (At(i + 1, lineEnd) == '\n') return i + 2;
                if (At(i + 1, lineEnd) == '\r' && At(i + 2, lineEnd) == '\n') return i + 3;
                if (i + 1 < lineEnd) { i += 2; continue; }
                return -1;
            }
            i++;
        }
        return -1;
    }

    /// <summary>The string tails Single/Double/Single3/Double3 matched at <paramref name="i"/>; '.' after a backslash
    /// does not match a newline.</summary>
    private int MatchStringTail(int i, int lineEnd, byte q, bool triple)
    {
        while (i < lineEnd)
        {
            byte c = _b[i];
            if (c == '\\')
            {
                if (i + 1 < lineEnd && _b[i + 1] != '\n') { i += 2; continue; }
                return -1;
            }
            if (c == q)
            {
                if (!triple) return i + 1;
                if (At(i + 1, lineEnd) == q && At(i + 2, lineEnd) == q) return i + 3;
            }
            i++;
        }
        return -1;
    }

    private static bool IsDigit(byte c) => (uint)(c - '0') <= 9;
    private static bool IsHex(byte c) => (uint)(c - '0') <= 9 || (uint)((c | 0x20) - 'a') <= 5;

    /// <summary>[0-9](?:_?[0-9])* from a digit at <paramref name="p"/>.</summary>
    private int DigitPart(int p, int lineEnd)
    {
        int i = p + 1;
        while (true)
        {
            byte c = At(i, lineEnd);
            if (IsDigit(c)) i++;
            else if (c == '_' && IsDigit(At(i + 1, lineEnd))) i += 2;
            else return i;
        }
    }

    /// <summary>[eE][-+]?[0-9](?:_?[0-9])* at <paramref name="p"/>, or -1.</summary>
    private int Exponent(int p, int lineEnd)
    {
        byte c = At(p, lineEnd);
        if (c != 'e' && c != 'E') return -1;
        int q = p + 1;
        if (At(q, lineEnd) == '+' || At(q, lineEnd) == '-') q++;
        return IsDigit(At(q, lineEnd)) ? DigitPart(q, lineEnd) : -1;
    }

    private bool IsImaginarySuffix(int i, int lineEnd) => i >= 0 && (At(i, lineEnd) == 'j' || At(i, lineEnd) == 'J');

    /// <summary>Number = group(Imagnumber, Floatnumber, Intnumber) with the regex's alternation order.</summary>
    private int MatchNumber(int p, int lineEnd)
    {
        byte c = At(p, lineEnd);
        if (IsDigit(c))
        {
            int e1 = DigitPart(p, lineEnd);
            if (IsImaginarySuffix(e1, lineEnd)) return e1 + 1;
            int pointEnd = -1, pointExp = -1;
            if (At(e1, lineEnd) == '.')
            {
                pointEnd = IsDigit(At(e1 + 1, lineEnd)) ? DigitPart(e1 + 1, lineEnd) : e1 + 1;
                pointExp = Exponent(pointEnd, lineEnd);
            }
            int expFloat = Exponent(e1, lineEnd);
            // Imagnumber's second form: Floatnumber [jJ], trying each way the float can end.
            if (IsImaginarySuffix(pointExp, lineEnd)) return pointExp + 1;
            if (IsImaginarySuffix(pointEnd, lineEnd)) return pointEnd + 1;
            if (IsImaginarySuffix(expFloat, lineEnd)) return expFloat + 1;
            if (pointEnd >= 0) return pointExp >= 0 ? pointExp : pointEnd;
            if (expFloat >= 0) return expFloat;
            if (c == '0')
            {
                byte x = (byte)(At(p + 1, lineEnd) | 0x20);
                if (x == 'x' || x == 'b' || x == 'o')
                {
                    int i = p + 2;
                    while (true)
                    {
                        byte d = At(i, lineEnd);
                        bool isDigit = x == 'x' ? IsHex(d) : x == 'b' ? d == '0' || d == '1' : d >= '0' && d <= '7';
                        if (isDigit) { i++; continue; }
                        if (d == '_')
                        {
                            byte d2 = At(i + 1, lineEnd);
                            bool next = x == 'x' ? IsHex(d2) : x == 'b' ? d2 == '0' || d2 == '1' : d2 >= '0' && d2 <= '7';
                            if (next) { i += 2; continue; }
                        }
                        break;
                    }
                    if (i > p + 2) return i;
                }
                int z = p + 1;
                while (true)
                {
                    if (At(z, lineEnd) == '0') z++;
                    else if (At(z, lineEnd) == '_' && At(z + 1, lineEnd) == '0') z += 2;
                    else return z;
                }
            }
            return e1;
        }
        if (c == '.' && IsDigit(At(p + 1, lineEnd)))
        {
            int e2 = DigitPart(p + 1, lineEnd);
            int ex = Exponent(e2, lineEnd);
            if (IsImaginarySuffix(ex, lineEnd)) return ex + 1;
            if (IsImaginarySuffix(e2, lineEnd)) return e2 + 1;
            return ex >= 0 ? ex : e2;
        }
        return -1;
    }

    /// <summary>Special: the operators of token.EXACT_TOKEN_TYPES, longest first (so no <c>&lt;&gt;</c>, no lone '!').</summary>
    private int MatchOperator(int p, int lineEnd, out OpKind op)
    {
        int c1 = At(p, lineEnd), c2 = At(p + 1, lineEnd), c3 = At(p + 2, lineEnd);
        op = PythonTokenizer.ThreeChars(c1, c2, c3);
        if (op != OpKind.None) return p + 3;
        if (!(c1 == '<' && c2 == '>'))
        {
            op = PythonTokenizer.TwoChars(c1, c2);
            if (op != OpKind.None) return p + 2;
        }
        op = PythonTokenizer.OneChar(c1);
        if (op != OpKind.Unknown) return p + 1;
        op = OpKind.None;
        return -1;
    }

    /// <summary>Bytes of the character at <paramref name="i"/> (1 for an invalid byte).</summary>
    private int CharWidth(int i, int lineEnd)
    {
        if (_b[i] < 0x80) return 1;
        int n = Utf8Validation.SequenceLength(_b.AsSpan(i, lineEnd - i), 0, out _);
        return n == 0 ? 1 : n;
    }

    /// <summary>Width of the \w character at <paramref name="i"/>, or 0.</summary>
    private int WordCharWidth(int i, int lineEnd)
    {
        byte c = _b[i];
        if (c < 0x80)
            return (uint)((c | 0x20) - 'a') <= 25 || (uint)(c - '0') <= 9 || c == '_' ? 1 : 0;
        if (System.Text.Rune.DecodeFromUtf8(_b.AsSpan(i, lineEnd - i), out System.Text.Rune rune, out int consumed)
            != System.Buffers.OperationStatus.Done)
            return 0;
        return UnicodeTables.IsWord(rune.Value) ? consumed : 0;
    }

    /// <summary><c>initial.isidentifier()</c> for the token's first character.</summary>
    private bool IsIdentifierStart(int i, int lineEnd)
    {
        byte c = _b[i];
        if (c < 0x80) return (uint)((c | 0x20) - 'a') <= 25 || c == '_';
        System.Text.Rune.DecodeFromUtf8(_b.AsSpan(i, lineEnd - i), out System.Text.Rune rune, out _);
        return UnicodeTables.IsXidStart(rune.Value);
    }
}
