using AnCoder.Syntax.Ast;

namespace AnCoder.Syntax;

/// <summary>The outcome of parsing one source: a Module, or the syntax error CPython's <c>ast.parse</c> would raise.</summary>
public sealed class ParseResult
{
    public ParseResult(Module? module, PythonSyntaxError? error)
    {
        Module = module;
        Error = error;
    }

    public Module? Module { get; }
    public PythonSyntaxError? Error { get; }
    public bool Success => Module != null;
}

/// <summary>Entry point of the syntax frontend: CPython 3.11 <c>ast.parse</c> semantics.</summary>
public static class PythonParser
{
    /// <summary>Parses a file's bytes as <c>ast.parse(bytes)</c> does (BOM, encoding cookie, UTF-8 by default).</summary>
    public static ParseResult Parse(byte[] fileBytes) => throw new NotImplementedException();

    /// <summary>Parses an already decoded source as <c>ast.parse(str)</c> does.</summary>
    public static ParseResult Parse(string source) => throw new NotImplementedException();
}
