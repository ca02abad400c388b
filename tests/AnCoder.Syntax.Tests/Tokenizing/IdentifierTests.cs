using System.Diagnostics;
using System.Text;
using AnCoder.Syntax.Text;
using AnCoder.Syntax.Tokenizing;
using Xunit;

namespace AnCoder.Syntax.Tests.Tokenizing;

/// <summary>Identifier values (NFKC) and keyword classification against CPython.</summary>
public sealed class IdentifierTests
{
    private static readonly string[] Identifiers =
    [
        "x", "_", "é", "e\u0301", "ﬁ", "𝔞𝔟", "ℌ", "Ⅻ", "ｘｙ", "ǅ", "µ", "ſ", "Å", "A\u030a", "한국어", "\u1100\u1161\u11a8",
        "ab\u0316\u0301c", "a\u0301\u0316", "ꓐ", "ﾊﾟ", "ℯ", "x\u0345", "ῼ", "ǆ", "Ϊ", "ϔ", "ｶﾞ", "ﬀ", "ä\u0323",
    ];

    [Fact]
    public void NamesAreNfkcNormalisedLikeCPython()
    {
        string source = string.Join("\n", Identifiers) + "\n";
        // CPython's identifier for each line: ast.parse gives Name.id (normalised by _PyPegen_new_identifier).
        var psi = new ProcessStartInfo("python3",
            ["-c", "import ast,sys; src=sys.stdin.buffer.read().decode(); " +
                   "print('\\n'.join(s.value.id.encode('utf-8').hex() for s in ast.parse(src).body))"])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(psi)!;
        process.StandardInput.BaseStream.Write(Encoding.UTF8.GetBytes(source));
        process.StandardInput.Close();
        string[] expected = process.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        process.WaitForExit();

        var tokenizer = new PythonTokenizer(SourceText.FromString(source));
        var names = new List<string>();
        while (tokenizer.TryNext(out Token t))
            if (t.Kind == TokenKind.Name) names.Add(Convert.ToHexString(Encoding.UTF8.GetBytes(tokenizer.NameOf(t))).ToLowerInvariant());
        Assert.Null(tokenizer.Error);
        Assert.Equal(expected, names);
    }

    [Fact]
    public void RepeatedNamesShareOneString()
    {
        var tokenizer = new PythonTokenizer(SourceText.FromString("abc = abc + é + é\n"));
        var names = new List<string>();
        while (tokenizer.TryNext(out Token t))
            if (t.Kind == TokenKind.Name) names.Add(tokenizer.NameOf(t));
        Assert.Same(names[0], names[1]);
        Assert.Same(names[2], names[3]);
    }

    [Fact]
    public void KeywordsMatchPythonKeywordModule()
    {
        var psi = new ProcessStartInfo("python3", ["-c", "import keyword; print(' '.join(keyword.kwlist)); print(' '.join(keyword.softkwlist))"])
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(psi)!;
        string[] lines = process.StandardOutput.ReadToEnd().Split('\n');
        process.WaitForExit();
        // Each spelling maps to its own kind (Classify compares packed constants, so a swapped pair would pass the range checks).
        static string Spelling(KeywordKind kind) => kind switch
        {
            KeywordKind.NoneKeyword => "None", KeywordKind.True => "True", KeywordKind.False => "False",
            KeywordKind.SoftMatch => "match", KeywordKind.SoftCase => "case", KeywordKind.SoftUnderscore => "_",
            _ => kind.ToString().ToLowerInvariant(),
        };
        foreach (string hard in lines[0].Split(' '))
        {
            var kind = Keywords.Classify(Encoding.ASCII.GetBytes(hard));
            Assert.True(kind != KeywordKind.None && kind < KeywordKind.SoftMatch, hard);
            Assert.Equal(hard, Spelling(kind));
        }
        foreach (string soft in lines[1].Split(' '))
        {
            Assert.True(Keywords.Classify(Encoding.ASCII.GetBytes(soft)) >= KeywordKind.SoftMatch, soft);
            Assert.Equal(soft, Spelling(Keywords.Classify(Encoding.ASCII.GetBytes(soft))));
        }
        foreach (string other in new[] { "print", "self", "Match", "iff", "none", "async_", "_x" })
            Assert.Equal(KeywordKind.None, Keywords.Classify(Encoding.ASCII.GetBytes(other)));
    }
}
