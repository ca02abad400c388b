using AnCoder.Syntax;

namespace AnCoder.Evaluation.Scoring;

/// <summary>Decides whether a text is a valid Python module. Null means "cannot tell" (no parser available).</summary>
public interface ISyntaxChecker
{
    bool? IsValid(string source);
}

/// <summary>Syntax validity with our own frontend, which mirrors CPython 3.11's <c>ast.parse</c>.</summary>
public sealed class AnCoderSyntaxChecker : ISyntaxChecker
{
    private volatile bool _parserMissing;

    /// <summary>True once the parser was found to be a stub; validity is then reported as unavailable.</summary>
    public bool ParserMissing => _parserMissing;

    public bool? IsValid(string source)
    {
        if (_parserMissing)
            return null;
        try
        {
            return PythonParser.Parse(source).Success;
        }
        catch (NotImplementedException)
        {
            _parserMissing = true;
            return null;
        }
    }
}
