using System.Text;
using System.Threading;
using AnCoder.Syntax.Ast;
using AnCoder.Syntax.Parsing;
using AnCoder.Syntax.Text;

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

/// <summary>The outcome of <see cref="PythonParser.ParseCompact(byte[])"/>: the tree, or the syntax error.</summary>
public sealed record CompactParseResult(CompactTree? Tree, PythonSyntaxError? Error)
{
    public bool Success => Tree != null;
}

/// <summary>Entry point of the syntax frontend: CPython 3.11 <c>ast.parse</c> semantics.</summary>
public static partial class PythonParser
{
    /// <summary>Stack the parser may use on the caller's thread (well within .NET's smallest default, 1.5 MB).
    /// Ordinary code nests a few hundred rule levels; deeper inputs are re-parsed on a dedicated thread.</summary>
    private const int CallerStackBudgetBytes = 384 * 1024;

    /// <summary>Parses a file's bytes as <c>ast.parse(bytes)</c> does (BOM, encoding cookie, UTF-8 by default).</summary>
    public static ParseResult Parse(byte[] fileBytes)
    {
        if (!SourceText.TryDecode(fileBytes, out var text, out var error)) return new ParseResult(null, error);
        return ParseText(text!, bytesSource: true);
    }

    /// <summary>Parses an already decoded source as <c>ast.parse(str)</c> does.</summary>
    public static ParseResult Parse(string source) => ParseText(SourceText.FromString(source), bytesSource: false);

    /// <summary>
    /// The verdict of <see cref="Parse(byte[])"/> (null when accepted, else the same error) without keeping the tree:
    /// top-level statements are checked and dropped as they are parsed, so memory stays at the size of the source
    /// plus the largest top-level statement instead of growing with the tree. A rejected source is parsed once more
    /// in full for CPython's exact message and location.
    /// </summary>
    public static PythonSyntaxError? Check(byte[] fileBytes)
    {
        if (!SourceText.TryDecode(fileBytes, out var text, out var error)) return error;
        return CheckText(text!, bytesSource: true);
    }

    /// <summary><see cref="Check(byte[])"/> for an already decoded source (<c>ast.parse(str)</c>).</summary>
    public static PythonSyntaxError? Check(string source) => CheckText(SourceText.FromString(source), bytesSource: false);

    private static PythonSyntaxError? CheckText(SourceText text, bool bytesSource)
    {
        bool accepted = OnBigEnoughStack(() => StreamOnThisThread(text, bytesSource), tooDeep: false);
        return accepted ? null : ParseText(text, bytesSource, predicting: false).Error;
    }

    /// <summary>
    /// Parses as <see cref="Parse(byte[])"/> does and returns the tree as a <see cref="CompactTree"/>: flat records
    /// instead of node objects, written as each top-level statement is finished (the statement's objects are then
    /// dropped), so a large source needs about half the memory of <see cref="Parse(byte[])"/> and the GC never walks
    /// the tree. The same nodes come back from <see cref="CompactTree.ToModule"/>; a rejected source gets the same
    /// error as <see cref="Parse(byte[])"/>.
    /// </summary>
    public static CompactParseResult ParseCompact(byte[] fileBytes)
    {
        if (!SourceText.TryDecode(fileBytes, out var text, out var error)) return new CompactParseResult(null, error);
        return ParseCompactText(text!, bytesSource: true);
    }

    /// <summary><see cref="ParseCompact(byte[])"/> for an already decoded source (<c>ast.parse(str)</c>).</summary>
    public static CompactParseResult ParseCompact(string source) => ParseCompactText(SourceText.FromString(source), bytesSource: false);

    private static CompactParseResult ParseCompactText(SourceText text, bool bytesSource)
    {
        var tree = OnBigEnoughStack(() =>
        {
            // A fresh tree per attempt: a parse that ran out of stack is repeated on a bigger one from the start.
            var target = CompactTree.Start(text.Utf8.Length);
            return StreamOnThisThread(text, bytesSource, target) ? target.Finish() : null;
        }, tooDeep: null);
        if (tree != null) return new CompactParseResult(tree, null);
        // Rejected (or too deep for the stack): the full parse gives CPython's exact error, as Check does.
        var full = ParseText(text, bytesSource, predicting: false);
        return full.Success ? new CompactParseResult(CompactTree.FromModule(full.Module!), null) : new CompactParseResult(null, full.Error);
    }

    /// <summary>The streaming parse (<see cref="Check(byte[])"/>), writing each finished top-level statement to
    /// <paramref name="target"/> when one is given (<see cref="ParseCompact(byte[])"/>).</summary>
    private static bool StreamOnThisThread(SourceText text, bool bytesSource, CompactTree? target = null)
    {
        var parser = new Parser(text, bytesSource, streaming: true, predicting: true) { CompactTarget = target };
        try
        {
            return parser.ParseFileStreaming();
        }
        finally
        {
            parser.Release();
        }
    }

    private static ParseResult ParseText(SourceText text, bool bytesSource, bool predicting = true) =>
        OnBigEnoughStack(() => ParseOnThisThread(text, bytesSource, predicting), new ParseResult(null, new PythonSyntaxError("too complex", 1, 0)));

    /// <summary>Runs <paramref name="parse"/> on this thread, or on a big-stack thread when the input nests too deep
    /// for this one; <paramref name="tooDeep"/> when even that stack is not enough.</summary>
    private static T OnBigEnoughStack<T>(Func<T> parse, T tooDeep)
    {
        try
        {
            Parser.SetStackBudget(CallerStackBudgetBytes);
            return parse();
        }
        catch (Parser.StackNeeded)
        {
            return BigStack.Run(() =>
            {
                try
                {
                    Parser.SetStackBudget(BigStack.Bytes - 16 * 1024 * 1024);
                    return parse();
                }
                catch (Parser.StackNeeded) { return tooDeep; }
            });
        }
    }

    /// <summary>
    /// Parses with the tokens of finished top-level statements dropped as it goes (a 27 MB source held ~8 M tokens,
    /// more memory than its tree), predicting (Parser's shortcuts that are exact for accepted sources). The error
    /// passes need every token (they re-read the file from its start) and an unpredicted first pass (a predicting
    /// parse may stop elsewhere), so a rejected source is parsed once more that way, for CPython's exact error.
    /// </summary>
    private static ParseResult ParseOnThisThread(SourceText text, bool bytesSource, bool predicting)
    {
        var result = ParseOnce(text, bytesSource, windowed: true, predicting, out bool droppedTokens);
        return result.Success || (!droppedTokens && !predicting) ? result : ParseOnce(text, bytesSource, windowed: false, predicting: false, out _);
    }

    private static ParseResult ParseOnce(SourceText text, bool bytesSource, bool windowed, bool predicting, out bool droppedTokens)
    {
        var parser = new Parser(text, bytesSource, windowed: windowed, predicting: predicting);
        try
        {
            var module = parser.ParseFile();
            if (parser.ModuleNesting > AstDepth.CPythonMaxNestedNodes)
                return new ParseResult(null, new PythonSyntaxError(
                    "too many nested levels in the syntax tree (CPython: maximum recursion depth exceeded during ast construction)", 1, 0));
            return new ParseResult(module, null);
        }
        catch (Parser.ParseAbort abort)
        {
            return new ParseResult(null, abort.Error);
        }
        finally
        {
            droppedTokens = parser.DroppedTokens > 0;
            parser.Release();
        }
    }
}
