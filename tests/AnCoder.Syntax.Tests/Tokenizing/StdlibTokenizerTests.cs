using System.Collections.Concurrent;
using System.Text;
using AnCoder.Syntax.Text;
using AnCoder.Syntax.Tokenizing;
using Xunit;
using Xunit.Abstractions;

namespace AnCoder.Syntax.Tests.Tokenizing;

/// <summary>Every stdlib file, tokenized by us and by CPython (one python3 run per test, compared by hash).</summary>
public sealed class StdlibTokenizerTests(ITestOutputHelper output)
{
    [Fact]
    public void ParserModeMatchesCTokenizerOnStdlib()
    {
        var files = CPythonReference.StdlibFiles();
        var reference = CPythonReference.RunHashed("--c-stdin", files);
        var failures = new ConcurrentBag<string>();
        int compared = 0;
        Parallel.ForEach(files, path =>
        {
            var theirs = reference[path];
            // The reference decodes with tokenize.detect_encoding, which (unlike the C tokenizer) rejects invalid
            // UTF-8 anywhere; such a file's tokens cannot be had from CPython, and its verdict is the string parser's.
            if (theirs.TokenizerError?.Contains("invalid or missing encoding declaration") == true) return;
            byte[] bytes = File.ReadAllBytes(path);
            if (!SourceText.TryDecode(bytes, out SourceText? text, out PythonSyntaxError? decodeError))
            {
                if (theirs.TokenizerError is null) failures.Add($"{path}: we reject at decoding ({decodeError})");
                return;
            }
            var tokenizer = new PythonTokenizer(text!);
            var lines = new List<string>();
            while (tokenizer.TryNext(out Token t))
            {
                if (t.Kind == TokenKind.EndMarker) break;
                lines.Add(ParserModeLine(tokenizer, t));
            }
            if (tokenizer.Error is { } error)
            {
                if (theirs.TokenizerError is null && !error.Message.EndsWith("was never closed") && error.Message != "unexpected EOF while parsing")
                    failures.Add($"{path}: we reject ({error}), CPython's tokenizer does not");
            }
            else if (theirs.TokenizerError is not null)
            {
                failures.Add($"{path}: CPython's tokenizer rejects ({theirs.TokenizerError}), ours does not");
            }
            if (lines.Count != theirs.HashedCount || CPythonReference.Sha1(lines) != theirs.Hash)
                failures.Add($"{path}: tokens differ ({lines.Count} vs {theirs.HashedCount})");
            Interlocked.Increment(ref compared);
        });
        foreach (var f in failures) output.WriteLine(f);
        output.WriteLine($"{compared}/{files.Count} files compared, {failures.Count} differ");
        Assert.True(failures.IsEmpty, $"{failures.Count} files differ:\n" + string.Join("\n", failures.Take(50)));
    }

    /// <summary>A parser-mode token as the C tokenizer's Python wrapper prints it (INDENT/DEDENT without columns,
    /// async/await as ASYNC/AWAIT, newline-translated text).</summary>
    internal static string ParserModeLine(PythonTokenizer tokenizer, in Token t)
    {
        string name = CPythonReference.ExactTypeName(t);
        if (t.Keyword == KeywordKind.Async) name = "ASYNC";
        if (t.Keyword == KeywordKind.Await) name = "AWAIT";
        ReadOnlySpan<byte> bytes = tokenizer.Bytes(t);
        if (bytes.IndexOf((byte)'\r') >= 0)
            bytes = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(bytes).Replace("\r\n", "\n").Replace('\r', '\n'));
        bool positionless = t.Kind is TokenKind.Indent or TokenKind.Dedent;
        return CPythonReference.FormatLine(name, t.StartLine, positionless ? -1 : t.StartColumn, t.EndLine,
            positionless ? -1 : t.EndColumn, bytes);
    }
}
