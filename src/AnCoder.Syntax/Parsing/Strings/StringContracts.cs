using AnCoder.Syntax.Ast;
using AnCoder.Syntax.Text;
using AnCoder.Syntax.Tokenizing;

namespace AnCoder.Syntax.Parsing.Strings;

/// <summary>
/// Implemented by the parser: what string-literal parsing needs from it. Parses the expression of an f-string
/// replacement field the way CPython 3.11's <c>fstring_compile_expr</c> (Parser/string_parser.c) does with its
/// sub-parser, and locates errors the way the <c>strings</c> rule action raises them.
/// </summary>
internal interface IFStringExpressionParser
{
    /// <summary>
    /// Parses <paramref name="text"/> (UTF-8 of <c>"(" + expression source + ")"</c>) with the <c>fstring</c> start
    /// rule (<c>star_expressions</c>). The sub-tokenizer's first line is numbered <paramref name="firstLineno"/>;
    /// a token read while the sub-tokenizer is on that first line gets <paramref name="firstLineColOffset"/> added to
    /// its col_offset and end_col_offset (CPython's <c>p->starting_col_offset</c>). Returns null and sets
    /// <paramref name="error"/> on failure (CPython prefixes such messages with "f-string: " and subtracts
    /// starting_col_offset from the error's columns: <c>_PyPegen_raise_error_known_location</c>).
    /// </summary>
    ExprNode? ParseFStringExpression(byte[] text, int firstLineno, int firstLineColOffset, out PythonSyntaxError? error);

    /// <summary>
    /// The SyntaxError that CPython's <c>RAISE_SYNTAX_ERROR(message)</c> raises from inside the <c>strings</c> rule
    /// action: located at the last token the parser has fetched (<c>p->tokens[p->fill - 1]</c>, usually the token
    /// after the last STRING), column converted to characters like <c>_PyPegen_raise_error</c> does.
    /// Most string errors are reported this way ("cannot mix bytes and nonbytes literals", "(unicode error) ...",
    /// "f-string: ...").
    /// </summary>
    PythonSyntaxError SyntaxErrorAtLastToken(string message);

    /// <summary>
    /// The SyntaxError of CPython's <c>RAISE_SYNTAX_ERROR_KNOWN_LOCATION(token, message)</c>: at
    /// <paramref name="token"/>'s start (1-based column; CPython converts it to characters for str sources but
    /// leaves it in bytes for <c>ast.parse(bytes)</c>). Used for "bytes can only contain ASCII literal characters".
    /// </summary>
    PythonSyntaxError SyntaxErrorAtToken(string message, Token token);
}

/// <summary>
/// String literals: CPython 3.11's <c>_PyPegen_concatenate_strings</c>. A run of adjacent STRING tokens becomes a
/// Constant (str/bytes, <c>kind="u"</c> when the first token starts with a lower-case u) or a JoinedStr.
/// Implemented in this folder:
/// <code>
/// public static ExprNode? Concatenate(SourceText source, ReadOnlySpan&lt;Token&gt; tokens,
///     IFStringExpressionParser subParser, out PythonSyntaxError? error);
/// </code>
/// Returns null and sets <c>error</c> when CPython raises a SyntaxError. Like every SyntaxError of the parsing phase,
/// such an error is superseded by a tokenizer error later in the file (CPython's <c>_PyPegen_run_parser</c> calls
/// <c>_PyPegen_tokenize_full_source_to_check_for_errors</c>): that check is the parser's job.
/// <para>Positions (3.11): the Constant/JoinedStr spans first token start to last token end; so do the Constant and
/// FormattedValue parts of a JoinedStr, except that a format spec's JoinedStr, and the Constant that ends it, span the
/// STRING token holding the spec. Values keep CPython's newline translation (CRLF and lone CR read as LF). Python
/// strings are .NET strings: lone surrogates survive, but an adjacent high+low surrogate pair (e.g. from
/// <c>"\ud800\udc00"</c>) cannot be told from the astral character it spells.</para>
/// </summary>
internal static partial class StringLiteralParser
{
}
