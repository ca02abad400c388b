namespace AnCoder.Syntax;

/// <summary>
/// Why a source was rejected, located like CPython's SyntaxError: 1-based line, 1-based column
/// (CPython's <c>offset</c>: characters, not bytes). Line 0 means "before the first line" (e.g. an encoding problem).
/// </summary>
public sealed record PythonSyntaxError(string Message, int Line, int Column)
{
    public override string ToString() => $"{Line}:{Column}: SyntaxError: {Message}";
}
