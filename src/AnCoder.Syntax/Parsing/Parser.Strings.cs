using AnCoder.Syntax.Ast;
using AnCoder.Syntax.Parsing.Strings;
using AnCoder.Syntax.Text;
using AnCoder.Syntax.Tokenizing;

namespace AnCoder.Syntax.Parsing;

internal sealed partial class Parser : IFStringExpressionParser
{
    /// <summary>strings: STRING+ → _PyPegen_concatenate_strings over tokens [first, end).</summary>
    private ExprNode ConcatenateStrings(int first, int end)
    {
        var result = StringLiteralParser.Concatenate(_text, new System.ReadOnlySpan<Token>(_tokens, first, end - first), this, out var error);
        if (result == null) throw new ParseAbort(error ?? SyntaxErrorAtLastToken("invalid string literal"));
        return result;
    }

    public ExprNode? ParseFStringExpression(byte[] text, int firstLineno, int firstLineColOffset, out PythonSyntaxError? error)
    {
        var sub = new Parser(SourceText.FromUtf8(text), _bytesSource, firstLineno, firstLineColOffset);
        try
        {
            error = null;
            return sub.ParseFStringExpression();
        }
        catch (ParseAbort abort)
        {
            error = abort.Error;
            return null;
        }
        finally
        {
            sub.Release();
        }
    }

    public PythonSyntaxError SyntaxErrorAtLastToken(string message) => ErrorAtToken(System.Math.Max(0, _fill - 1), message, prefix: false);

    public PythonSyntaxError SyntaxErrorAtToken(string message, Token token) =>
        ErrorAt(token.StartLine, token.StartColumn, token.StartOffset - token.StartColumn, message, prefix: false);
}
