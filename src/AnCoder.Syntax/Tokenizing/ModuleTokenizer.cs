using AnCoder.Syntax.Text;

namespace AnCoder.Syntax.Tokenizing;

/// <summary>The token stream of Python 3.11's pure-Python <c>tokenize</c> module (Lib/tokenize.py).</summary>
internal sealed partial class ModuleTokenizer
{
    private readonly PythonTokenizer _owner;
    private readonly SourceText _text;

    public ModuleTokenizer(PythonTokenizer owner, SourceText text)
    {
        _owner = owner;
        _text = text;
    }

    public bool TryNext(out Token token, out PythonSyntaxError? error)
    {
        throw new NotImplementedException("tokenize-module mode is not implemented yet");
    }
}
