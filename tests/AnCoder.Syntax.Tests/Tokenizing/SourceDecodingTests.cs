using System.Text;
using AnCoder.Syntax.Text;
using Xunit;
using Xunit.Abstractions;

namespace AnCoder.Syntax.Tests.Tokenizing;

/// <summary><see cref="SourceText.TryDecode"/> against <c>ast.parse(bytes)</c>: BOM, PEP 263 cookies, NUL bytes.</summary>
public sealed class SourceDecodingTests(ITestOutputHelper output)
{
    private static byte[] B(string latin1) => Encoding.Latin1.GetBytes(latin1);

    public static readonly byte[][] Cases =
    [
        B("x\0"), B("\xef\xbb\xbf\0"), B("# \xff\n"), B("x = \"\xff\"\n"), B("\xff\n"), B("a\xff\n"), B("x = a\xff\n"),
        B("# coding: latin-1"), B("# coding: foo\n"), B("\xef\xbb\xbf# coding: utf8\n"), B("\xef\xbb\xbf# coding: latin-1\n"),
        B("\xef\xbb\xbf# coding: utf-8\n"), B("\xef\xbb\xbf# coding: UTF_8\nx = 1\n"), B("\n# coding: foo\n"),
        B("x\n# coding: foo\n"), B("\\\n# coding: foo\n"), B("#!x\n# vim: set fileencoding=foo :\n"), B("# coding: foo"),
        B("\n\n# coding: foo\n"), B("#\xff coding: foo\n"), B("  # coding=bar\n"), B("x # coding=bar\n"), B("#coding:\n"),
        B("# coding=latin-1\nx=\"\xe9\"\n"), B("# coding: ascii\n#\xff\n"), B("# coding: utf8\n#\xff\n"),
        B("# coding: utf-8\n#\xff\n"), B("#\xff\n# coding: latin-1\n"), B("# coding: shift_jis\nx = '\x82\xa0'\n"),
        B("# coding: UTF_8-foo\nx=1\n"), B("# coding: latin_1\nx=1\n"), B("# coding: latin_1_x\nx=1\n"),
        B("# coding: iso-latin-1-xxxx\nx=1\n"), B("# coding: iso-8859-15\nx='\xa4'\n"), B("# coding: cp1252\nx='\x80'\n"),
        B("# coding: koi8-r\n\xc1 = 1\n"), B("# coding: rot13\nx=1\n"), B("# coding: hex\nx=1\n"), B("# coding: latin1\nx=1\n"),
        B("# coding: euc_jp\nx=1\n"), B("# coding: big5\nx=1\n"), B("# coding: gbk\nx=1\n"), B("# coding: mbcs\nx=1\n"),
        B("# coding: base64\nx=1\n"), B("# coding: cp037\nx=1\n"), B("# coding: undefined\nx=1\n"),
        B("# -*- coding: latin-1 -*-\n\xe9 = 1\n"), B("# vim: set fileencoding=utf-8 :\nx = 1\n"), B("# coding: cp1253\nx=1\n"),
        B("\x0c# coding: foo\n"), B("\t \x0c\n# coding: foo\n"), B("# coding:foo\r\n"), B("\r# coding: foo\n"),
        B("\r\n# coding: foo\n"), B("# coding=   utf-8  \n"), B("# codingg: foo\n"), B("# coding : foo\n"),
        B("# encoding: foo\n"), B("#coding=foo.bar\n"), B("# coding: ISO-8859-1\nx='\xff'\n"), B("# coding: Latin-1\n"),
        B("# coding: mac-roman\nx='\x80'\n"), B("# coding: cp437\nx='\x80'\n"), B("# coding: ascii\nx = 1\n"),
        B("# coding: utf-16\nx=1\n"), B("x = 1 # coding: foo\n"), B("#coding: foo\n# coding: bar\n"),
        B("#\n#\n# coding: foo\n"), B("\xef\xbb\xbfx = 1\n"), B("\xef\xbb\xbf"), B("\xef\xbbx"), B(""), B("ab\xef\xbbx"), B("x = ab\xef\xbbx"), B("x = \xef\xbb"),
        B("x = abc\xffdef"), B("x = \xc3\xa9\xff"), B("x = \xc3\xa9\xef\xbb"), B("\xc3\xa9 = \xc3\xa9\xff"), B("x = \xe0\x80"),
        B("x = \xf0\x9f\x98"), B("x\n\xff"), B("x = 1\n\xed\xa0\x80 = 2\n"), B("\xf4\x90\x80\x80"), B("\xc0\xaf"),
    ];

    [Fact]
    public void DecodingMatchesAstParse()
    {
        var reference = CPythonReference.Run("--c", Cases);
        var failures = new List<string>();
        for (int i = 0; i < Cases.Length; i++)
        {
            var theirs = reference[i];
            bool ok = SourceText.TryDecode(Cases[i], out SourceText? text, out PythonSyntaxError? error);
            // Decoding-level errors are the ones CPython reports before any line (line 0 / None).
            bool cpythonDecodeError = !theirs.AstOk && (theirs.AstLine is null or 0);
            string label = $"case {i} {Convert.ToHexString(Cases[i])}";
            if (cpythonDecodeError)
            {
                if (ok) failures.Add($"{label}: CPython rejects ({theirs.AstMessage}) but we decode");
                else if (error!.Message != theirs.AstMessage && !theirs.AstMessage!.Contains("codec can't decode"))
                    failures.Add($"{label}: message ours '{error.Message}', CPython '{theirs.AstMessage}'");
                continue;
            }
            if (!ok)
            {
                failures.Add($"{label}: we reject at decoding ({error}), CPython: {(theirs.AstOk ? "ok" : theirs.AstMessage)}");
                continue;
            }
            var tokenized = Syntax.Tokenizing.PythonTokenizer.Tokenize(text!);
            if (tokenized.Error is { } tokError)
            {
                if (theirs.AstOk) failures.Add($"{label}: our tokenizer rejects ({tokError}), CPython accepts");
                else if (tokError.Message != theirs.AstMessage || tokError.Line != theirs.AstLine || tokError.Column != theirs.AstOffset)
                    failures.Add($"{label}: ours {tokError}, CPython {theirs.AstLine}:{theirs.AstOffset} {theirs.AstMessage}");
            }
            else if (theirs.TokenizerError is null)
            {
                string? failure = ParserModeTokenizerTests.Compare(Cases[i], theirs);
                if (failure is not null) failures.Add($"{label}: {failure}");
            }
        }
        foreach (var f in failures) output.WriteLine(f);
        Assert.True(failures.Count == 0, $"{failures.Count}/{Cases.Length} cases differ:\n" + string.Join("\n", failures));
    }

    [Fact]
    public void CookieDecodedSourceIsReencodedAsUtf8()
    {
        Assert.True(SourceText.TryDecode(B("# coding: latin-1\nx = '\xe9'\n"), out var text, out _));
        Assert.Equal("# coding: latin-1\nx = 'é'\n", Encoding.UTF8.GetString(text!.Utf8));
        Assert.Equal(0, text.BomLength);
        Assert.True(SourceText.TryDecode(B("\xef\xbb\xbfx\n"), out text, out _));
        Assert.Equal(3, text!.BomLength);
        Assert.Equal("x\n", Encoding.UTF8.GetString(text.Utf8));
    }

    [Fact]
    public void LineStartsFollowCPythonNewlines()
    {
        var text = SourceText.FromString("a\r\nbb\rc\nd");
        Assert.Equal(4, text.LineCount);
        Assert.Equal(0, text.LineStartOffset(1));
        Assert.Equal(3, text.LineStartOffset(2));
        Assert.Equal(6, text.LineStartOffset(3));
        Assert.Equal(8, text.LineStartOffset(4));
        Assert.Equal("bb", text.GetText(3, 5));
    }
}
