using AnCoder.Syntax.Ast;
using AnCoder.Syntax.Text;
using AnCoder.Syntax.Tokenizing;

namespace AnCoder.Syntax.Parsing.Strings;

/// <summary>
/// Implemented by the parser: parses the expression of an f-string replacement field the way CPython 3.11's
/// <c>fstring_compile_expr</c> (Parser/string_parser.c) does with its sub-parser.
/// </summary>
internal interface IFStringExpressionParser
{
    /// <summary>
    /// Parses <paramref name="text"/> (UTF-8 of <c>"(" + expression source + ")"</c>) with the <c>fstring</c> start
    /// rule (<c>star_expressions</c>). The sub-tokenizer's first line is numbered <paramref name="firstLineno"/>;
    /// a token read while the sub-tokenizer is on that first line gets <paramref name="firstLineColOffset"/> added to
    /// its col_offset and end_col_offset (CPython's <c>p->starting_col_offset</c>). Returns null and sets
    /// <paramref name="error"/> on failure.
    /// </summary>
    ExprNode? ParseFStringExpression(byte[] text, int firstLineno, int firstLineColOffset, out PythonSyntaxError? error);
}

/// <summary>
/// String literals: CPython 3.11's <c>_PyPegen_concatenate_strings</c>. A run of adjacent STRING tokens becomes a
/// Constant (str/bytes, <c>kind="u"</c> when the first token has a u prefix) or a JoinedStr. Implemented in this folder.
/// </summary>
internal static partial class StringLiteralParser
{
    // public static ExprNode? Concatenate(SourceText source, ReadOnlySpan<Token> tokens,
    //     IFStringExpressionParser subParser, out PythonSyntaxError? error);
}
