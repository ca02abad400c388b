using System.Text;
using AnCoder.Syntax.Tests.Differential;
using Xunit;
using Assert = Xunit.Assert;

namespace AnCoder.Syntax.Tests.Parsing;

/// <summary>
/// Error message and location (line, 1-based column) for the rejection paths the parser reproduces: the generic
/// error at the first pass's last token, INDENT/DEDENT, forced tokens, the full-source tokenizer check, and the
/// ported second-pass messages. Expected values come from CPython (ast_dump.py --stdin-verdicts).
/// </summary>
public class ParserErrorTests
{
    public static readonly string[] Sources =
    [
        "x = 1 +\n",
        "a b\n",
        "f(a b)\n",
        "[1, 2 3]\n",
        "  x = 1\n",
        "if x:\n    y = 1\n  z = 2\n",
        "def f():\nreturn 1\n",
        "class A:\npass\n",
        "if x\n    pass\n",
        "while x\n    pass\n",
        "for x in y\n    pass\n",
        "def f(:\n    pass\n",
        "print 'hello'\n",
        "1 <> 2\n",
        "x = (1,\n     2\ny = 3\n",
        "def f()\n    x = )\n",
        "match x:\n    case 1 + 2:\n        pass\n",
        "x = 'é' é\n",
    ];

    public static IEnumerable<object[]> Cases() => Sources.Select((_, i) => new object[] { i });

    private static readonly Lazy<string[]> Expected = new(() => CPythonReference.Verdicts(Sources.Select(Encoding.UTF8.GetBytes).ToList()));

    [Theory]
    [MemberData(nameof(Cases))]
    public void Message_and_location_match_CPython(int index)
    {
        var expected = Expected.Value[index];
        var ours = OurParser.Verdict(Encoding.UTF8.GetBytes(Sources[index]));
        Assert.Equal(expected, ours);
    }
}
