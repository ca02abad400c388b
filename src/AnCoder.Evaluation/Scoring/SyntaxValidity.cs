using AnCoder.Syntax;

namespace AnCoder.Evaluation.Scoring;

/// <summary>Decides whether a text is a valid Python module. Null means "cannot tell" (no parser available).</summary>
public interface ISyntaxChecker
{
    bool? IsValid(string source);

    /// <summary>Why a source is invalid (for results.jsonl), when the checker can say.</summary>
    string? DescribeError(string source) => null;
}

/// <summary>Syntax validity with our own frontend, which mirrors CPython 3.11's <c>ast.parse</c>.</summary>
public sealed class AnCoderSyntaxChecker : ISyntaxChecker
{
    public bool? IsValid(string source) => PythonParser.Parse(source).Success;

    public string? DescribeError(string source)
    {
        var error = PythonParser.Parse(source).Error;
        return error is null ? null : $"line {error.Line}, column {error.Column}: {error.Message}";
    }
}
