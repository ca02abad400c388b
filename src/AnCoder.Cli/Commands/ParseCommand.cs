using System.CommandLine;
using System.Text;
using AnCoder.Syntax;
using AnCoder.Syntax.Ast;

namespace AnCoder.Cli.Commands;

/// <summary>
/// <c>ancoder parse [--dump] FILE...</c>: check (or dump the AST of) Python files with our parser, in the format of
/// issue 2 (the same format as tests/AnCoder.Syntax.Tests/Reference/ast_dump.py prints for CPython).
/// </summary>
public static class ParseCommand
{
    /// <summary>Exit codes: 0 all parsed, 1 some file has a syntax error, 2 some file could not be read,
    /// 3 the parser itself failed on some file (a bug).</summary>
    private const int ExitOk = 0, ExitSyntaxError = 1, ExitIoError = 2, ExitInternalError = 3;

    /// <summary>Files parsed concurrently per batch; output stays in the order given.</summary>
    private const int BatchSize = 256;

    public static Command Create()
    {
        var dump = new Option<bool>("--dump")
        {
            Description = "Print each file's AST (one line per node, as Reference/ast_dump.py prints CPython's) instead of `FILE: ok`; "
                        + "a rejected file prints `!SyntaxError: <msg> (<line>:<col>)`. With several files each dump follows a `# <path>` line.",
        };
        var filesFrom = new Option<string?>("--files-from")
        {
            Description = "Also parse the paths listed in this file (one per line, or NUL-separated; `-` reads stdin).",
        };
        var files = new Argument<string[]>("files")
        {
            Description = "Python source files (read as bytes, decoded as CPython does: BOM, coding cookie, UTF-8 by default).",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var command = new Command("parse",
            "Parse Python files with CPython 3.11 ast.parse semantics; print `FILE: ok` or `FILE:LINE:COL: SyntaxError: message`. "
          + "Exit code: 0 all ok, 1 a syntax error, 2 a file could not be read, 3 internal parser error.");
        command.Options.Add(dump);
        command.Options.Add(filesFrom);
        command.Arguments.Add(files);
        command.SetAction(parseResult =>
        {
            var paths = new List<string>(parseResult.GetValue(files) ?? []);
            var listFile = parseResult.GetValue(filesFrom);
            if (listFile != null)
            {
                if (!TryReadFileList(listFile, paths)) return ExitIoError;
            }
            if (paths.Count == 0)
            {
                Console.Error.WriteLine("ancoder parse: no files given (usage: ancoder parse [--dump] FILE...)");
                return ExitIoError;
            }
            return Run(paths, parseResult.GetValue(dump));
        });
        return command;
    }

    private static bool TryReadFileList(string listFile, List<string> paths)
    {
        string text;
        try
        {
            text = listFile == "-" ? Console.In.ReadToEnd() : File.ReadAllText(listFile);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"{listFile}: cannot read file list: {DescribeIoError(listFile, e)}");
            return false;
        }
        char separator = text.Contains('\0') ? '\0' : '\n';
        foreach (var entry in text.Split(separator))
        {
            var path = separator == '\n' ? entry.TrimEnd('\r') : entry;
            if (path.Length > 0) paths.Add(path);
        }
        return true;
    }

    private enum Outcome { Ok, SyntaxError, IoError, InternalError }

    /// <summary>What one file produced: the stdout text (without `# path` header) or a stderr line.</summary>
    private readonly record struct FileReport(Outcome Outcome, string? Stdout, string? Stderr);

    private static int Run(List<string> paths, bool dump)
    {
        using var stdout = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false), 1 << 16) { NewLine = "\n" };
        bool withHeaders = dump && paths.Count > 1;
        int exitCode = ExitOk;
        var reports = new FileReport[Math.Min(BatchSize, paths.Count)];
        for (int start = 0; start < paths.Count; start += BatchSize)
        {
            int count = Math.Min(BatchSize, paths.Count - start);
            if (count == 1)
                reports[0] = ParseOne(paths[start], dump);
            else
                Parallel.For(0, count, i => reports[i] = ParseOne(paths[start + i], dump));

            for (int i = 0; i < count; i++)
            {
                var report = reports[i];
                if (report.Stderr != null)
                {
                    stdout.Flush();
                    Console.Error.WriteLine(report.Stderr);
                }
                if (report.Stdout != null)
                {
                    if (withHeaders) stdout.Write("# " + paths[start + i] + "\n");
                    stdout.Write(report.Stdout);
                }
                exitCode = Math.Max(exitCode, report.Outcome switch
                {
                    Outcome.Ok => ExitOk,
                    Outcome.SyntaxError => ExitSyntaxError,
                    Outcome.IoError => ExitIoError,
                    _ => ExitInternalError,
                });
            }
        }
        return exitCode;
    }

    private static FileReport ParseOne(string path, bool dump)
    {
        byte[] bytes;
        try
        {
            if (Directory.Exists(path)) return new(Outcome.IoError, null, $"{path}: cannot read: is a directory");
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            return new(Outcome.IoError, null, $"{path}: cannot read: {DescribeIoError(path, e)}");
        }

        AnCoder.Syntax.ParseResult result;
        try
        {
            // Without --dump only the verdict is needed: Check streams (memory stays at the largest top-level statement).
            result = dump ? PythonParser.Parse(bytes) : new AnCoder.Syntax.ParseResult(null, PythonParser.Check(bytes));
        }
        catch (Exception e)
        {
            // A parser bug: report it like a verdict (so corpus comparisons see it) but never with a stack trace.
            var what = $"{e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")}";
            return dump
                ? new(Outcome.InternalError, $"!InternalError: {what}\n", $"{path}: internal parser error: {what}")
                : new(Outcome.InternalError, null, $"{path}: internal parser error: {what}");
        }

        if (result.Error is { } error)
        {
            return dump
                ? new(Outcome.SyntaxError, $"!SyntaxError: {error.Message} ({error.Line}:{error.Column})\n", null)
                : new(Outcome.SyntaxError, $"{path}:{error}\n", null);
        }
        return new(Outcome.Ok, dump ? AstDump.Dump(result.Module!) : $"{path}: ok\n", null);
    }

    private static string DescribeIoError(string path, Exception e) => e switch
    {
        FileNotFoundException or DirectoryNotFoundException => "No such file or directory",
        UnauthorizedAccessException when Directory.Exists(path) => "is a directory",
        UnauthorizedAccessException => "Permission denied",
        PathTooLongException => "path too long",
        _ => e.Message,
    };
}
