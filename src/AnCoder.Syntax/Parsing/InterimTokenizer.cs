using System.Collections.Generic;
using System.Text;
using AnCoder.Syntax.Tokenizing;

namespace AnCoder.Syntax.Parsing;

/// <summary>The token stream the parser pulls from (CPython's parser-mode tokenizer, one token at a time).</summary>
internal interface IParserTokenSource
{
    /// <summary>Next significant token (no COMMENT/NL); false on a tokenizer error (see <see cref="Error"/>).</summary>
    bool TryNext(out Token token);
    PythonSyntaxError? Error { get; }
    /// <summary>The (NFKC-normalised, interned) identifier of a NAME token.</summary>
    string NameOf(in Token token);
}

/// <summary>
/// A minimal tokenizer for well-formed UTF-8 sources, used only until the real PythonTokenizer lands.
/// It does not reproduce CPython's tokenizer errors.
/// </summary>
internal sealed class InterimTokenizer : IParserTokenSource
{
    private readonly byte[] _src;
    private int _pos;
    private int _line = 1;
    private int _lineStart;
    private int _parenLevel;
    private bool _atLineStart = true;
    private readonly List<int> _indents = new() { 0 };
    private int _pendingDedents;
    private bool _done;
    private readonly Dictionary<string, string> _intern = new();

    public InterimTokenizer(byte[] utf8) => _src = utf8;

    public PythonSyntaxError? Error { get; private set; }

    public string NameOf(in Token token)
    {
        var s = Encoding.UTF8.GetString(_src, token.StartOffset, token.Length);
        if (!_intern.TryGetValue(s, out var v)) { s = s.Normalize(NormalizationForm.FormKC); _intern[s] = s; v = s; }
        return v;
    }

    private static readonly Dictionary<string, KeywordKind> Keywords = BuildKeywords();

    private static Dictionary<string, KeywordKind> BuildKeywords()
    {
        var d = new Dictionary<string, KeywordKind>();
        foreach (KeywordKind k in System.Enum.GetValues(typeof(KeywordKind)))
        {
            if (k == KeywordKind.None) continue;
            string name = k switch
            {
                KeywordKind.NoneKeyword => "None",
                KeywordKind.SoftMatch => "match",
                KeywordKind.SoftCase => "case",
                KeywordKind.SoftUnderscore => "_",
                KeywordKind.False or KeywordKind.True => k.ToString(),
                _ => k.ToString().ToLowerInvariant(),
            };
            d[name] = k;
        }
        return d;
    }

    private Token Make(TokenKind kind, OpKind op, int start, int end, KeywordKind kw = KeywordKind.None) =>
        new(kind, op, _line, start - _lineStart, _line, end - _lineStart, start, end, kw);

    public bool TryNext(out Token token)
    {
        if (_pendingDedents > 0)
        {
            _pendingDedents--;
            token = Make(TokenKind.Dedent, OpKind.None, _pos, _pos);
            return true;
        }
        if (_done) { token = Make(TokenKind.EndMarker, OpKind.None, _pos, _pos); return true; }
        while (true)
        {
            if (_atLineStart && _parenLevel == 0)
            {
                // measure indentation
                int col = 0, p = _pos;
                while (p < _src.Length && (_src[p] == ' ' || _src[p] == '\t' || _src[p] == '\f'))
                {
                    col = _src[p] == '\t' ? (col / 8 + 1) * 8 : _src[p] == '\f' ? 0 : col + 1;
                    p++;
                }
                if (p >= _src.Length)
                {
                    _pos = p;
                    return EndOfFile(out token);
                }
                byte c = _src[p];
                if (c == '#' || c == '\n' || c == '\r' || (c == '\\' && p + 1 < _src.Length && _src[p + 1] == '\n' && false))
                {
                    // blank or comment-only line
                    while (p < _src.Length && _src[p] != '\n' && _src[p] != '\r') p++;
                    _pos = p;
                    SkipNewline();
                    continue;
                }
                _pos = p;
                _atLineStart = false;
                int cur = _indents[^1];
                if (col > cur)
                {
                    _indents.Add(col);
                    token = Make(TokenKind.Indent, OpKind.None, _lineStart, _pos);
                    return true;
                }
                if (col < cur)
                {
                    int n = 0;
                    while (_indents[^1] > col) { _indents.RemoveAt(_indents.Count - 1); n++; }
                    if (_indents[^1] != col) return Fail("unindent does not match any outer indentation level", out token);
                    _pendingDedents = n - 1;
                    token = Make(TokenKind.Dedent, OpKind.None, _pos, _pos);
                    return true;
                }
            }
            // skip spaces
            while (_pos < _src.Length && (_src[_pos] == ' ' || _src[_pos] == '\t' || _src[_pos] == '\f')) _pos++;
            if (_pos >= _src.Length)
            {
                if (!_atLineStart && _parenLevel == 0)
                {
                    _atLineStart = true;
                    token = Make(TokenKind.Newline, OpKind.None, _pos, _pos);
                    return true;
                }
                return EndOfFile(out token);
            }
            byte ch = _src[_pos];
            if (ch == '#')
            {
                while (_pos < _src.Length && _src[_pos] != '\n' && _src[_pos] != '\r') _pos++;
                continue;
            }
            if (ch == '\\')
            {
                int p = _pos + 1;
                if (p < _src.Length && _src[p] == '\r') p++;
                if (p < _src.Length && _src[p] == '\n') { _pos = p; SkipNewline(); _atLineStart = false; continue; }
                return Fail("unexpected character after line continuation character", out token);
            }
            if (ch == '\n' || ch == '\r')
            {
                int start = _pos;
                if (_parenLevel > 0) { SkipNewline(); continue; }
                token = Make(TokenKind.Newline, OpKind.None, start, start + 1);
                SkipNewline();
                _atLineStart = true;
                return true;
            }
            int s = _pos;
            if (IsIdStart(ch))
            {
                while (_pos < _src.Length && IsIdChar(_src[_pos])) _pos++;
                if (_pos < _src.Length && (_src[_pos] == '"' || _src[_pos] == '\'') && IsStringPrefix(s, _pos))
                    return String(s, out token);
                var text = Encoding.UTF8.GetString(_src, s, _pos - s);
                Keywords.TryGetValue(text, out var kw);
                token = Make(TokenKind.Name, OpKind.None, s, _pos, kw);
                return true;
            }
            if (ch >= '0' && ch <= '9' || (ch == '.' && _pos + 1 < _src.Length && _src[_pos + 1] >= '0' && _src[_pos + 1] <= '9'))
            {
                Number();
                token = Make(TokenKind.Number, OpKind.None, s, _pos);
                return true;
            }
            if (ch == '"' || ch == '\'') return String(s, out token);
            var op = Operator(out int len);
            if (op == OpKind.None) return Fail("invalid character", out token);
            if (op is OpKind.LeftParen or OpKind.LeftSquareBracket or OpKind.LeftBrace) _parenLevel++;
            if (op is OpKind.RightParen or OpKind.RightSquareBracket or OpKind.RightBrace && _parenLevel > 0) _parenLevel--;
            _pos += len;
            token = Make(TokenKind.Op, op, s, _pos);
            return true;
        }
    }

    private bool EndOfFile(out Token token)
    {
        if (_indents.Count > 1)
        {
            _indents.RemoveAt(_indents.Count - 1);
            if (_line > 0 && _lineStart < _pos) { _line++; _lineStart = _pos; }
            token = Make(TokenKind.Dedent, OpKind.None, _pos, _pos);
            return true;
        }
        _done = true;
        if (_lineStart < _pos) { _line++; _lineStart = _pos; }
        token = Make(TokenKind.EndMarker, OpKind.None, _pos, _pos);
        return true;
    }

    private bool Fail(string message, out Token token)
    {
        Error = new PythonSyntaxError(message, _line, _pos - _lineStart + 1);
        token = default;
        return false;
    }

    private void SkipNewline()
    {
        if (_pos < _src.Length && _src[_pos] == '\r') _pos++;
        if (_pos < _src.Length && _src[_pos] == '\n') _pos++;
        _line++;
        _lineStart = _pos;
    }

    private static bool IsIdStart(byte c) => c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c >= 0x80;
    private static bool IsIdChar(byte c) => IsIdStart(c) || c >= '0' && c <= '9';

    private bool IsStringPrefix(int s, int e)
    {
        if (e - s > 2) return false;
        for (int i = s; i < e; i++)
        {
            char c = char.ToLowerInvariant((char)_src[i]);
            if (c != 'r' && c != 'b' && c != 'u' && c != 'f') return false;
        }
        return true;
    }

    private bool String(int start, out Token token)
    {
        int startLine = _line, startCol = start - _lineStart;
        byte q = _src[_pos];
        bool triple = _pos + 2 < _src.Length && _src[_pos + 1] == q && _src[_pos + 2] == q;
        _pos += triple ? 3 : 1;
        while (true)
        {
            if (_pos >= _src.Length) return Fail("unterminated string literal", out token);
            byte c = _src[_pos];
            if (c == '\\')
            {
                _pos++;
                if (_pos < _src.Length)
                {
                    if (_src[_pos] == '\r') { _pos++; if (_pos < _src.Length && _src[_pos] == '\n') _pos++; _line++; _lineStart = _pos; }
                    else if (_src[_pos] == '\n') { _pos++; _line++; _lineStart = _pos; }
                    else _pos++;
                }
                continue;
            }
            if (c == '\n' || c == '\r')
            {
                if (!triple) return Fail("unterminated string literal", out token);
                SkipNewline();
                continue;
            }
            if (c == q)
            {
                if (!triple) { _pos++; break; }
                if (_pos + 2 < _src.Length && _src[_pos + 1] == q && _src[_pos + 2] == q) { _pos += 3; break; }
            }
            _pos++;
        }
        token = new Token(TokenKind.String, OpKind.None, startLine, startCol, _line, _pos - _lineStart, start, _pos);
        return true;
    }

    private void Number()
    {
        byte c = _src[_pos];
        if (c == '0' && _pos + 1 < _src.Length && (_src[_pos + 1] | 0x20) is (byte)'x' or (byte)'o' or (byte)'b')
        {
            _pos += 2;
            while (_pos < _src.Length && (IsIdChar(_src[_pos]))) _pos++;
            return;
        }
        while (_pos < _src.Length && (_src[_pos] >= '0' && _src[_pos] <= '9' || _src[_pos] == '_')) _pos++;
        if (_pos < _src.Length && _src[_pos] == '.') { _pos++; while (_pos < _src.Length && (_src[_pos] >= '0' && _src[_pos] <= '9' || _src[_pos] == '_')) _pos++; }
        if (_pos < _src.Length && (_src[_pos] | 0x20) == 'e')
        {
            int p = _pos + 1;
            if (p < _src.Length && (_src[p] == '+' || _src[p] == '-')) p++;
            if (p < _src.Length && _src[p] >= '0' && _src[p] <= '9')
            {
                _pos = p;
                while (_pos < _src.Length && (_src[_pos] >= '0' && _src[_pos] <= '9' || _src[_pos] == '_')) _pos++;
            }
        }
        if (_pos < _src.Length && (_src[_pos] | 0x20) == 'j') _pos++;
    }

    private OpKind Operator(out int len)
    {
        byte a = _src[_pos];
        byte b = _pos + 1 < _src.Length ? _src[_pos + 1] : (byte)0;
        byte c = _pos + 2 < _src.Length ? _src[_pos + 2] : (byte)0;
        len = 3;
        if (a == '*' && b == '*' && c == '=') return OpKind.DoubleStarEqual;
        if (a == '/' && b == '/' && c == '=') return OpKind.DoubleSlashEqual;
        if (a == '<' && b == '<' && c == '=') return OpKind.LeftShiftEqual;
        if (a == '>' && b == '>' && c == '=') return OpKind.RightShiftEqual;
        if (a == '.' && b == '.' && c == '.') return OpKind.Ellipsis;
        len = 2;
        switch ((char)a, (char)b)
        {
            case ('*', '*'): return OpKind.DoubleStar;
            case ('/', '/'): return OpKind.DoubleSlash;
            case ('<', '<'): return OpKind.LeftShift;
            case ('>', '>'): return OpKind.RightShift;
            case ('=', '='): return OpKind.EqualEqual;
            case ('!', '='): return OpKind.NotEqual;
            case ('<', '>'): return OpKind.NotEqual;
            case ('<', '='): return OpKind.LessEqual;
            case ('>', '='): return OpKind.GreaterEqual;
            case ('+', '='): return OpKind.PlusEqual;
            case ('-', '='): return OpKind.MinusEqual;
            case ('*', '='): return OpKind.StarEqual;
            case ('/', '='): return OpKind.SlashEqual;
            case ('%', '='): return OpKind.PercentEqual;
            case ('&', '='): return OpKind.AmpersandEqual;
            case ('|', '='): return OpKind.VerticalBarEqual;
            case ('^', '='): return OpKind.CircumflexEqual;
            case ('@', '='): return OpKind.AtEqual;
            case ('-', '>'): return OpKind.RightArrow;
            case (':', '='): return OpKind.ColonEqual;
        }
        len = 1;
        return (char)a switch
        {
            '(' => OpKind.LeftParen, ')' => OpKind.RightParen, '[' => OpKind.LeftSquareBracket,
            ']' => OpKind.RightSquareBracket, ':' => OpKind.Colon, ',' => OpKind.Comma, ';' => OpKind.Semicolon,
            '+' => OpKind.Plus, '-' => OpKind.Minus, '*' => OpKind.Star, '/' => OpKind.Slash, '|' => OpKind.VerticalBar,
            '&' => OpKind.Ampersand, '<' => OpKind.Less, '>' => OpKind.Greater, '=' => OpKind.Equal, '.' => OpKind.Dot,
            '%' => OpKind.Percent, '{' => OpKind.LeftBrace, '}' => OpKind.RightBrace, '~' => OpKind.Tilde,
            '^' => OpKind.Circumflex, '@' => OpKind.At,
            _ => OpKind.None,
        };
    }
}
