using AnCoder.Syntax.Ast;
using Attribute = AnCoder.Syntax.Ast.Attribute;
using Tuple = AnCoder.Syntax.Ast.Tuple;
using AnCoder.Syntax.Parsing.Strings;
using AnCoder.Syntax.Tokenizing;

namespace AnCoder.Syntax.Parsing;

internal sealed partial class Parser : IFStringExpressionParser
{
    /// <summary>strings: STRING+ → _PyPegen_concatenate_strings over tokens [first, end).</summary>
    private ExprNode ConcatenateStrings(int first, int end)
    {
        // Interim: until the string-literal parser lands, only the node kind, Python type and kind="u" are right.
        bool isBytes = false, isF = false, isU = false;
        for (int i = first; i < end; i++)
        {
            ref readonly var t = ref _tokens[i];
            for (int j = t.StartOffset; j < t.EndOffset; j++)
            {
                byte b = _source[j];
                if (b == '\'' || b == '"') break;
                switch (b | 0x20)
                {
                    case 'b': isBytes = true; break;
                    case 'f': isF = true; break;
                    case 'u': if (i == first) isU = true; break;
                }
            }
        }
        if (isF) return At(new JoinedStr(), first);
        return At(new Constant { Value = isBytes ? new byte[0] : "", Kind = isU ? "u" : null }, first);
    }

    public ExprNode? ParseFStringExpression(byte[] text, int firstLineno, int firstLineColOffset, out PythonSyntaxError? error)
    {
        var sub = new Parser(new InterimTokenizer(text), text, firstLineno, firstLineColOffset);
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
}
