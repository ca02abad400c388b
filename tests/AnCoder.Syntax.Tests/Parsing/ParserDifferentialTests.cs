using System.Text;
using AnCoder.Syntax.Ast;
using Assert = Xunit.Assert;
using AnCoder.Syntax.Tests.Differential;
using Xunit;

namespace AnCoder.Syntax.Tests.Parsing;

/// <summary>
/// Small sources for each construct whose AST positions follow a non-obvious pegen rule (EXTRA spans, decorators,
/// groups, dotted names, f-string sub-parser offsets, ...), compared with CPython 3.11's dump (Reference/ast_dump.py).
/// </summary>
public class ParserDifferentialTests
{
    public static readonly string[] Sources =
    [
        // statements and their EXTRA end (last non-whitespace token, not NEWLINE/DEDENT)
        "x = 1,\n",
        "a = b = (c, d) = [e, *f] = g\n",
        "x: int = 1\n(y): int\nz.w: 'T' = yield\na[0]: int\n",
        "x += 1; y -= 2;\n",
        "if a:\n    pass\nelif b:\n    x = 1\nelse:\n    y = 2\n",
        "while a < b <= c:\n    break\nelse:\n    continue\n",
        "for i, (j, *k) in enumerate(x):\n    pass\nelse:\n    pass\n",
        "try:\n    pass\nexcept (A, B) as e:\n    raise X from e\nexcept:\n    raise\nelse:\n    pass\nfinally:\n    pass\n",
        "try:\n    pass\nexcept* ValueError as e:\n    pass\n",
        "with open(f) as g, h:\n    pass\nwith (a as b, c,):\n    pass\nwith (a, b):\n    pass\n",
        "del (a), [b], c.d, e[0]\ndel (x, y)\n",
        "global a, b\nnonlocal c\nassert x, 'm'\nreturn\nreturn 1, 2\n",
        // decorators: FunctionDef/ClassDef start at 'def'/'class', not at '@'
        "@dec\n@dec2(1)\ndef f(a, /, b: int = 1, *args: int, c, d=2, **kw) -> None:\n    '''doc'''\n    return a\n",
        "@a.b\nclass C(B, metaclass=M):\n    x = 1\n\n    def g(self): pass\n",
        "async def f():\n    async with a as b:\n        await c\n    async for x in y:\n        pass\n    return [i async for i in g()]\n",
        "def f(*, a): pass\ndef g(*a: *Ts): pass\ndef h(a, b=1, /, c=2, *d, e=3, f, **g): pass\ndef k(a=1, /): pass\n",
        // imports: dotted names and aliases
        "import os.path as p, sys\nfrom . import x\nfrom ..a.b import (c as d, e,)\nfrom ... import *\nfrom .... x import y\n",
        // expressions
        "(a)\n((a, b))\n(yield)\n(x := 10)\nf(x for x in y)\nf(a, *b, k=1, *c, **kw)\nf(**a, b=1)\n*a = 1\n",
        "a[1:2, ::3]\na[*b]\na[b:c:d]\na[:]\na[1:2,]\na[x := 1]\n",
        "a.b.c(d)[e].f\nawait x ** -y\n-~+x\nnot a and b or c if d else e\n",
        "a < b < c\na not in b\na is not b\na is b\na in b\na != b\n",
        "x = a | b ^ c & d << e >> f + g - h * i / j // k % l @ m ** n\n",
        "lambda: 0\nlambda x, /, y=1, *z, w, **v: x\nlambda *, a=1: a\nlambda *a: a\n",
        "[x for x in y if x if not x for z in x]\n{k: v for k, v in z}\n{x for x in y}\n(x for x in y)\n",
        "{1: 2, **d, 3: 4}\n{1, 2, *s}\n[1, *l]\n()\n(1,)\n[]\n{}\n...\n",
        "x = 0x1F + 0o17 + 0b101 + 1_000 + 1.5e-3 + 2j + 123456789012345678901234567890\n",
        "s = 'a' 'b'\nb = b'x' b'y'\nu = u'x' 'y'\nt = ('a'\n     'b')\n",
        "f'{a!r:>{w}} {b=} {c:{d}.{e}}'\nf'''{\n  a +\n  b}'''\nf'x' 'y' f'{z}'\n",
        "x = f'{a}' f\"{b!s}\"\ny = rf'{x}\\n'\n",
        // match statements
        "match p:\n    case [1, *rest] | {'a': 1, **kw} | Point(x=0, y=_) | -1 + 2j | None:\n        pass\n    case (a, b) if a > b:\n        pass\n    case C(1, a=2) | C() | D.E(x) as z:\n        pass\n    case {**rest}:\n        pass\n    case [*_, _]:\n        pass\n    case -1 | 1.5 | 'x' 'y' | b'z' | True | False:\n        pass\n    case a.b.c:\n        pass\n    case 1, 2:\n        pass\n",
        "match x, y:\n    case _:\n        pass\nmatch = 1\ncase = match\n_ = case\n",
        // comments, blank lines, continuation, CRLF
        "x = (1 +  # comment\n     2)\ny = 1 + \\\n    2\n",
        "if x:\r\n    y = 1\r\n",
        "def f():\n    pass\n\n\n# trailing comment\n",
        "class A: pass\nclass B(): pass\nclass C(A, B,): pass\n",
        "é = 'ü' + x\nif é: ñ = 1\n",
    ];

    public static readonly string[] RejectedSources =
    [
        "1 <> 2\n",
        "match x:\n    case 1 + 2:\n        pass\n",
        "match x:\n    case 1j + 2j:\n        pass\n",
        "match x:\n    case +1:\n        pass\n",
        "f(**a, *b)\n",
        "x = 1 +\n",
        "def f:\n    pass\n",
        "if x:\npass\n",
        "  x = 1\n",
        "a = 1 = 2\n",
        "(a, b) += 1\n",
        "del f()\n",
        "f(a for a in b, c)\n",
        "x = 1" + new string('0', 4300) + "\n",
        "print 'hello'\n",
        "for x in y\n    pass\n",
        "else:\n    pass\n",
        "try:\n    pass\n",
        "x = (1, 2\n",
        "f'{a b}'\n",
        "x = yield = 1\n",
        "lambda x=1, y: x\n",
        "def f(a=1, b): pass\n",
        "import a.b as c.d\n",
        "from x import a,\n",
        "with a as b, : pass\n",
        "f(a, *b, k=1, **kw, *c)\n",
        "a[*b:c]\n",
        "class C(x for x in y): pass\n",
    ];

    private static readonly Lazy<Dictionary<string, string>> Reference = new(() => DumpWithCPython(Sources.Concat(RejectedSources).ToArray()));

    private static Dictionary<string, string> DumpWithCPython(string[] sources)
    {
        var directory = Directory.CreateTempSubdirectory("ancoder-parser-tests-");
        try
        {
            var paths = new List<string>();
            for (int i = 0; i < sources.Length; i++)
            {
                var path = Path.Combine(directory.FullName, $"{i:D4}.py");
                File.WriteAllBytes(path, Encoding.UTF8.GetBytes(sources[i]));
                paths.Add(path);
            }
            var dumps = CPythonReference.DumpFiles(paths);
            var result = new Dictionary<string, string>(StringComparer.Ordinal);
            for (int i = 0; i < sources.Length; i++) result[sources[i]] = dumps[paths[i]];
            return result;
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    public static IEnumerable<object[]> AcceptedCases() => Sources.Select((_, i) => new object[] { i });
    public static IEnumerable<object[]> RejectedCases() => RejectedSources.Select((_, i) => new object[] { i });

    [Theory]
    [MemberData(nameof(AcceptedCases))]
    public void Dump_equals_CPython(int index)
    {
        var source = Sources[index];
        var expected = Reference.Value[source];
        Assert.False(OurParser.IsReject(expected), $"CPython rejects test source {index}: {expected}");
        var ours = OurParser.Dump(Encoding.UTF8.GetBytes(source));
        Assert.Equal(expected, ours);
    }

    [Theory]
    [MemberData(nameof(RejectedCases))]
    public void Rejected_like_CPython(int index)
    {
        var source = RejectedSources[index];
        var expected = Reference.Value[source];
        Assert.True(OurParser.IsReject(expected), $"CPython accepts test source {index}");
        var ours = OurParser.Dump(Encoding.UTF8.GetBytes(source));
        Assert.True(OurParser.IsReject(ours), $"we accept: {source}");
    }

    /// <summary>Node.Depth equals the nesting level of the node in CPython's dump (two spaces per level), for every
    /// node but the contexts and operators, which are shared singletons (as in CPython) with Depth 0.</summary>
    [Fact]
    public void Depth_matches_dump_nesting()
    {
        foreach (var source in Sources)
        {
            var expectedDepths = Reference.Value[source].Split('\n')
                .Where(line => line.TrimStart() != "None" && !SingletonTypeNames.Contains(line.Trim()))
                .Select(line => (line.Length - line.TrimStart(' ').Length) / 2)
                .ToList();
            var result = PythonParser.Parse(Encoding.UTF8.GetBytes(source));
            var ourDepths = new List<int>();
            CollectPreOrder(result.Module!, ourDepths);
            Assert.Equal(expectedDepths, ourDepths);
        }
    }

    /// <summary>The field-less context and operator classes (their dump line is the bare class name).</summary>
    private static readonly HashSet<string> SingletonTypeNames =
    [
        "Load", "Store", "Del", "And", "Or", "Add", "Sub", "Mult", "MatMult", "Div", "Mod", "Pow", "LShift", "RShift",
        "BitOr", "BitXor", "BitAnd", "FloorDiv", "Invert", "Not", "UAdd", "USub", "Eq", "NotEq", "Lt", "LtE", "Gt",
        "GtE", "Is", "IsNot", "In", "NotIn",
    ];

    private static void CollectPreOrder(Node node, List<int> depths)
    {
        if (node is ExprContextNode or BoolopNode or OperatorNode or UnaryopNode or CmpopNode)
        {
            Assert.Equal(0, node.Depth);
            return;
        }
        depths.Add(node.Depth);
        foreach (var child in node.Children()) CollectPreOrder(child, depths);
    }

    [Fact]
    public void String_and_bytes_entry_points_agree_on_accepted_sources()
    {
        foreach (var source in Sources)
        {
            var fromString = PythonParser.Parse(source);
            Assert.True(fromString.Success, source);
            Assert.Equal(AstDump.Dump(PythonParser.Parse(Encoding.UTF8.GetBytes(source)).Module!), AstDump.Dump(fromString.Module!));
        }
    }
}
