using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using AnCoder.Syntax.Ast;
using AnCoder.Syntax.Parsing.Strings;
using AnCoder.Syntax.Text;
using AnCoder.Syntax.Tokenizing;
using Xunit;
using Xunit.Abstractions;
using Assert = Xunit.Assert;

namespace AnCoder.Syntax.Tests.Strings;

/// <summary>Throughput of StringLiteralParser over the stdlib's string runs, in MB of whole source per second
/// (the share of the parser's 26 MB/s budget strings take). Runs only with STRINGS_BENCH=1.</summary>
public class StringBenchmark
{
    private readonly ITestOutputHelper _output;
    public StringBenchmark(ITestOutputHelper output) => _output = output;

    [Fact]
    public void Throughput()
    {
        if (Environment.GetEnvironmentVariable("STRINGS_BENCH") != "1") return;
        string stdlib = "/root/.pyenv/versions/3.11.7/lib/python3.11";
        var work = new List<(SourceText Source, Token[] Run)>();
        long totalBytes = 0;
        foreach (var file in Directory.GetFiles(stdlib, "*.py", SearchOption.AllDirectories).Where(f => !f.Contains("site-packages")))
        {
            if (!SourceText.TryDecode(File.ReadAllBytes(file), out var source, out _)) continue;
            totalBytes += source!.Utf8.Length;
            var tokens = PythonTokenizer.Tokenize(source).Tokens;
            for (int i = 0; i < tokens.Count; i++)
            {
                if (tokens[i].Kind != TokenKind.String) continue;
                int j = i;
                while (j < tokens.Count && tokens[j].Kind == TokenKind.String) j++;
                work.Add((source, tokens.Skip(i).Take(j - i).ToArray()));
                i = j - 1;
            }
        }
        var fake = new MinimalExpressionParser();
        double best = double.MaxValue;
        int rejected = 0;
        for (int round = 0; round < 15; round++)
        {
            rejected = 0;
            var sw = Stopwatch.StartNew();
            foreach (var (source, run) in work)
                if (StringLiteralParser.Concatenate(source, run, fake, out _) == null) rejected++;
            best = Math.Min(best, sw.Elapsed.TotalSeconds);
        }
        foreach (var category in new[] { "plain", "other" })
        {
            var subset = work.Where(w => (w.Run.Length == 1 && w.Source.Utf8[w.Run[0].StartOffset] is (byte)'\'' or (byte)'"'
                && w.Source.Utf8.AsSpan(w.Run[0].StartOffset, w.Run[0].Length).IndexOf((byte)'\\') < 0) == (category == "plain")).ToList();
            double t = double.MaxValue;
            for (int round = 0; round < 15; round++)
            {
                var sw = Stopwatch.StartNew();
                foreach (var (source, run) in subset) StringLiteralParser.Concatenate(source, run, fake, out _);
                t = Math.Min(t, sw.Elapsed.TotalSeconds);
            }
            _output.WriteLine($"{category}: {subset.Count} runs, {subset.Sum(w => (long)(w.Run[^1].EndOffset - w.Run[0].StartOffset)) / 1e6:F1} MB of literal text, {t * 1000:F1} ms");
        }
        // In the parser the literal bytes were just read by the tokenizer; measure with each file's text in cache.
        double warm = 0;
        foreach (var group in work.GroupBy(w => w.Source))
        {
            var runs = group.ToList();
            foreach (var (source, run) in runs) StringLiteralParser.Concatenate(source, run, fake, out _);
            var sw = Stopwatch.StartNew();
            foreach (var (source, run) in runs) StringLiteralParser.Concatenate(source, run, fake, out _);
            warm += sw.Elapsed.TotalSeconds;
        }
        _output.WriteLine($"cache-warm per file: {warm * 1000:F0} ms = {totalBytes / 1e6 / warm:F0} MB/s of source");
        _output.WriteLine($"{work.Count} string runs in {totalBytes / 1e6:F1} MB of source: best {best * 1000:F0} ms = {totalBytes / 1e6 / best:F0} MB/s of source; {rejected} runs rejected");
    }
}

/// <summary>Costs (almost) nothing, so the benchmark measures string parsing alone.</summary>
internal sealed class MinimalExpressionParser : IFStringExpressionParser
{
    public ExprNode? ParseFStringExpression(byte[] text, int firstLineno, int firstLineColOffset, out PythonSyntaxError? error)
    {
        error = null;
        return new Name { Id = "x", Ctx = new Load() };
    }

    public PythonSyntaxError SyntaxErrorAtLastToken(string message) => new(message, 0, 0);
    public PythonSyntaxError SyntaxErrorAtToken(string message, Token token) => new(message, 0, 0);
}
