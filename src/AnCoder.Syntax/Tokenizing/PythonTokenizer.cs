using System.Runtime.CompilerServices;
using System.Text;
using AnCoder.Syntax.Text;

namespace AnCoder.Syntax.Tokenizing;

/// <summary>Which token stream to produce.</summary>
public enum TokenizerMode
{
    /// <summary>CPython 3.11's C tokenizer (Parser/tokenizer.c) as the PEG parser sees it: no COMMENT/NL tokens,
    /// stops at the first error.</summary>
    Parser,
    /// <summary>The pure-Python <c>tokenize.tokenize</c> module of 3.11 (COMMENT, NL, ERRORTOKEN; no ENCODING).</summary>
    Module,
}

/// <summary>A whole token list plus the error that stopped tokenizing (null when it reached ENDMARKER).</summary>
public sealed record TokenizeResult(IReadOnlyList<Token> Tokens, PythonSyntaxError? Error);

/// <summary>A DeprecationWarning the tokenizer issued (e.g. "invalid decimal literal" for <c>1if x else y</c>).</summary>
public readonly record struct TokenizerWarning(string Message, int Line, int Column);

/// <summary>
/// Streaming Python tokenizer over a <see cref="SourceText"/>'s UTF-8 bytes. In <see cref="TokenizerMode.Parser"/>
/// mode it mirrors CPython 3.11's <c>tok_get</c> (Parser/tokenizer.c): tokens are produced lazily, so an error is
/// reported only when the token stream reaches it, exactly as the PEG parser would meet it.
/// <para>Parser-mode conventions: positions are CPython's (byte columns; a STRING starts on its first line; NEWLINE
/// is zero-width at the newline, or starts at a trailing comment as in CPython). INDENT/DEDENT, which CPython gives
/// column -1, are zero-width at the position where the next token starts. Token bytes are the source's: a STRING
/// spanning lines keeps CR/CRLF newlines where CPython's text has '\n'. After a generic syntax error CPython keeps
/// tokenizing to the end (<c>_PyPegen_tokenize_full_source_to_check_for_errors</c>): call <see cref="TryNext"/>
/// until it returns false and report <see cref="Error"/> if set.</para>
/// </summary>
public sealed partial class PythonTokenizer
{
    private const int Eof = -1;
    private const int MaxIndent = 100;  // MAXINDENT
    private const int MaxLevel = 200;   // MAXLEVEL
    private const int TabSize = 8;
    private const int AltTabSize = 1;

    private readonly SourceText _text;
    private readonly TokenizerMode _mode;
    private readonly ModuleTokenizer? _module;
    /// <summary>The source, with a '\n' appended when it does not end with a newline (CPython's translate_newlines
    /// does the same for exec input).</summary>
    private readonly byte[] _buf;
    private readonly int _length;

    private int _cur;
    private int _lineStart;
    private int _lineEnd;
    private int _lineNo;

    private bool _atBol = true;
    private int _pendin;
    private int _indent;
    // The indentation and bracket stacks start small and grow up to MaxIndent / MaxLevel: every f-string
    // replacement field gets a tokenizer of its own, and most nest a few levels at most.
    private int[] _indStack = new int[InitialStackSize];
    private int[] _altIndStack = new int[InitialStackSize];
    private int _level;
    private byte[] _parenStack = new byte[InitialStackSize];
    private int[] _parenLineStack = new int[InitialStackSize];
    private int[] _parenColStack = new int[InitialStackSize];
    private const int InitialStackSize = 8;

    private int _start;
    /// <summary>CPython's <c>tok->start != NULL</c>: a line read while a token is under way (a string or a
    /// backslash continuation) does not move <see cref="_bufStart"/>.</summary>
    private bool _tokenStarted;
    /// <summary>CPython's <c>tok->buf</c> for string input: the start of the line where the current run of lines
    /// began (used only by the "unexpected character after line continuation character" location).</summary>
    private int _bufStart;
    private int _firstLineNo;
    private int _multiLineStart;
    private bool _finished;
    private List<TokenizerWarning>? _warnings;

    private readonly NameTable _names = NameTable.ForThisThread();

    public PythonTokenizer(SourceText text, TokenizerMode mode = TokenizerMode.Parser)
    {
        _text = text;
        _mode = mode;
        byte[] utf8 = text.Utf8;
        // CPython's translate_newlines appends '\n' unless the text ends with one; a final CRLF does not count
        // (the loop ends on the skipped LF), so such a source gets an extra empty line.
        bool endsWithCrLf = utf8.Length >= 2 && utf8[^2] == '\r' && utf8[^1] == '\n';
        if (utf8.Length > 0 && (utf8[^1] == '\n' || utf8[^1] == '\r') && !endsWithCrLf)
        {
            _buf = utf8;
        }
        else
        {
            _buf = new byte[utf8.Length + 1];
            utf8.CopyTo(_buf, 0);
            _buf[^1] = (byte)'\n';
        }
        _length = _buf.Length;
        _sourceLength = utf8.Length;
        if (utf8.AsSpan().IndexOf((byte)0) >= 0)
        {
            Error = new PythonSyntaxError(SourceText.NullBytesMessage, 0, -1);
            _finished = true;
        }
        else if (mode == TokenizerMode.Module)
        {
            _module = new ModuleTokenizer(this, text);
        }
    }

    public SourceText Text => _text;
    public TokenizerMode Mode => _mode;

    /// <summary>The error that ended tokenizing (1-based line, CPython's 1-based character offset), or null.</summary>
    public PythonSyntaxError? Error { get; private set; }

    /// <summary>True once reading went past the last line (CPython's <c>tok->done == E_EOF</c>, which an
    /// unterminated string at the end also sets): the token stream ran into the end of the input.</summary>
    public bool ReachedEnd { get; private set; }

    private long _work;

    /// <summary>Bytes this tokenizer has examined so far, counting every rescan (parser mode; the module mode's own
    /// scanner is not counted): a machine-independent measure of its cost for the linear-work tests.</summary>
    public long Work => _work;

    /// <summary>DeprecationWarnings issued so far (CPython's <c>parser_warn</c>).</summary>
    public IReadOnlyList<TokenizerWarning> Warnings => _warnings ?? (IReadOnlyList<TokenizerWarning>)Array.Empty<TokenizerWarning>();

    /// <summary>Produces the next token; false once ENDMARKER has been returned or after an error (see <see cref="Error"/>).</summary>
    public bool TryNext(out Token token)
    {
        if (_finished)
        {
            token = default;
            return false;
        }
        if (_module is not null)
        {
            bool ok = _module.TryNext(out token, out PythonSyntaxError? moduleError);
            if (!ok)
            {
                _finished = true;
                Error = moduleError;
            }
            else if (token.Kind == TokenKind.EndMarker) _finished = true;
            return ok;
        }
        if (!GetToken(out token))
        {
            _finished = true;
            return false;
        }
        if (token.Kind == TokenKind.EndMarker) _finished = true;
        return true;
    }

    /// <summary>Tokenizes the whole source (the token list up to ENDMARKER or the error).</summary>
    public static TokenizeResult Tokenize(SourceText text, TokenizerMode mode = TokenizerMode.Parser)
    {
        var tokenizer = new PythonTokenizer(text, mode);
        var tokens = new List<Token>(text.Utf8.Length / 4 + 16);
        while (tokenizer.TryNext(out Token token)) tokens.Add(token);
        return new TokenizeResult(tokens, tokenizer.Error);
    }

    /// <summary>The token's bytes in the source (empty for INDENT/DEDENT/ENDMARKER and the implicit final NEWLINE).</summary>
    public ReadOnlySpan<byte> Bytes(in Token token)
    {
        int end = Math.Min(token.EndOffset, _text.Utf8.Length);
        int start = Math.Min(token.StartOffset, end);
        return _text.Utf8.AsSpan(start, end - start);
    }

    /// <summary>
    /// The identifier of a NAME token as the AST holds it: NFKC-normalised when non-ASCII (CPython's
    /// <c>_PyPegen_new_identifier</c>). Cached per distinct spelling, so repeated names do not allocate.
    /// </summary>
    public string NameOf(in Token token) => _names.Get(_text.Utf8.AsSpan(token.StartOffset, token.EndOffset - token.StartOffset), out _);

    /// <summary><see cref="NameOf"/> of the NAME token <see cref="TryNext"/> returned last (parser mode): looked up
    /// when the token was read, so the parser's token fill needs no second lookup.</summary>
    internal string LastName => _lastName!;
    private string? _lastName;

    /// <summary>True for a NOTEQUAL token spelled <c>&lt;&gt;</c> (only valid with <c>barry_as_FLUFL</c>).</summary>
    public bool IsLegacyNotEqual(in Token token) => token.Op == OpKind.NotEqual && _buf[token.StartOffset] == '<';

    // ---------------------------------------------------------------- character reading (tok_nextc/tok_backup)

    /// <summary>CPython's <c>tok_nextc</c> over newline-translated input: CRLF and a lone CR read as '\n'.
    /// The line number advances when the first character of the next line is read.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int NextC()
    {
        _work++;
        if (_cur < _lineEnd)
        {
            int b = _buf[_cur++];
            if (b == '\r')
            {
                if (_cur < _lineEnd) _cur++; // CRLF
                return '\n';
            }
            return b;
        }
        return NextLine();
    }

    private int NextLine()
    {
        if (_cur >= _length)
        {
            ReachedEnd = true;
            return Eof;
        }
        _lineNo++;
        _lineStart = _cur;
        if (!_tokenStarted) _bufStart = _cur;
        int k = _buf.AsSpan(_cur).IndexOfAny((byte)'\n', (byte)'\r');
        _work += k;
        int end = _cur + k; // the buffer always ends with a newline
        if (_buf[end] == '\r' && end + 1 < _length && _buf[end + 1] == '\n') end++;
        _lineEnd = end + 1;
        return NextC();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Backup(int c)
    {
        if (c == Eof) return;
        _cur--;
        // A CRLF was read as one '\n': step back over both bytes.
        if (c == '\n' && _buf[_cur] == '\n' && _cur > _lineStart && _buf[_cur - 1] == '\r') _cur--;
    }

    // ---------------------------------------------------------------- tok_get

    /// <summary>A token on the current line. Offsets past the source (the implicit final newline and EOF) are
    /// clamped to the source length; columns count the implicit newline as CPython does.</summary>
    private Token Make(TokenKind kind, OpKind op, int start, int end, KeywordKind keyword = KeywordKind.None)
    {
        int length = _sourceLength;
        return new(kind, op, _lineNo, start - _lineStart, _lineNo, end - _lineStart, Math.Min(start, length),
            Math.Min(end, length), keyword);
    }

    /// <summary>The source's length in bytes (without the newline <see cref="_buf"/> may have appended).</summary>
    private readonly int _sourceLength;

    private bool GetToken(out Token token)
    {
        token = default;
        int c;
        bool blankline;
    nextline:
        _tokenStarted = false;
        blankline = false;
        if (_atBol)
        {
            int col = 0, altcol = 0, contLineCol = 0;
            _atBol = false;
            for (;;)
            {
                c = NextC();
                if (c == ' ')
                {
                    // The rest of a run of spaces directly (the line's newline byte stops it).
                    int run = _cur;
                    while (_buf[run] == ' ') run++;
                    int n = 1 + run - _cur;
                    _work += run - _cur;
                    _cur = run;
                    col += n;
                    altcol += n;
                }
                else if (c == '\t')
                {
                    col = (col / TabSize + 1) * TabSize;
                    altcol = (altcol / AltTabSize + 1) * AltTabSize;
                }
                else if (c == '\f') { col = altcol = 0; }
                else if (c == '\\')
                {
                    // Indentation cannot be split with backslashes: the first backslash's column decides.
                    contLineCol = contLineCol != 0 ? contLineCol : col;
                    if (!ContinuationLine(out token)) return false;
                }
                else break;
            }
            Backup(c);
            if (c == '#' || c == '\n') blankline = true;
            if (!blankline && _level == 0)
            {
                if (contLineCol != 0)
                {
                    col = contLineCol;
                    altcol = contLineCol;
                }
                if (col == _indStack[_indent])
                {
                    if (altcol != _altIndStack[_indent]) return IndentError(out token);
                }
                else if (col > _indStack[_indent])
                {
                    if (_indent + 1 >= MaxIndent)
                    {
                        _cur = _lineEnd;
                        return Fail("too many levels of indentation", _lineNo, 1, out token);
                    }
                    if (altcol <= _altIndStack[_indent]) return IndentError(out token);
                    _pendin++;
                    if (_indent + 1 == _indStack.Length)
                    {
                        Array.Resize(ref _indStack, Math.Min(MaxIndent, _indStack.Length * 2));
                        Array.Resize(ref _altIndStack, _indStack.Length);
                    }
                    _indStack[++_indent] = col;
                    _altIndStack[_indent] = altcol;
                }
                else
                {
                    while (_indent > 0 && col < _indStack[_indent])
                    {
                        _pendin--;
                        _indent--;
                    }
                    if (col != _indStack[_indent])
                    {
                        _cur = _lineEnd;
                        return Fail("unindent does not match any outer indentation level", _lineNo, 0, out token, useLineLength: true);
                    }
                    if (altcol != _altIndStack[_indent]) return IndentError(out token);
                }
            }
        }

        _start = _cur;
        _tokenStarted = true;
        if (_pendin != 0)
        {
            if (_pendin < 0)
            {
                _pendin++;
                token = Make(TokenKind.Dedent, OpKind.None, _cur, _cur);
            }
            else
            {
                _pendin--;
                token = Make(TokenKind.Indent, OpKind.None, _cur, _cur);
            }
            return true;
        }

    again:
        _tokenStarted = false;
        // Fast path over spaces within the line (no line change can happen before the newline byte).
        while (_cur < _lineEnd && _buf[_cur] == ' ') _cur++;
        do c = NextC(); while (c == ' ' || c == '\t' || c == '\f');
        _start = _cur - 1;
        _tokenStarted = true;

        if (c == '#')
        {
            // The comment runs to the line's newline, which the line end already located.
            int newline = _lineEnd - 1;
            if (_buf[newline] == '\n' && newline > _lineStart && _buf[newline - 1] == '\r') newline--;
            if (_cur < newline) _cur = newline;
            while (c != Eof && c != '\n') c = NextC();
        }

        if (c == Eof)
        {
            if (_level > 0) return UnclosedParenthesis(out token);
            token = Make(TokenKind.EndMarker, OpKind.None, _cur, _cur);
            return true;
        }

        if (IsPotentialIdentifierStart(c))
            return Identifier(c, out token);

        if (c == '\n')
        {
            _atBol = true;
            if (blankline || _level > 0) goto nextline;
            int nl = _cur - 1;
            if (_buf[nl] == '\n' && nl > _lineStart && _buf[nl - 1] == '\r') nl--;
            // Like CPython, a NEWLINE after a comment starts at the comment and ends before the newline.
            token = Make(TokenKind.Newline, OpKind.None, _start <= nl ? _start : nl, nl);
            return true;
        }

        if (c == '.')
        {
            c = NextC();
            if (IsDigit(c)) return Fraction(c, out token);
            if (c == '.')
            {
                c = NextC();
                if (c == '.')
                {
                    token = Make(TokenKind.Op, OpKind.Ellipsis, _start, _cur);
                    return true;
                }
                Backup(c);
                Backup('.');
            }
            else Backup(c);
            token = Make(TokenKind.Op, OpKind.Dot, _start, _cur);
            return true;
        }

        if (IsDigit(c)) return Number(c, out token);

        if (c == '\'' || c == '"') return StringLiteral(c, out token);

        if (c == '\\')
        {
            if (!ContinuationLine(out token)) return false;
            goto again;
        }

        // Two- and three-character operators (none starts with a bracket, ',' ';' or '~').
        if (c is not ('(' or ')' or '[' or ']' or '{' or '}' or ',' or ';' or '~'))
        {
            int c2 = NextC();
            OpKind op2 = TwoChars(c, c2);
            if (op2 != OpKind.None)
            {
                int c3 = NextC();
                OpKind op3 = ThreeChars(c, c2, c3);
                if (op3 != OpKind.None) op2 = op3;
                else Backup(c3);
                token = Make(TokenKind.Op, op2, _start, _cur);
                return true;
            }
            Backup(c2);
        }

        switch (c)
        {
            case '(':
            case '[':
            case '{':
                if (_level >= MaxLevel) return SyntaxErrorAtCur("too many nested parentheses", out token);
                if (_level == _parenStack.Length)
                {
                    Array.Resize(ref _parenStack, Math.Min(MaxLevel, _parenStack.Length * 2));
                    Array.Resize(ref _parenLineStack, _parenStack.Length);
                    Array.Resize(ref _parenColStack, _parenStack.Length);
                }
                _parenStack[_level] = (byte)c;
                _parenLineStack[_level] = _lineNo;
                _parenColStack[_level] = _start - _lineStart;
                _level++;
                break;
            case ')':
            case ']':
            case '}':
                if (_level == 0) return SyntaxErrorAtCur($"unmatched '{(char)c}'", out token);
                _level--;
                int opening = _parenStack[_level];
                if (!((opening == '(' && c == ')') || (opening == '[' && c == ']') || (opening == '{' && c == '}')))
                {
                    string message = _parenLineStack[_level] != _lineNo
                        ? $"closing parenthesis '{(char)c}' does not match opening parenthesis '{(char)opening}' on line {_parenLineStack[_level]}"
                        : $"closing parenthesis '{(char)c}' does not match opening parenthesis '{(char)opening}'";
                    return SyntaxErrorAtCur(message, out token);
                }
                break;
        }

        if (c < 0x20 || c == 0x7F)
            return SyntaxErrorAtCur($"invalid non-printable character U+{c:X4}", out token);

        token = Make(TokenKind.Op, OneChar(c), _start, _cur);
        return true;
    }

    /// <summary>CPython's <c>tok_continuation_line</c>, after a backslash was read.</summary>
    private bool ContinuationLine(out Token token)
    {
        token = default;
        int c = NextC();
        if (c != '\n')
        {
            // E_LINECONT: pegen reports cur - buf (bytes), where buf may still be on an earlier line.
            int column = _cur - _bufStart;
            var span = _buf.AsSpan(_bufStart, _cur - _bufStart);
            for (int i = span.IndexOf("\r\n"u8); i >= 0; i = span.Slice(i + 2).IndexOf("\r\n"u8) is int k and >= 0 ? i + 2 + k : -1)
                column--; // CPython counts a translated CRLF as one byte
            return Fail("unexpected character after line continuation character", _lineNo, column, out token);
        }
        c = NextC();
        if (c == Eof)
        {
            _cur = _length;
            return Fail("unexpected EOF while parsing", _lineNo, 0, out token, useLineLength: true);
        }
        Backup(c);
        return true;
    }

    private bool Identifier(int c, out Token token)
    {
        bool sawB = false, sawR = false, sawU = false, sawF = false;
        while (true)
        {
            if (!(sawB || sawU || sawF) && (c == 'b' || c == 'B')) sawB = true;
            else if (!(sawB || sawU || sawR || sawF) && (c == 'u' || c == 'U')) sawU = true;
            else if (!(sawR || sawU) && (c == 'r' || c == 'R')) sawR = true;
            else if (!(sawF || sawB || sawU) && (c == 'f' || c == 'F')) sawF = true;
            else break;
            c = NextC();
            if (c == '"' || c == '\'') return StringLiteral(c, out token);
        }
        bool nonAscii = false;
        if (IsPotentialIdentifierChar(c))
        {
            // Scan the rest directly: the line's newline byte always stops it.
            if (c >= 128) nonAscii = true;
            var table = IdentifierChars;
            byte[] buf = _buf;
            int i = _cur;
            while (true)
            {
                byte b = buf[i];
                if (table[b] == 0) break;
                if (b >= 128) nonAscii = true;
                i++;
            }
            _cur = i;
        }
        else Backup(c);
        if (nonAscii && !VerifyIdentifier(out token)) return false;
        // The spelling's string and keyword class come from the name table, classified once per spelling.
        _lastName = _names.Get(_buf.AsSpan(_start, _cur - _start), out var keyword);
        token = Make(TokenKind.Name, OpKind.None, _start, _cur, keyword);
        return true;
    }

    /// <summary>CPython's <c>verify_identifier</c>: the UTF-8 must decode and every character must be XID
    /// (checked on the raw, not normalised, characters).</summary>
    private bool VerifyIdentifier(out Token token)
    {
        token = default;
        var span = _buf.AsSpan(_start, _cur - _start);
        int invalidUtf8 = Utf8Validation.FirstInvalidIndex(span, out string reason, out int errorLength);
        if (invalidUtf8 < span.Length)
        {
            // E_DECODE: pegen words it as a "(unicode error)"; its offset is the token's end as a byte column.
            string message = Utf8Validation.DecodeErrorMessage("utf-8", span, invalidUtf8, errorLength, reason);
            return Fail("(unicode error) " + message, _lineNo, _cur - _lineStart, out token);
        }
        int offset = 0;
        bool first = true;
        while (offset < span.Length)
        {
            System.Text.Rune.DecodeFromUtf8(span[offset..], out System.Text.Rune rune, out int consumed);
            int cp = rune.Value;
            bool ok = first ? (cp == '_' || UnicodeTables.IsXidStart(cp)) : UnicodeTables.IsXidContinue(cp);
            if (!ok)
            {
                int end = offset + consumed;
                if (end < span.Length) _cur = _start + end;
                string message = UnicodeTables.IsPrintable(cp)
                    ? $"invalid character '{char.ConvertFromUtf32(cp)}' (U+{cp:X4})"
                    : $"invalid non-printable character U+{cp:X4}";
                return SyntaxErrorAtCur(message, out token);
            }
            first = false;
            offset += consumed;
        }
        return true;
    }

    private bool StringLiteral(int quote, out Token token)
    {
        int quoteSize = 1;
        int endQuoteSize = 0;
        _firstLineNo = _lineNo;
        _multiLineStart = _lineStart;
        int c = NextC();
        if (c == quote)
        {
            c = NextC();
            if (c == quote) quoteSize = 3;
            else endQuoteSize = 1; // empty string
        }
        if (c != quote) Backup(c);

        var stops = quote == '"' ? DoubleQuoteStops : SingleQuoteStops;
        while (endQuoteSize != quoteSize)
        {
            // Skip plain characters within the line in one search.
            int plain = _buf.AsSpan(_cur, _lineEnd - _cur).IndexOfAny(stops);
            _work += Math.Max(plain, 0);
            if (plain > 0)
            {
                _cur += plain;
                endQuoteSize = 0;
            }
            c = NextC();
            if (c == Eof || (quoteSize == 1 && c == '\n'))
            {
                int detectedAt = _lineNo;
                int column = CountChars(_multiLineStart, _start + 1);
                string message = quoteSize == 3
                    ? $"unterminated triple-quoted string literal (detected at line {detectedAt})"
                    : $"unterminated string literal (detected at line {detectedAt})";
                return Fail(message, _firstLineNo, column, out token);
            }
            if (c == quote) endQuoteSize++;
            else
            {
                endQuoteSize = 0;
                if (c == '\\') NextC();
            }
        }
        token = new Token(TokenKind.String, OpKind.None, _firstLineNo, _start - _multiLineStart, _lineNo,
            _cur - _lineStart, _start, _cur);
        return true;
    }

    private bool Number(int c, out Token token)
    {
        token = default;
        if (c == '0')
        {
            c = NextC();
            if (c == 'x' || c == 'X')
            {
                c = NextC();
                do
                {
                    if (c == '_') c = NextC();
                    if (!IsHexDigit(c))
                    {
                        Backup(c);
                        return SyntaxErrorAtCur("invalid hexadecimal literal", out token);
                    }
                    do c = NextC(); while (IsHexDigit(c));
                } while (c == '_');
                if (!VerifyEndOfNumber(c, "hexadecimal", out token)) return false;
            }
            else if (c == 'o' || c == 'O')
            {
                c = NextC();
                do
                {
                    if (c == '_') c = NextC();
                    if (c < '0' || c >= '8')
                    {
                        if (IsDigit(c)) return SyntaxErrorAtCur($"invalid digit '{(char)c}' in octal literal", out token);
                        Backup(c);
                        return SyntaxErrorAtCur("invalid octal literal", out token);
                    }
                    do c = NextC(); while ('0' <= c && c < '8');
                } while (c == '_');
                if (IsDigit(c)) return SyntaxErrorAtCur($"invalid digit '{(char)c}' in octal literal", out token);
                if (!VerifyEndOfNumber(c, "octal", out token)) return false;
            }
            else if (c == 'b' || c == 'B')
            {
                c = NextC();
                do
                {
                    if (c == '_') c = NextC();
                    if (c != '0' && c != '1')
                    {
                        if (IsDigit(c)) return SyntaxErrorAtCur($"invalid digit '{(char)c}' in binary literal", out token);
                        Backup(c);
                        return SyntaxErrorAtCur("invalid binary literal", out token);
                    }
                    do c = NextC(); while (c == '0' || c == '1');
                } while (c == '_');
                if (IsDigit(c)) return SyntaxErrorAtCur($"invalid digit '{(char)c}' in binary literal", out token);
                if (!VerifyEndOfNumber(c, "binary", out token)) return false;
            }
            else
            {
                bool nonzero = false;
                while (true)
                {
                    if (c == '_')
                    {
                        c = NextC();
                        if (!IsDigit(c))
                        {
                            Backup(c);
                            return SyntaxErrorAtCur("invalid decimal literal", out token);
                        }
                    }
                    if (c != '0') break;
                    c = NextC();
                }
                if (IsDigit(c))
                {
                    nonzero = true;
                    c = DecimalTail(out token);
                    if (c == 0) return false;
                }
                if (c == '.')
                {
                    c = NextC();
                    return Fraction(c, out token);
                }
                if (c == 'e' || c == 'E') return Exponent(c, out token);
                if (c == 'j' || c == 'J') return Imaginary(out token);
                if (nonzero)
                {
                    Backup(c);
                    // syntaxerror_known_range with a byte-based column.
                    return Fail("leading zeros in decimal integer literals are not permitted; use an 0o prefix for octal integers",
                        _lineNo, _start + 1 - _lineStart, out token);
                }
                if (!VerifyEndOfNumber(c, "decimal", out token)) return false;
            }
            Backup(c);
            token = Make(TokenKind.Number, OpKind.None, _start, _cur);
            return true;
        }

        c = DecimalTail(out token);
        if (c == 0) return false;
        if (c == '.')
        {
            c = NextC();
            return Fraction(c, out token);
        }
        return AfterFraction(c, out token);
    }

    /// <summary>The "fraction:" label of tok_get: <paramref name="c"/> is the character after the '.'.</summary>
    private bool Fraction(int c, out Token token)
    {
        token = default;
        if (IsDigit(c))
        {
            c = DecimalTail(out token);
            if (c == 0) return false;
        }
        return AfterFraction(c, out token);
    }

    private bool AfterFraction(int c, out Token token)
    {
        if (c == 'e' || c == 'E') return Exponent(c, out token);
        if (c == 'j' || c == 'J') return Imaginary(out token);
        if (!VerifyEndOfNumber(c, "decimal", out token)) return false;
        Backup(c);
        token = Make(TokenKind.Number, OpKind.None, _start, _cur);
        return true;
    }

    private bool Exponent(int e, out Token token)
    {
        token = default;
        int c = NextC();
        if (c == '+' || c == '-')
        {
            c = NextC();
            if (!IsDigit(c))
            {
                Backup(c);
                return SyntaxErrorAtCur("invalid decimal literal", out token);
            }
        }
        else if (!IsDigit(c))
        {
            Backup(c);
            if (!VerifyEndOfNumber(e, "decimal", out token)) return false;
            Backup(e);
            token = Make(TokenKind.Number, OpKind.None, _start, _cur);
            return true;
        }
        c = DecimalTail(out token);
        if (c == 0) return false;
        if (c == 'j' || c == 'J') return Imaginary(out token);
        if (!VerifyEndOfNumber(c, "decimal", out token)) return false;
        Backup(c);
        token = Make(TokenKind.Number, OpKind.None, _start, _cur);
        return true;
    }

    private bool Imaginary(out Token token)
    {
        int c = NextC();
        if (!VerifyEndOfNumber(c, "imaginary", out token)) return false;
        Backup(c);
        token = Make(TokenKind.Number, OpKind.None, _start, _cur);
        return true;
    }

    /// <summary>CPython's <c>tok_decimal_tail</c>: returns the first character after the digits, or 0 on error.</summary>
    private int DecimalTail(out Token token)
    {
        token = default;
        int c;
        while (true)
        {
            do c = NextC(); while (IsDigit(c));
            if (c != '_') break;
            c = NextC();
            if (!IsDigit(c))
            {
                Backup(c);
                SyntaxErrorAtCur("invalid decimal literal", out token);
                return 0;
            }
        }
        return c;
    }

    /// <summary>
    /// CPython 3.11's <c>verify_end_of_number</c>: a number directly followed by <c>and else for if in is not or</c>
    /// is accepted with a DeprecationWarning; followed by any other identifier character it is an error.
    /// </summary>
    private bool VerifyEndOfNumber(int c, string kind, out Token token)
    {
        token = default;
        bool r = false;
        switch (c)
        {
            case 'a': r = Lookahead("nd"u8); break;
            case 'e': r = Lookahead("lse"u8); break;
            case 'f': r = Lookahead("or"u8); break;
            case 'i':
                int c2 = NextC();
                r = c2 == 'f' || c2 == 'n' || c2 == 's';
                Backup(c2);
                break;
            case 'o': r = Lookahead("r"u8); break;
            case 'n': r = Lookahead("ot"u8); break;
        }
        if (r)
        {
            Backup(c);
            (_warnings ??= new()).Add(new TokenizerWarning($"invalid {kind} literal", _lineNo, CharsBefore(_cur)));
            NextC();
            return true;
        }
        // Only an ASCII identifier character is an error here; a non-ASCII one starts the next token.
        if (c < 128 && IsPotentialIdentifierChar(c))
        {
            Backup(c);
            SyntaxErrorAtCur($"invalid {kind} literal", out token);
            return false;
        }
        return true;
    }

    /// <summary>CPython's <c>lookahead</c>: the next characters spell <paramref name="test"/> and end there.</summary>
    private bool Lookahead(ReadOnlySpan<byte> test)
    {
        int saved = _cur;
        int savedLineStart = _lineStart, savedLineEnd = _lineEnd, savedLineNo = _lineNo;
        bool result = false;
        int i = 0;
        while (true)
        {
            int c = NextC();
            if (i == test.Length)
            {
                result = !IsPotentialIdentifierChar(c);
                break;
            }
            if (c != test[i]) break;
            i++;
        }
        _cur = saved;
        _lineStart = savedLineStart;
        _lineEnd = savedLineEnd;
        _lineNo = savedLineNo;
        return result;
    }

    // ---------------------------------------------------------------- errors

    private bool IndentError(out Token token)
    {
        _cur = _lineEnd;
        // E_TABSPACE is raised at column 0 of the line (offset 1).
        return Fail("inconsistent use of tabs and spaces in indentation", _lineNo, 1, out token);
    }

    private bool UnclosedParenthesis(out Token token)
    {
        int i = _level - 1;
        int line = _parenLineStack[i];
        // pegen reports the opening bracket's byte column plus one.
        return Fail($"'{(char)_parenStack[i]}' was never closed", line, _parenColStack[i] + 1, out token);
    }

    /// <summary>CPython's <c>syntaxerror</c>: located at the character count from the line start to the cursor.</summary>
    private bool SyntaxErrorAtCur(string message, out Token token) => Fail(message, _lineNo, CharsBefore(_cur), out token);

    private bool Fail(string message, int line, int column, out Token token, bool useLineLength = false)
    {
        token = default;
        if (useLineLength)
        {
            // The line's length in bytes, its newline counted once (CPython sees CRLF as '\n').
            column = _lineEnd - _lineStart;
            if (column >= 2 && _buf[_lineEnd - 1] == '\n' && _buf[_lineEnd - 2] == '\r') column--;
        }
        Error ??= new PythonSyntaxError(message, line, column);
        return false;
    }

    /// <summary>Characters between the current line start and <paramref name="position"/> (CR of a CRLF excluded).</summary>
    private int CharsBefore(int position) => CountChars(_lineStart, position);

    private int CountChars(int from, int to)
    {
        if (to > _length) to = _length;
        var span = _buf.AsSpan(from, Math.Max(0, to - from));
        _work += span.Length;
        int count = SourceText.CountChars(span);
        // CPython counts a translated CRLF as a single '\n'.
        int crlf = 0;
        for (int i = span.IndexOf((byte)'\r'); i >= 0 && i + 1 < span.Length; )
        {
            if (span[i + 1] == '\n') crlf++;
            int next = span[(i + 1)..].IndexOf((byte)'\r');
            i = next < 0 ? -1 : i + 1 + next;
        }
        return count - crlf;
    }

    // ---------------------------------------------------------------- character classes and operator tables

    private static readonly System.Buffers.SearchValues<byte> SingleQuoteStops = System.Buffers.SearchValues.Create("'\\\r\n"u8);
    private static readonly System.Buffers.SearchValues<byte> DoubleQuoteStops = System.Buffers.SearchValues.Create("\"\\\r\n"u8);

    /// <summary>1 for bytes that continue an identifier (ASCII letters, digits, '_', any byte >= 128).</summary>
    private static ReadOnlySpan<byte> IdentifierChars =>
    [
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0,
        0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1,
        0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0,
        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    ];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsDigit(int c) => (uint)(c - '0') <= 9;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsHexDigit(int c) => (uint)(c - '0') <= 9 || (uint)((c | 0x20) - 'a') <= 5;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool IsPotentialIdentifierStart(int c) => (uint)((c | 0x20) - 'a') <= 25 || c == '_' || c >= 128;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool IsPotentialIdentifierChar(int c) =>
        (uint)((c | 0x20) - 'a') <= 25 || (uint)(c - '0') <= 9 || c == '_' || c >= 128;

    internal static OpKind OneChar(int c) => c switch
    {
        '%' => OpKind.Percent, '&' => OpKind.Ampersand, '(' => OpKind.LeftParen, ')' => OpKind.RightParen,
        '*' => OpKind.Star, '+' => OpKind.Plus, ',' => OpKind.Comma, '-' => OpKind.Minus, '.' => OpKind.Dot,
        '/' => OpKind.Slash, ':' => OpKind.Colon, ';' => OpKind.Semicolon, '<' => OpKind.Less, '=' => OpKind.Equal,
        '>' => OpKind.Greater, '@' => OpKind.At, '[' => OpKind.LeftSquareBracket, ']' => OpKind.RightSquareBracket,
        '^' => OpKind.Circumflex, '{' => OpKind.LeftBrace, '|' => OpKind.VerticalBar, '}' => OpKind.RightBrace,
        '~' => OpKind.Tilde,
        _ => OpKind.Unknown,
    };

    /// <summary>PyToken_TwoChars (3.11 Parser/token.c); None when the pair is not an operator.</summary>
    internal static OpKind TwoChars(int c1, int c2)
    {
        switch (c1)
        {
            case '!': return c2 == '=' ? OpKind.NotEqual : OpKind.None;
            case '%': return c2 == '=' ? OpKind.PercentEqual : OpKind.None;
            case '&': return c2 == '=' ? OpKind.AmpersandEqual : OpKind.None;
            case '*': return c2 == '*' ? OpKind.DoubleStar : c2 == '=' ? OpKind.StarEqual : OpKind.None;
            case '+': return c2 == '=' ? OpKind.PlusEqual : OpKind.None;
            case '-': return c2 == '=' ? OpKind.MinusEqual : c2 == '>' ? OpKind.RightArrow : OpKind.None;
            case '/': return c2 == '/' ? OpKind.DoubleSlash : c2 == '=' ? OpKind.SlashEqual : OpKind.None;
            case ':': return c2 == '=' ? OpKind.ColonEqual : OpKind.None;
            case '<':
                return c2 switch { '<' => OpKind.LeftShift, '=' => OpKind.LessEqual, '>' => OpKind.NotEqual, _ => OpKind.None };
            case '=': return c2 == '=' ? OpKind.EqualEqual : OpKind.None;
            case '>': return c2 == '=' ? OpKind.GreaterEqual : c2 == '>' ? OpKind.RightShift : OpKind.None;
            case '@': return c2 == '=' ? OpKind.AtEqual : OpKind.None;
            case '^': return c2 == '=' ? OpKind.CircumflexEqual : OpKind.None;
            case '|': return c2 == '=' ? OpKind.VerticalBarEqual : OpKind.None;
            default: return OpKind.None;
        }
    }

    /// <summary>PyToken_ThreeChars (3.11).</summary>
    internal static OpKind ThreeChars(int c1, int c2, int c3)
    {
        if (c3 == '=')
        {
            if (c1 == '*' && c2 == '*') return OpKind.DoubleStarEqual;
            if (c1 == '/' && c2 == '/') return OpKind.DoubleSlashEqual;
            if (c1 == '<' && c2 == '<') return OpKind.LeftShiftEqual;
            if (c1 == '>' && c2 == '>') return OpKind.RightShiftEqual;
        }
        else if (c1 == '.' && c2 == '.' && c3 == '.') return OpKind.Ellipsis;
        return OpKind.None;
    }
}
