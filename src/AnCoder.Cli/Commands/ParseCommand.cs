using System.CommandLine;

namespace AnCoder.Cli.Commands;

/// <summary><c>ancoder parse [--dump] FILE...</c>: check (or dump the AST of) Python files with our parser.</summary>
public static class ParseCommand
{
    public static Command Create()
    {
        var command = new Command("parse", "Parse Python files with CPython 3.11 ast.parse semantics; print `FILE: ok` or the syntax error.");
        return command;
    }
}
