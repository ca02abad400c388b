using System;
using System.Collections.Generic;
using System.Text;
using AnCoder.Syntax.Ast;
using AnCoder.Syntax.Text;
using AnCoder.Syntax.Tokenizing;

namespace AnCoder.Syntax.Parsing.Strings;

internal static partial class StringLiteralParser
{
    /// <summary>
    /// CPython 3.11's <c>_PyPegen_concatenate_strings</c> over a run of adjacent STRING tokens (each token is the
    /// whole literal with prefix and quotes). Returns a Constant or JoinedStr positioned like CPython, or null with
    /// <paramref name="error"/> set.
    /// </summary>
    public static ExprNode? Concatenate(SourceText source, ReadOnlySpan<Token> tokens, IFStringExpressionParser subParser,
        out PythonSyntaxError? error)
    {
        error = null;
        if (tokens.Length == 0) throw new ArgumentException("no STRING tokens", nameof(tokens));  // a parser bug
        if (tokens.Length == 1)
        {
            var plain = TryPlainLiteral(source.Utf8, tokens[0]);
            if (plain != null) return plain;
        }
        var concatenation = new Concatenation(source, subParser, tokens[0], tokens[^1]);
        var result = concatenation.Run(tokens);
        error = concatenation.Error;
        return result;
    }

    /// <summary>The common case: a single str/bytes literal whose body needs no escape decoding and no newline
    /// translation. Null when the general path must handle it.</summary>
    private static Constant? TryPlainLiteral(byte[] utf8, in Token token)
    {
        var text = utf8.AsSpan(token.StartOffset, token.Length);
        var quoteIndex = ParsePrefix(text, out bool bytesMode, out bool rawMode, out bool fMode);
        if (fMode || !TryGetBody(text, quoteIndex, out int bodyStart, out int bodyLength)) return null;
        var body = text.Slice(bodyStart, bodyLength);
        int special = rawMode ? body.IndexOf((byte)'\r') : body.IndexOfAny((byte)'\\', (byte)'\r');
        if (special >= 0) return null;
        object value;
        if (bytesMode)
        {
            if (body.IndexOfAnyInRange((byte)0x80, (byte)0xFF) >= 0) return null;
            value = body.ToArray();
        }
        else
        {
            if (!System.Text.Unicode.Utf8.IsValid(body)) return null;
            value = StringConstants.FromUtf8(body);
        }
        var constant = new Constant { Value = value, Kind = text[0] == (byte)'u' ? "u" : null };
        constant.SetPosition(token.StartLine, token.StartColumn, token.EndLine, token.EndColumn);
        return constant;
    }

    /// <summary>Reads the prefix letters (_PyPegen_parsestr); returns the index of the opening quote or -1.</summary>
    private static int ParsePrefix(ReadOnlySpan<byte> text, out bool bytesMode, out bool rawMode, out bool fMode)
    {
        bytesMode = rawMode = fMode = false;
        int i = 0;
        for (; i < text.Length; i++)
        {
            switch (text[i])
            {
                case (byte)'b' or (byte)'B': bytesMode = true; continue;
                case (byte)'r' or (byte)'R': rawMode = true; continue;
                case (byte)'u' or (byte)'U': continue;
                case (byte)'f' or (byte)'F': fMode = true; continue;
                case (byte)'\'' or (byte)'"': return i;
                default: return -1;
            }
        }
        return -1;
    }

    /// <summary>
    /// The body between the quotes (_PyPegen_parsestr), given the opening quote's index. False for text that is no
    /// well-formed literal, which the tokenizer never produces (CPython raises SystemError there).
    /// </summary>
    private static bool TryGetBody(ReadOnlySpan<byte> text, int quoteIndex, out int start, out int length)
    {
        start = length = 0;
        if (quoteIndex < 0 || text.Length < quoteIndex + 2) return false;
        byte quote = text[quoteIndex];
        if (text[^1] != quote) return false;
        start = quoteIndex + 1;
        length = text.Length - start - 1;
        if (length >= 4 && text[start] == quote && text[start + 1] == quote)
        {
            if (text[^2] != quote || text[^3] != quote) return false;
            start += 2;
            length -= 4;
        }
        return true;
    }

    /// <summary>Python's str.isspace for ASCII (Py_ISSPACE).</summary>
    private static bool IsPySpace(byte b) => b is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r' or 0x0B or 0x0C;

    /// <summary>FstringParser of Parser/string_parser.c: the pending literal text and the expression list.</summary>
    private sealed class FStringState
    {
        // The pending literal text: a single piece as is, several pieces in a builder.
        private string? _single;
        private StringBuilder? _builder;
        private List<ExprNode>? _values;
        public bool FMode;

        public bool HasText => _single != null || _builder != null;
        public List<ExprNode> Values => _values ??= new List<ExprNode>();

        public void Append(string text)
        {
            if (_builder != null) _builder.Append(text);
            else if (_single == null) _single = text;
            else
            {
                _builder = new StringBuilder(_single.Length + text.Length + 16).Append(_single).Append(text);
                _single = null;
            }
        }

        public string TakeText()
        {
            string text = _builder?.ToString() ?? _single ?? string.Empty;
            _single = null;
            _builder = null;
            return text;
        }
    }

    /// <summary>One <c>_PyPegen_concatenate_strings</c> call.</summary>
    private sealed class Concatenation
    {
        private const int MaxParenLevel = 200;  // MAXLEVEL in string_parser.c

        private readonly SourceText _source;
        private readonly IFStringExpressionParser _subParser;
        private readonly Token _first;
        private readonly Token _last;

        // The token being parsed: its (newline-translated) bytes live in _buffer[_tokenStart.._tokenEnd).
        private Token _token;
        private byte[] _buffer = Array.Empty<byte>();
        private int _tokenStart;
        private int _tokenEnd;

        public PythonSyntaxError? Error;

        public Concatenation(SourceText source, IFStringExpressionParser subParser, Token first, Token last)
        {
            _source = source;
            _subParser = subParser;
            _first = first;
            _last = last;
        }

        public ExprNode? Run(ReadOnlySpan<Token> tokens)
        {
            var state = new FStringState();
            bool bytesMode = false;
            List<byte>? bytesValue = null;
            for (int i = 0; i < tokens.Length; i++)
            {
                SelectToken(tokens[i]);
                var text = _buffer.AsSpan(_tokenStart, _tokenEnd - _tokenStart);
                int quoteIndex = ParsePrefix(text, out bool thisBytesMode, out bool rawMode, out bool fMode);
                if (!TryGetBody(text, quoteIndex, out int bodyStart, out int bodyLength))
                    return Fail(_subParser.SyntaxErrorAtToken("invalid string literal", _token));
                bodyStart += _tokenStart;
                var body = _buffer.AsSpan(bodyStart, bodyLength);

                object? value = null;
                if (!fMode)
                {
                    value = thisBytesMode ? ParseBytesBody(body, rawMode) : ParseStrBody(body, rawMode);
                    if (value == null) return null;
                }
                if (i != 0 && bytesMode != thisBytesMode)
                    return Fail(_subParser.SyntaxErrorAtLastToken("cannot mix bytes and nonbytes literals"));
                bytesMode = thisBytesMode;

                if (fMode)
                {
                    int pos = bodyStart;
                    if (!ConcatFString(state, ref pos, bodyStart + bodyLength, rawMode, 0, _first, _last)) return null;
                }
                else if (bytesMode)
                {
                    bytesValue ??= new List<byte>();
                    bytesValue.AddRange((byte[])value!);
                }
                else
                {
                    ConcatAndDel(state, (string)value!);
                }
            }
            if (bytesMode)
            {
                var constant = new Constant { Value = bytesValue!.ToArray() };
                constant.SetPosition(_first.StartLine, _first.StartColumn, _last.EndLine, _last.EndColumn);
                return constant;
            }
            return Finish(state, _first, _last);
        }

        /// <summary>Makes <paramref name="token"/> current; its text gets CPython's newline translation
        /// (\r\n and lone \r become \n) when needed.</summary>
        private void SelectToken(in Token token)
        {
            SelectTokenText(token);
            ResetLineScan();
        }

        private void SelectTokenText(in Token token)
        {
            _token = token;
            var raw = _source.Utf8.AsSpan(token.StartOffset, token.Length);
            if (raw.IndexOf((byte)'\r') < 0)
            {
                _buffer = _source.Utf8;
                _tokenStart = token.StartOffset;
                _tokenEnd = token.EndOffset;
                return;
            }
            var translated = new List<byte>(raw.Length);
            for (int i = 0; i < raw.Length; i++)
            {
                if (raw[i] == (byte)'\r')
                {
                    translated.Add((byte)'\n');
                    if (i + 1 < raw.Length && raw[i + 1] == (byte)'\n') i++;
                }
                else translated.Add(raw[i]);
            }
            _buffer = translated.ToArray();
            _tokenStart = 0;
            _tokenEnd = _buffer.Length;
        }

        private string? ParseStrBody(ReadOnlySpan<byte> body, bool rawMode)
        {
            // _PyPegen_parsestr: without a backslash the body is decoded as raw text.
            var value = rawMode || body.IndexOf((byte)'\\') < 0
                ? EscapeDecoding.DecodeUtf8(body, out string? message)
                : EscapeDecoding.DecodeUnicodeEscapes(body, out message);
            if (value == null) Fail(_subParser.SyntaxErrorAtLastToken("(unicode error) " + message));
            return value;
        }

        private byte[]? ParseBytesBody(ReadOnlySpan<byte> body, bool rawMode)
        {
            if (body.IndexOfAnyInRange((byte)0x80, (byte)0xFF) >= 0)
            {
                // RAISE_SYNTAX_ERROR_KNOWN_LOCATION(t, ...): at the token itself.
                Fail(_subParser.SyntaxErrorAtToken("bytes can only contain ASCII literal characters", _token));
                return null;
            }
            if (rawMode) return body.ToArray();
            var value = EscapeDecoding.DecodeBytesEscapes(body, out string? message);
            if (value == null) Fail(_subParser.SyntaxErrorAtLastToken("(value error) " + message));
            return value;
        }

        private ExprNode? Fail(PythonSyntaxError error)
        {
            Error ??= error;
            return null;
        }

        private bool FailAtLastToken(string message)
        {
            Fail(_subParser.SyntaxErrorAtLastToken(message));
            return false;
        }

        // _PyPegen_FstringParser_ConcatAndDel
        private static void ConcatAndDel(FStringState state, string text)
        {
            if (text.Length == 0) return;
            state.Append(text);
        }

        // make_str_node_and_del
        private Constant MakeStrNode(FStringState state, in Token first, in Token last)
        {
            string value = StringConstants.Share(state.TakeText());
            var constant = new Constant { Value = value, Kind = _source.Utf8[first.StartOffset] == (byte)'u' ? "u" : null };
            constant.SetPosition(first.StartLine, first.StartColumn, last.EndLine, last.EndColumn);
            return constant;
        }

        // _PyPegen_FstringParser_Finish
        private ExprNode Finish(FStringState state, in Token first, in Token last)
        {
            if (!state.FMode)
            {
                return MakeStrNode(state, first, last);
            }
            if (state.HasText) state.Values.Add(MakeStrNode(state, first, last));
            var joined = new JoinedStr { Values = state.Values };
            joined.SetPosition(first.StartLine, first.StartColumn, last.EndLine, last.EndColumn);
            return joined;
        }

        // _PyPegen_FstringParser_ConcatFstring: parses f-string text [pos, end) into state.
        private bool ConcatFString(FStringState state, ref int pos, int end, bool raw, int recurseLevel,
            in Token first, in Token last)
        {
            state.FMode = true;
            while (true)
            {
                // fstring_find_literal_and_expr
                int result = FindLiteral(ref pos, end, raw, recurseLevel, out string? literal);
                if (result < 0) return false;
                if (literal != null) ConcatAndDel(state, literal);
                if (result == 1) continue;  // a doubled brace: keep scanning
                if (pos >= end || _buffer[pos] == (byte)'}') break;

                if (!FindExpr(ref pos, end, raw, recurseLevel, first, last, out string? exprText, out var expression))
                    return false;
                if (exprText != null) ConcatAndDel(state, exprText);
                if (state.HasText) state.Values.Add(MakeStrNode(state, first, last));
                state.Values.Add(expression!);
            }
            if (recurseLevel == 0 && pos < end - 1) return FailAtLastToken("f-string: unexpected end of string");
            if (recurseLevel != 0 && (pos >= end || _buffer[pos] != (byte)'}')) return FailAtLastToken("f-string: expecting '}'");
            return true;
        }

        // fstring_find_literal: returns -1 on error, 1 after a doubled brace, else 0.
        private int FindLiteral(ref int pos, int end, bool raw, int recurseLevel, out string? literal)
        {
            literal = null;
            int s = pos;
            int literalStart = s;
            int result = 0;
            int literalEnd;
            while (true)
            {
                if (s >= end) { pos = s; literalEnd = s; break; }
                byte ch = _buffer[s++];
                if (!raw && ch == (byte)'\\' && s < end)
                {
                    ch = _buffer[s++];
                    if (ch == (byte)'N')
                    {
                        // Skip "\N{...}" so its braces are not taken for a replacement field.
                        if (s < end && _buffer[s++] == (byte)'{')
                        {
                            while (s < end && _buffer[s++] != (byte)'}') { }
                        }
                        continue;
                    }
                    // "\{" falls through: the brace still opens a field (a DeprecationWarning for the "\").
                }
                if (ch == (byte)'{' || ch == (byte)'}')
                {
                    if (recurseLevel == 0)
                    {
                        if (s < end && _buffer[s] == ch)
                        {
                            pos = s + 1;
                            literalEnd = s;
                            result = 1;
                            break;
                        }
                        if (ch == (byte)'}')
                        {
                            pos = s - 1;
                            FailAtLastToken("f-string: single '}' is not allowed");
                            return -1;
                        }
                    }
                    s--;
                    pos = s;
                    literalEnd = s;
                    break;
                }
            }
            if (literalStart != literalEnd)
            {
                var text = _buffer.AsSpan(literalStart, literalEnd - literalStart);
                literal = raw
                    ? EscapeDecoding.DecodeUtf8(text, out string? message)
                    : EscapeDecoding.DecodeUnicodeEscapes(text, out message);
                if (literal == null)
                {
                    FailAtLastToken("(unicode error) " + message);
                    return -1;
                }
            }
            return result;
        }

        // fstring_find_expr: pos is at the '{'.
        private bool FindExpr(ref int pos, int end, bool raw, int recurseLevel, in Token first, in Token last,
            out string? exprText, out ExprNode? expression)
        {
            exprText = null;
            expression = null;
            if (recurseLevel >= 2) return FailAtLastToken("f-string: expressions nested too deeply");

            pos++;
            int exprStart = pos;
            byte quoteChar = 0;
            int stringType = 0;
            int nestedDepth = 0;
            Span<byte> parenStack = stackalloc byte[MaxParenLevel];
            for (; pos < end; pos++)
            {
                byte ch = _buffer[pos];
                if (ch == (byte)'\\') return FailAtLastToken("f-string expression part cannot include a backslash");
                if (quoteChar != 0)
                {
                    if (ch == quoteChar)
                    {
                        if (stringType == 3)
                        {
                            if (pos + 2 < end && _buffer[pos + 1] == ch && _buffer[pos + 2] == ch)
                            {
                                pos += 2;
                                stringType = 0;
                                quoteChar = 0;
                            }
                        }
                        else
                        {
                            stringType = 0;
                            quoteChar = 0;
                        }
                    }
                    continue;
                }
                if (ch == (byte)'\'' || ch == (byte)'"')
                {
                    if (pos + 2 < end && _buffer[pos + 1] == ch && _buffer[pos + 2] == ch)
                    {
                        stringType = 3;
                        pos += 2;
                    }
                    else stringType = 1;
                    quoteChar = ch;
                }
                else if (ch == (byte)'[' || ch == (byte)'{' || ch == (byte)'(')
                {
                    if (nestedDepth >= MaxParenLevel) return FailAtLastToken("f-string: too many nested parenthesis");
                    parenStack[nestedDepth++] = ch;
                }
                else if (ch == (byte)'#')
                {
                    return FailAtLastToken("f-string expression part cannot include '#'");
                }
                else if (nestedDepth == 0 && (ch == (byte)'!' || ch == (byte)':' || ch == (byte)'}' ||
                                              ch == (byte)'=' || ch == (byte)'>' || ch == (byte)'<'))
                {
                    if (pos + 1 < end)
                    {
                        byte next = _buffer[pos + 1];
                        if (next == (byte)'=' && ch is (byte)'!' or (byte)'=' or (byte)'<' or (byte)'>')
                        {
                            pos++;  // "!=", "==", "<=", ">="
                            continue;
                        }
                    }
                    if (ch == (byte)'>' || ch == (byte)'<') continue;
                    break;
                }
                else if (ch == (byte)']' || ch == (byte)'}' || ch == (byte)')')
                {
                    if (nestedDepth == 0) return FailAtLastToken($"f-string: unmatched '{(char)ch}'");
                    byte opening = parenStack[--nestedDepth];
                    if (!((opening == (byte)'(' && ch == (byte)')') || (opening == (byte)'[' && ch == (byte)']') ||
                          (opening == (byte)'{' && ch == (byte)'}')))
                        return FailAtLastToken(
                            $"f-string: closing parenthesis '{(char)ch}' does not match opening parenthesis '{(char)opening}'");
                }
            }
            int exprEnd = pos;
            if (quoteChar != 0) return FailAtLastToken("f-string: unterminated string");
            if (nestedDepth != 0) return FailAtLastToken($"f-string: unmatched '{(char)parenStack[nestedDepth - 1]}'");
            if (pos >= end) return FailAtLastToken("f-string: expecting '}'");

            var simpleExpression = CompileExpr(exprStart, exprEnd);
            if (simpleExpression == null) return false;

            if (_buffer[pos] == (byte)'=')
            {
                pos++;
                while (pos < end && IsPySpace(_buffer[pos])) pos++;
                if (pos >= end) return FailAtLastToken("f-string: expecting '}'");
                exprText = Encoding.UTF8.GetString(_buffer.AsSpan(exprStart, pos - exprStart));
            }

            int conversion = -1;
            if (_buffer[pos] == (byte)'!')
            {
                pos++;
                if (pos >= end) return FailAtLastToken("f-string: expecting '}'");
                conversion = _buffer[pos];
                pos++;
                if (!(conversion == 's' || conversion == 'r' || conversion == 'a'))
                    return FailAtLastToken("f-string: invalid conversion character: expected 's', 'r', or 'a'");
            }

            ExprNode? formatSpec = null;
            if (pos < end && _buffer[pos] == (byte)':')
            {
                pos++;
                if (pos >= end) return FailAtLastToken("f-string: expecting '}'");
                // fstring_parse: the spec's own JoinedStr (and its trailing Constant) spans the current token only.
                var specState = new FStringState();
                if (!ConcatFString(specState, ref pos, end, raw, recurseLevel + 1, first, last)) return false;
                formatSpec = Finish(specState, _token, _token);
            }

            if (pos >= end || _buffer[pos] != (byte)'}') return FailAtLastToken("f-string: expecting '}'");
            pos++;

            if (exprText != null && formatSpec == null && conversion == -1) conversion = 'r';

            var formatted = new FormattedValue { Value = simpleExpression, Conversion = conversion, FormatSpec = formatSpec };
            formatted.SetPosition(first.StartLine, first.StartColumn, last.EndLine, last.EndColumn);
            expression = formatted;
            return true;
        }

        // fstring_compile_expr: [exprStart, exprEnd) is the expression text; exprStart - 1 is its '{'.
        private ExprNode? CompileExpr(int exprStart, int exprEnd)
        {
            int s = exprStart;
            while (s != exprEnd && _buffer[s] is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\f') s++;
            if (s == exprEnd)
            {
                byte terminator = _buffer[exprEnd];
                if (terminator is (byte)'!' or (byte)':' or (byte)'=')
                    return FailExpr($"f-string: expression required before '{(char)terminator}'");
                return FailExpr("f-string: empty expression not allowed");
            }

            var (lines, cols) = FindExprLocation(exprStart - 1);
            int length = exprEnd - exprStart;
            var text = new byte[length + 2];
            text[0] = (byte)'(';
            _buffer.AsSpan(exprStart, length).CopyTo(text.AsSpan(1));
            text[length + 1] = (byte)')';

            int firstLineno = _token.StartLine + lines;
            int firstLineColOffset = lines != 0 ? cols : _token.StartColumn + cols;
            var result = _subParser.ParseFStringExpression(text, firstLineno, firstLineColOffset, out var error);
            if (result == null)
                Fail(error ?? _subParser.SyntaxErrorAtLastToken("f-string: invalid syntax"));
            return result;
        }

        private ExprNode? FailExpr(string message)
        {
            FailAtLastToken(message);
            return null;
        }

        // fstring_find_expr_location: newlines of the token before the '{' and the '{' column on its line
        // (0 when only whitespace separates the '{' from a newline: the expression then starts on a later line).
        // CPython rescans the token from its start for every field; fields come in increasing position order
        // within a token, so the scan resumes where the previous one stopped (linear, not quadratic).
        private (int Lines, int Cols) FindExprLocation(int bracePos)
        {
            bool newlineAfterBrace = true;
            for (int i = bracePos + 1; i < _tokenEnd && _buffer[i] != (byte)'}' && _buffer[i] != (byte)'\n'; i++)
            {
                if (_buffer[i] != (byte)' ' && _buffer[i] != (byte)'\t' && _buffer[i] != (byte)'\f')
                {
                    newlineAfterBrace = false;
                    break;
                }
            }
            if (_scanPos > bracePos) ResetLineScan();
            for (; _scanPos < bracePos; _scanPos++)
            {
                if (_buffer[_scanPos] == (byte)'\n')
                {
                    _scanLines++;
                    _scanLastNewline = _scanPos;
                }
            }
            int cols = 0;
            if (!newlineAfterBrace)
                cols = _scanLastNewline >= 0 ? bracePos - _scanLastNewline - 1 : bracePos - _tokenStart;
            return (_scanLines, cols);
        }

        private int _scanPos, _scanLines, _scanLastNewline;

        private void ResetLineScan()
        {
            _scanPos = _tokenStart;
            _scanLines = 0;
            _scanLastNewline = -1;
        }
    }
}
