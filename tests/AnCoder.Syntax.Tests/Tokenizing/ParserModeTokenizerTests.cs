using System.Text;
using AnCoder.Syntax.Text;
using AnCoder.Syntax.Tokenizing;
using Xunit;
using Xunit.Abstractions;

namespace AnCoder.Syntax.Tests.Tokenizing;

/// <summary>Differential tests of the parser-mode tokenizer against CPython 3.11's C tokenizer
/// (<c>tokenize._generate_tokens_from_c_tokenizer</c>) and <c>ast.parse</c>'s verdict.</summary>
public sealed class ParserModeTokenizerTests(ITestOutputHelper output)
{
    /// <summary>Hand-written inputs covering each tokenizer rule (see the task's rule list).</summary>
    public static readonly string[] Cases =
    [
        // basics, newlines, blank and comment lines, missing final newline
        "", "\n", "x", "x\n", "x = 1\n", "x = 1", "# only a comment", "# c\n\n   \n# d\nx\n", "x  # trailing\n",
        "a\r\nb\r\n", "a\rb\r", "a\r\nb", "if x:\r\n    y\r\n", "s = '''a\r\nb'''\r\n", "\r\n\r\n", "\r",
        "x = 1\n\n\n", "   \n", "\t\n# x\n",
        // indentation
        "if 1:\n  x\n  y\nz\n", "if 1:\n  if 2:\n    x\n  y\n", "if 1:\n  if 2:\n    x\n", "if 1:\n\tx\n\ty\n",
        "if 1:\n\tx\n        y\n", "if 1:\n        x\n\ty\n", "if 1:\n  x\n y\n", "if 1:\n    x\n  y\n",
        "  x\n", "if 1:\n \tx\n", "if 1:\n\t x\n \t y\n", "if 1:\n  x\n\n  # c\n  y\n", "if 1:\n  x\n# c\n  y\n",
        "\fx\n", "if 1:\n \f x\n", "if 1:\n  x\n\f  y\n", "if 1:\n    x\n  \f  y\n", "if 1:\n\t\fx\n",
        "if 1:\n  \\\n  x\n", "if 1:\n \\\n    x\n", "if 1:\n  x\n \\\n  y\n", "\\\n  x\n", "if 1:\n  x\n\\\n  y\n", "if 1:\n  x\n  \\\n    y\n", "if 1:\n\\ \n  x\n", "if 1:\n  \\", "if 1:\n  x = (\n1)\n  y\n",
        string.Concat(Enumerable.Range(0, 99).Select(i => new string(' ', i) + "if 1:\n")) + new string(' ', 99) + "x\n",
        string.Concat(Enumerable.Range(0, 100).Select(i => new string(' ', i) + "if 1:\n")) + new string(' ', 100) + "x\n",
        "if 1:\n  x\n   \n", "if 1:\n  x", "if 1:\n  x\n  ",
        // parentheses
        "x = (1,\n 2)\n", "x = [1,\n\n 2]\n", "x = {1:\n# c\n 2}\n", ")", "x = (]", "x = (\n]", "x = [)\n", "(}",
        "x = (1,", "x = [\n", "f(\n  a,\n", "x = (((" + new string('(', 196) + ")))" + new string(')', 196) + "\n",
        "x = " + new string('(', 200) + "1" + new string(')', 200) + "\n",
        "x = " + new string('(', 201) + "1" + new string(')', 201) + "\n", "((1)\n", "a)\n(b\n", "(\n(\n)",
        // line continuation
        "x = 1 + \\\n  2\n", "x = \\", "\\", "x\\", "x = \\ y", "x = \\\n", "x = \\\r\n 1\n", "x = 1 \\\n\n",
        "\\\nx\n", "if 1:\n  x = \\\n1\n", "x = '\\\n'\n", "x = \\  \n1\n", "x = (\\\n1)\n", "# c \\\nx\n",
        // strings and prefixes
        "'a'", "\"a\"", "'''a\nb'''", "\"\"\"a\n\"\"\"", "''", "\"\"", "''''''", "'a\\'b'", "'a\\\\'", "'\\\n'",
        "r'a' R'a' u'a' U'a' b'a' B'a' f'a' F'a'\n", "br'a' bR'a' Br'a' BR'a' rb'a' rB'a' Rb'a' RB'a'\n",
        "fr'a' fR'a' Fr'a' FR'a' rf'a' rF'a' Rf'a' RF'a'\n", "ub'a'\n", "ur'a'\n", "bu'a'\n", "fb'a'\n", "bf'a'\n",
        "rr'a'\n", "uu'a'\n", "f'{x}' f\"{y!r:>{w}}\"\n", "f'''a\n{b}\n'''\n", "x = \"abc", "x = 'abc\n",
        "x = \"\"\"abc\n\n", "x = '''abc", "x = 'a' 'b\n", "'''\n'''\n'''", "b'\\x00'\n", "'a\\\r\nb'\n",
        "x = u'a\\\nb'\n", "print('é', \"日本\")\n", "'\\N{DASH}'\n", "x = 'a'b\n", "rb\"\"\"\\\"\"\"\"\n",
        // numbers
        "1 12 0 00 0_0 1_000 0x1f 0X_1F 0o17 0O7 0b101 0B_1 1.5 .5 1. 1e5 1E+5 1e-5 1.5j 1J 1_0.0_1e1_0j\n",
        "1if x else y", "0x1for x in y", "[0x1for x in y]", "1or 2", "1and 2", "1in x", "1is x", "1not in x",
        "1else", "0b1and 1", "0o7or 1", "1.0or 1", "1jor 1", "1e5or 1", "1abc", "1_", "1__0", "1e", "0x", "0b2",
        "0o8", "012", "00", "0_0", "0e5", "09.5", "09j", "09", "1_000j", "0x_1", "0b", "0o", "0b1_", "1e+",
        "1e_1", "1.e5", "1._5", "1.5_", ".5_5", "1_.5", "0xfor x in y", "0b12", "0o19", "0b1a", "0xag",
        "1.__class__", "1 .real", "1.real", "1jif 1 else 2", "1if", "0_7", "0_8", "1e1_0", "1.0e-1_0j", "0xfj",
        "1_a", "1_e5", "1e5_", "1ifx", "1andy", "1notx", "1isx", "1inx", "1fory", "1e5for x in y", "0o", "0o_",
        "0b_", "0x_", "0_", "00_", "0_x", "1e5j", "1.j", "1..2", "1...", "0xffj", "0o7j", "0b1j", "0.e", "1.e",
        "1.elsex", "1lambda", "x = 1_000_000.000_1\n", "0 if 1else 2\n", "0eelse", "1e1else 2", "0x1e", "0b1e",
        "007.5", "007e1", "0_0_1", "0_01", "1_2_3j", "5_", "1e+1_", "1.5e_", "0o1_2_3", "0b1__0",
        // operators
        "a != b; a <> b; a -> b; a := b; ...; a ** b; a //= b; a >>= b; a <<= b; a **= b; a @= b; a ^= b\n",
        "a<b>c<=d>=e==f<<g>>h//i%j&k|l^m~n@o\n", "x = !", "x = !=", "a ! b", "x = $", "x = ?", "x = `", "..", ". .", ".. .",
        "a.b..c", "x = ...\n", "x -= 1; x += 1; x *= 1; x /= 1; x %= 1; x &= 1; x |= 1\n", "a->b", "a-->b", "a<<>>b",
        "x = \x01", "x = \x7f", "x = \x0b", "x = \x1b",
        // identifiers
        "é = 1", "日本 = 2", "x = €", "x = a€", "x = a€b", "ℌ = 1", "x·= 1", "·= 1", "x\u00a0= 1", "\ufeffx = 1",
        "_ = 1", "__x = 1", "ﬁ = 1", "𝔞 = 1", "x\u200b = 1", "x = a\u0301", "\u0301 = 1", "x = ™", "ǅ = 1",
        "async def f(): await x\n", "match x:\n case _: pass\n", "True False None and as assert break class continue\n",
        "x = 1 # café\n", "x = '€'\n",
        // misc
        "if x:\n  pass\nelse:\n  pass\n", "class A:\n  def f(self):\n    return 1\n", "@dec\ndef f(): ...\n",
        "x = [\n  1,  # c\n  2,\n]\n", "lambda: (yield)\n", "x = 1;\n", "x=1;;\n", "-'''  [\r\n", "x = '''\r\n\r\n", "é = 1 \\\r\n", "é = 1 \\", "if 1:\n  x\n é\n",
        "é\nﬁ[", "ﬁRu\\0x", "9é", "1.5€", "0ﬁ", "1.5ﬁ\"ex", "x = (\r\n", "if 1:\r\n  x\r\n",
    ];

    [Fact]
    public void ParserModeMatchesCPython()
    {
        var sources = Cases.Select(c => Encoding.UTF8.GetBytes(c)).ToList();
        var reference = CPythonReference.Run("--c", sources);
        var failures = new List<string>();
        for (int i = 0; i < Cases.Length; i++)
        {
            string? failure = Compare(sources[i], reference[i]);
            if (failure is not null) failures.Add($"case {i} {Show(Cases[i])}: {failure}");
        }
        foreach (var f in failures) output.WriteLine(f);
        Assert.True(failures.Count == 0, $"{failures.Count}/{Cases.Length} cases differ:\n" + string.Join("\n", failures));
    }

    private static string Show(string s) => s.Length > 60 ? System.Text.Json.JsonSerializer.Serialize(s[..60]) + "..." : System.Text.Json.JsonSerializer.Serialize(s);

    /// <summary>Compares our token stream and error with CPython's; null when they agree.</summary>
    internal static string? Compare(byte[] source, ReferenceFile reference)
    {
        if (!SourceText.TryDecode(source, out SourceText? text, out PythonSyntaxError? decodeError))
            return reference.AstOk ? $"we reject at decoding ({decodeError}), CPython accepts" : null;
        var tokenizer = new PythonTokenizer(text!);
        var ours = new List<Token>();
        while (tokenizer.TryNext(out Token t))
            if (t.Kind != TokenKind.EndMarker) ours.Add(t);

        int n = Math.Min(ours.Count, reference.Tokens.Count);
        for (int k = 0; k < n; k++)
        {
            var theirs = reference.Tokens[k];
            var mine = ours[k];
            string name = CPythonReference.ExactTypeName(mine);
            // The C tokenizer reports async/await as ASYNC/AWAIT token types; the parser sees keywords either way.
            if (mine.Keyword == KeywordKind.Async) name = "ASYNC";
            if (mine.Keyword == KeywordKind.Await) name = "AWAIT";
            // CPython tokenizes newline-translated text; our token bytes keep the source's CR/CRLF.
            string hex = Convert.ToHexString(Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(tokenizer.Bytes(mine))
                .Replace("\r\n", "\n").Replace('\r', '\n'))).ToLowerInvariant();
            bool positionless = theirs.Type is "INDENT" or "DEDENT";
            // INDENT/DEDENT have no columns in CPython (-1); their lines are compared.
            bool same = name == theirs.Type && mine.StartLine == theirs.StartLine && mine.EndLine == theirs.EndLine
                && (positionless || (mine.StartColumn == theirs.StartCol && mine.EndColumn == theirs.EndCol))
                && hex == theirs.Hex;
            if (!same)
                return $"token {k}: ours {name} {mine.StartLine} {mine.StartColumn} {mine.EndLine} {mine.EndColumn} " +
                       $"{Convert.ToHexString(tokenizer.Bytes(mine)).ToLowerInvariant()}, CPython {theirs}";
        }
        var error = tokenizer.Error;
        if (reference.AstOk)
        {
            if (error is not null) return $"we reject ({error}), CPython accepts";
            if (ours.Count != reference.Tokens.Count) return $"token count {ours.Count} vs CPython {reference.Tokens.Count}";
            return null;
        }
        if (reference.TokenizerError is not null && error is null)
            return $"CPython's tokenizer rejects ({reference.TokenizerError}), ours does not";
        if (error is null)
        {
            // A parser-level rejection: the token streams must agree completely.
            return ours.Count == reference.Tokens.Count || reference.TokenizerError is null && ours.Count > reference.Tokens.Count
                ? null : $"token count {ours.Count} vs CPython {reference.Tokens.Count}";
        }
        if (error.Message != reference.AstMessage || error.Line != reference.AstLine || error.Column != reference.AstOffset)
            return $"error ours ({error.Message}) {error.Line}:{error.Column}, CPython ({reference.AstMessage}) {reference.AstLine}:{reference.AstOffset}";
        return null;
    }
}
