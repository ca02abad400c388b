using System.Text;
using AnCoder.Syntax.Parsing;
using AnCoder.Syntax.Text;
using AnCoder.Syntax.Tokenizing;

namespace AnCoder.Syntax;

/// <summary>What <see cref="PythonParser.CheckPrefix(string)"/> found.</summary>
public enum PrefixStatus
{
    /// <summary>The text itself parses (<c>ast.parse</c> accepts it); more text may follow too.</summary>
    Complete,
    /// <summary>The text does not parse yet, but it is the start of a program that does: the input ended early.</summary>
    ViablePrefix,
    /// <summary>No continuation can make the text parse: it already contains a syntax error.</summary>
    NotViable,
}

/// <summary>The verdict on a prefix; <see cref="Error"/> (only for <see cref="PrefixStatus.NotViable"/>) is the
/// syntax error <c>ast.parse</c> reports for the text as it stands: where it broke.</summary>
public readonly record struct PrefixCheck(PrefixStatus Status, PythonSyntaxError? Error);

public static partial class PythonParser
{
    /// <summary>
    /// Whether <paramref name="text"/> can be the start of a valid program (CPython 3.11 <c>ast.parse</c>).
    /// <para>A prefix is viable when the parser runs into the end of the input before it fails: CPython's own
    /// incomplete-input test (<c>PyCF_ALLOW_INCOMPLETE_INPUT</c>, what <c>codeop</c> uses), applied to the text
    /// followed by a line continuation (<c>\</c> and a newline), so that the end of the text is the end of the
    /// input and not the end of a logical line. Since the text's last token may be cut short, a few
    /// continuations of it are tried the same way: a keyword or longer operator it starts, a digit, a string
    /// after a string prefix, a newline (see <see cref="PrefixProbes"/>). Every probe that reaches the end proves
    /// a viable prefix up to CPython's end-of-input test, which treats "ran into the end" as "some continuation
    /// parses"; docs/parser-verification.md says where that is approximate.</para>
    /// </summary>
    public static PrefixCheck CheckPrefix(string text)
    {
        foreach (var probe in PrefixProbes(text))
        {
            if (!FirstPassOf(probe, parsedOnly: false)) continue;
            return FirstPassOf(text, parsedOnly: true) ? new PrefixCheck(PrefixStatus.Complete, null) : new PrefixCheck(PrefixStatus.ViablePrefix, null);
        }
        var error = ParseText(SourceText.FromString(text), bytesSource: false).Error;
        // Every probe failed before the end, so the text does not parse either; an error is always there.
        return new PrefixCheck(error == null ? PrefixStatus.Complete : PrefixStatus.NotViable, error);
    }

    /// <summary><see cref="CheckPrefix(string)"/> for UTF-8 bytes, which may end inside a multi-byte character
    /// (a byte-level sampler's canvas): an incomplete last character is left out.</summary>
    public static PrefixCheck CheckPrefix(ReadOnlySpan<byte> utf8)
    {
        int cut = utf8.Length;
        for (int back = 1; back <= 3 && back <= utf8.Length; back++)
        {
            byte b = utf8[^back];
            if ((b & 0xC0) == 0x80) continue; // a continuation byte: look further back for the lead byte
            int needed = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
            if (needed > back) cut = utf8.Length - back;
            break;
        }
        return CheckPrefix(Encoding.UTF8.GetString(utf8[..cut]));
    }

    /// <summary>The hard and soft keywords (CPython 3.11 <c>keyword.kwlist</c> + <c>keyword.softkwlist</c>).</summary>
    private static readonly string[] KeywordSpellings =
    [
        "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del",
        "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda",
        "nonlocal", "not", "or", "pass", "raise", "return", "try", "while", "with", "yield", "_", "case", "match",
    ];

    /// <summary>CPython 3.11's operators of two or three characters (Grammar/Tokens), plus <c>...</c>.</summary>
    private static readonly string[] LongOperators =
    [
        "!=", "%=", "&=", "**", "**=", "*=", "+=", "-=", "->", "...", "//", "//=", "/=", ":=", "<<", "<<=", "<=",
        "==", ">=", ">>", ">>=", "@=", "^=", "|=",
    ];

    private static readonly string[] StringPrefixes = ["r", "u", "b", "f", "br", "rb", "fr", "rf"];

    private const string LineContinuation = "\\\n";

    /// <summary>
    /// The texts tried for <see cref="CheckPrefix(string)"/>, in order: the text plus a line continuation; the
    /// text plus a newline (it may end in a backslash); plus a digit (a number such as <c>0x</c> or <c>1e</c>
    /// cut short); and, when it ends in a word or operator characters, each keyword or longer operator that
    /// starts with them, any word made an identifier, and a string after a string prefix. The oracle of the
    /// tests (Reference/prefix_oracle.py) tries the same list with CPython.
    /// </summary>
    public static IEnumerable<string> PrefixProbes(string text)
    {
        yield return text + LineContinuation;
        yield return text + "\n";
        yield return text + "1" + LineContinuation;
        int wordStart = text.Length;
        while (wordStart > 0 && (char.IsAsciiLetterOrDigit(text[wordStart - 1]) || text[wordStart - 1] == '_')) wordStart--;
        if (wordStart < text.Length && !char.IsAsciiDigit(text[wordStart]))
        {
            string word = text[wordStart..];
            foreach (var keyword in KeywordSpellings)
            {
                if (keyword.Length > word.Length && keyword.StartsWith(word, StringComparison.Ordinal))
                    yield return text + keyword[word.Length..] + " " + LineContinuation;
            }
            yield return text + "_" + LineContinuation; // e.g. `def` cut from `default`
            foreach (var prefix in StringPrefixes)
            {
                if (string.Equals(word, prefix, StringComparison.OrdinalIgnoreCase))
                {
                    yield return text + "''" + LineContinuation;
                    break;
                }
            }
        }
        foreach (var op in LongOperators)
        {
            for (int i = op.Length - 1; i >= 1; i--)
            {
                if (text.EndsWith(op[..i], StringComparison.Ordinal))
                {
                    yield return text + op[i..] + " " + LineContinuation;
                    break;
                }
            }
        }
    }

    /// <summary>Whether the first pass over <paramref name="source"/> parses it (a tree within CPython's nesting
    /// limit), or, unless <paramref name="parsedOnly"/>, runs into its end. No error pass runs: only the verdict counts.</summary>
    private static bool FirstPassOf(string source, bool parsedOnly) =>
        OnBigEnoughStack(() =>
        {
            var parser = new Parser(SourceText.FromString(source), bytesSource: false);
            try
            {
                var (module, reachedEnd) = parser.FirstPass();
                if (module != null) return AstDepth.Assign(module) <= AstDepth.CPythonMaxNestedNodes;
                return !parsedOnly && reachedEnd;
            }
            finally
            {
                parser.Release();
            }
        }, tooDeep: false);
}
