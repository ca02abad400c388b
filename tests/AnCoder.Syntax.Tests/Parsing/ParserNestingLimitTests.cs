using System.Text;
using AnCoder.Syntax.Tests.Differential;
using Xunit;
using Assert = Xunit.Assert;

namespace AnCoder.Syntax.Tests.Parsing;

/// <summary>
/// pegen's MAXSTACK (6000 nested rule calls): inputs right at CPython 3.11's limit and one step beyond it must get
/// CPython's verdict (ast_dump.py raises the recursion limit, so only the parser's own limit applies), and no input
/// may overflow the stack.
/// </summary>
public class ParserNestingLimitTests
{
    // (shape, the largest n CPython 3.11.7 accepts, measured with Reference/ast_dump.py)
    public static readonly (string Name, Func<int, string> Make, int CPythonLimit)[] Shapes =
    [
        ("unary minus", n => new string('-', n) + "1\n", 5969),
        ("assigned unary minus", n => "x = " + new string('-', n) + "1\n", 5967),
        ("power chain", n => "x = " + string.Concat(Enumerable.Repeat("a**", n)) + "1\n", 2983),
        ("nested lambda", n => string.Concat(Enumerable.Repeat("lambda:", n)) + "1\n", 2984),
        ("not chain", n => "x = " + string.Concat(Enumerable.Repeat("not ", n)) + "1\n", 5967),
        ("conditional chain", n => string.Concat(Enumerable.Repeat("a if b else ", n)) + "1\n", 5969),
        ("call argument", n => "f(" + new string('-', n) + "1)\n", 5964),
        ("return value", n => "def f():\n    return " + new string('-', n) + "1\n", 5961),
        // Expression statements whose assignment attempt a predicting parse skips (Parser.MayBeAssignment): the
        // predicting parse gives up below the limit and the exact parse decides.
        ("parenthesized unary minus", n => "(" + new string('-', n) + "1)\n", 5960),
        ("subscripted unary minus", n => "a[" + new string('-', n) + "1]\n", 5964),
        ("attribute call unary minus", n => "a.b(" + new string('-', n) + "1).c\n", 5964),
    ];

    public static IEnumerable<object[]> Cases() => Shapes.Select((_, i) => new object[] { i });

    [Theory]
    [MemberData(nameof(Cases))]
    public void Verdicts_at_the_limit_match_CPython(int index)
    {
        var (name, make, limit) = Shapes[index];
        var sources = new[] { make(limit), make(limit + 1) };
        var expected = CPythonReference.Verdicts(sources.Select(Encoding.UTF8.GetBytes).ToList());
        for (int i = 0; i < sources.Length; i++)
        {
            var ours = OurParser.Verdict(Encoding.UTF8.GetBytes(sources[i]));
            Assert.False(ours.StartsWith("!Exception", StringComparison.Ordinal), ours);
            Assert.True(OurParser.IsReject(ours) == (expected[i] != "ok"), $"{name} n={limit + i}: ours {ours}, CPython {expected[i]}");
        }
    }

    [Fact]
    public void Very_deep_input_is_rejected_without_overflowing_the_stack()
    {
        var result = PythonParser.Parse(new string('-', 100_000) + "1\n");
        Assert.False(result.Success);
        var nested = PythonParser.Parse(string.Concat(Enumerable.Repeat("lambda:", 50_000)) + "1\n");
        Assert.False(nested.Success);
    }
}
