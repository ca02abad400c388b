using System.Numerics;
using System.Text;
using AnCoder.Syntax.Ast;
using AnCoder.Syntax.Benchmarking;
using AnCoder.Syntax.Tests.Differential;
using Xunit;
using Assert = Xunit.Assert;

namespace AnCoder.Syntax.Tests.Parsing;

/// <summary>
/// PythonParser.ParseCompact must keep everything Parse gives (which the differential tests compare with CPython):
/// every node, field, position, depth and constant (with its .NET type) comes back from the compact records, and a
/// rejected source gets Parse's error.
/// </summary>
public sealed class CompactTreeTests
{
    [Fact]
    public void EveryStdlibFileComesBackAsParsesTree()
    {
        var files = CPythonReference.StdlibFiles();
        var problems = new System.Collections.Concurrent.ConcurrentBag<string>();
        int accepted = 0;
        Parallel.ForEach(files, path =>
        {
            var bytes = File.ReadAllBytes(path);
            var parsed = PythonParser.Parse(bytes);
            var compact = PythonParser.ParseCompact(bytes);
            if (!Equals(parsed.Error, compact.Error)) problems.Add($"{path}: Parse {parsed.Error} | ParseCompact {compact.Error}");
            else if (parsed.Success)
            {
                Interlocked.Increment(ref accepted);
                var difference = TreeDifference(parsed.Module!, compact.Tree!.ToModule());
                if (difference != null) problems.Add($"{path}: {difference}");
            }
        });
        Assert.True(problems.IsEmpty, string.Join('\n', problems.Take(20)));
        Assert.True(accepted > 1000, $"only {accepted} stdlib files parsed");
    }

    public static TheoryData<string> Sources() => new()
    {
        // Constants of every type, None in a list ({**d}'s key, kw_defaults), strings, ints and optional ints.
        "x = (None, True, False, ..., 0, 255, 256, -7, 2**31, 2147483648, 123456789012345678901234567890, 0.0, 1e300, 1.5j, b'\\x00ab', 'text', u'kind')\n" +
        "d = {**a, 'k': 1}\n{**a}\ndef f(a, /, b, *, c, d=1, **e) -> None: global g, h\n" +
        "from .. import x as y\nimport a.b\nf'{x!r:>{w}} {y=}'\n" +
        "match p:\n    case [1, *rest] | {'k': None, **kw} if rest: pass\n    case Point(x=0) as q: pass\n    case True: pass\n" +
        "async def g():\n    async with a as (b, c): await d\n    async for i in j: yield i\n" +
        "try:\n    pass\nexcept* ValueError:\n    pass\nx: int = 1\nlambda *a, k=1: a\n",
        // Wide positions: a column past 65,535 and a node spanning many lines.
        "x = '" + new string('a', 70_000) + "' + y\nz = (\n" + string.Concat(Enumerable.Repeat("    1,\n", 5000)) + ")\n",
        // Long enough that the streaming parse drops tokens and memo entries several times before the end.
        string.Concat(Enumerable.Repeat("def f(a, b=1):\n    return [x for x in a if x > b]\n", 3000)),
        "x = a" + string.Concat(Enumerable.Repeat(".a", 2988)) + "\n", // the deepest accepted chain (materialized on a big stack)
        "",
        "# only a comment\n",
    };

    [Theory]
    [MemberData(nameof(Sources))]
    public void GeneratedSourcesComeBackAsParsesTree(string source)
    {
        foreach (var (parsed, compact) in new[]
                 {
                     (PythonParser.Parse(source), PythonParser.ParseCompact(source)),
                     (PythonParser.Parse(Encoding.UTF8.GetBytes(source)), PythonParser.ParseCompact(Encoding.UTF8.GetBytes(source))),
                 })
        {
            Assert.True(parsed.Success, parsed.Error?.ToString());
            var tree = compact.Tree!;
            Assert.Null(TreeDifference(parsed.Module!, tree.ToModule()));
            Assert.Equal(CountNodes(parsed.Module!), tree.NodeCount);
            Assert.Equal("Module", tree.TypeName(tree.Root));
            Assert.False(tree.TryGetPosition(tree.Root, out _, out _, out _, out _));
            var statements = tree.Children(tree.Root);
            Assert.Equal(parsed.Module!.Body.Count, statements.Count);
            for (int i = 0; i < statements.Count; i++)
            {
                var expected = parsed.Module.Body[i];
                Assert.Equal(expected.TypeName, tree.TypeName(statements[i]));
                Assert.True(tree.TryGetPosition(statements[i], out int line, out int col, out int endLine, out int endCol));
                Assert.Equal((expected.Lineno, expected.ColOffset, expected.EndLineno, expected.EndColOffset), (line, col, endLine, endCol));
                Assert.Null(TreeDifference(expected, tree.Materialize(statements[i]))); // depth 1, as in the module
            }
        }
    }

    public static TheoryData<string> RejectedSources() => new()
    {
        string.Concat(Enumerable.Repeat("x = 1\n", 20_000)) + "(\n",                      // error after compaction
        string.Concat(Enumerable.Repeat("x = 1\n", 20_000)) + "if x:\npass\n",            // indentation error
        string.Concat(Enumerable.Repeat("x = 1\n", 20_000)) + "x = a" + string.Concat(Enumerable.Repeat(".a", 3000)) + "\n", // too deep for ast2obj
        "def f(:\n",
    };

    [Theory]
    [MemberData(nameof(RejectedSources))]
    public void RejectedSourcesGetParsesError(string source)
    {
        var compact = PythonParser.ParseCompact(source);
        Assert.False(compact.Success);
        Assert.Equal(PythonParser.Parse(source).Error, compact.Error);
        Assert.Equal(PythonParser.Parse(Encoding.UTF8.GetBytes(source)).Error, PythonParser.ParseCompact(Encoding.UTF8.GetBytes(source)).Error);
    }

    [Fact]
    public void UndecodableBytesGetParsesError()
    {
        var bytes = "# -*- coding: no-such-codec -*-\nx = 1\n"u8.ToArray();
        Assert.Equal(PythonParser.Parse(bytes).Error, PythonParser.ParseCompact(bytes).Error);
    }

    [Fact]
    public void RecordsOfTheBenchmarksGeneratedCodeTakeAtMost30BytesPerNode()
    {
        // The object tree of this source retains 49 bytes per node with its lists (README, "tree of a 2.7 MB
        // generated file"); the records are counted exactly (chunks allocated), so this bound does not depend on the GC.
        // Measured: 29.1 bytes per node.
        var source = ParseBenchmark.GeneratedSource(2_700_000);
        var tree = PythonParser.ParseCompact(source).Tree!;
        double bytesPerNode = (double)tree.StorageBytes / tree.NodeCount;
        Assert.True(bytesPerNode <= 30, $"{bytesPerNode:0.0} bytes per node");
    }

    [Theory]
    [InlineData(0, 8)]
    [InlineData(256, 8)]
    [InlineData(257, 9)]
    [InlineData(10_000, 14)]       // 2^14 = 16,384 words: the largest chunk under the large-object threshold
    [InlineData(4_000_000, 14)]
    [InlineData(4_000_001, 16)]    // large sources: 64 Ki-word chunks
    public void ChunksAreSizedToTheSource(long sourceBytes, int shift) => Assert.Equal(shift, CompactTree.ChunkShift(sourceBytes));

    [Fact]
    public void ATreeAlreadyBuiltComesBackUnchanged()
    {
        // The path taken when only the full parse accepts a source (ParseCompact's fallback).
        var source = (string)((IEnumerable<object[]>)Sources()).First()[0];
        var module = PythonParser.Parse(source).Module!;
        Assert.Null(TreeDifference(module, CompactTree.FromModule(module).ToModule()));
    }

    [Fact]
    public void EveryNodeKindFitsTheRecordsKindBits() => Assert.InRange(NodeKinds.Count, 1, 256);

    [Fact]
    public void NodeNumbersOutsideTheTreeAreRejected()
    {
        var tree = PythonParser.ParseCompact("x = 1\n").Tree!;
        Assert.Throws<ArgumentOutOfRangeException>(() => tree.Materialize(tree.NodeCount));
        Assert.Throws<ArgumentOutOfRangeException>(() => tree.TypeName(-1));
    }

    private static int CountNodes(Node root)
    {
        int count = 0;
        var stack = new Stack<Node>([root]);
        while (stack.Count > 0)
        {
            var node = stack.Pop();
            count++;
            foreach (var child in node.Children())
                if (!IsShared(child)) stack.Push(child);
        }
        return count;
    }

    private static bool IsShared(Node node) => node is ExprContextNode or OperatorNode or BoolopNode or UnaryopNode or CmpopNode;

    /// <summary>Where two trees differ (type, position, depth, any field, a constant's value or .NET type), or null.
    /// Walks with an explicit stack: the deepest accepted chain is 2,991 nodes deep.</summary>
    internal static string? TreeDifference(Node expected, Node actual)
    {
        var stack = new Stack<(Node Expected, Node Actual, string Path)>([(expected, actual, expected.TypeName)]);
        while (stack.Count > 0)
        {
            var (e, a, path) = stack.Pop();
            if (IsShared(e) || IsShared(a))
            {
                if (!ReferenceEquals(e, a)) return $"{path}: {e.TypeName} became {a.TypeName}";
                continue;
            }
            if (e.GetType() != a.GetType()) return $"{path}: {e.TypeName} became {a.TypeName}";
            if (e.Depth != a.Depth) return $"{path}: depth {e.Depth} became {a.Depth}";
            if (e is PositionedNode pe && a is PositionedNode pa &&
                (pe.Lineno, pe.ColOffset, pe.EndLineno, pe.EndColOffset) != (pa.Lineno, pa.ColOffset, pa.EndLineno, pa.EndColOffset))
                return $"{path}: position {(pe.Lineno, pe.ColOffset, pe.EndLineno, pe.EndColOffset)} became {(pa.Lineno, pa.ColOffset, pa.EndLineno, pa.EndColOffset)}";
            var ef = Fields.Of(e);
            var af = Fields.Of(a);
            if (ef.Count != af.Count) return $"{path}: {ef.Count} fields became {af.Count}";
            for (int i = 0; i < ef.Count; i++)
            {
                var (name, ev) = ef[i];
                var (_, av) = af[i];
                string at = $"{path}.{name}";
                switch (ev)
                {
                    case Node en:
                        if (av is not Node an) return $"{at}: a node became {av ?? "None"}";
                        stack.Push((en, an, $"{at}({en.TypeName})"));
                        break;
                    case Node?[] el:
                        if (av is not Node?[] al || al.Length != el.Length) return $"{at}: list of {el.Length} changed";
                        for (int j = 0; j < el.Length; j++)
                        {
                            if (el[j] is null != al[j] is null) return $"{at}[{j}]: None changed";
                            if (el[j] != null) stack.Push((el[j]!, al[j]!, $"{at}[{j}]({el[j]!.TypeName})"));
                        }
                        break;
                    default:
                        if (!SameScalar(ev, av)) return $"{at}: {ev ?? "None"} ({ev?.GetType().Name}) became {av ?? "None"} ({av?.GetType().Name})";
                        break;
                }
            }
        }
        return null;
    }

    private static bool SameScalar(object? e, object? a) => (e, a) switch
    {
        (null, null) => true,
        (null, _) or (_, null) => false,
        _ when e.GetType() != a.GetType() => false,
        (double x, double y) => BitConverter.DoubleToInt64Bits(x) == BitConverter.DoubleToInt64Bits(y),
        (Complex x, Complex y) => BitConverter.DoubleToInt64Bits(x.Real) == BitConverter.DoubleToInt64Bits(y.Real)
                                  && BitConverter.DoubleToInt64Bits(x.Imaginary) == BitConverter.DoubleToInt64Bits(y.Imaginary),
        (byte[] x, byte[] y) => x.AsSpan().SequenceEqual(y),
        (List<string> x, List<string> y) => x.SequenceEqual(y),
        _ => e.Equals(a),
    };

    private sealed class Fields : IFieldVisitor
    {
        private readonly List<(string, object?)> _fields = new();

        public static List<(string Name, object? Value)> Of(Node node)
        {
            var fields = new Fields();
            node.VisitFields(fields);
            return fields._fields;
        }

        public void Node(string name, Node? value) => _fields.Add((name, value));
        public void Nodes<T>(string name, ReadOnlySpan<T> values) where T : Node? => _fields.Add((name, values.ToArray().Cast<Node?>().ToArray()));
        public void String(string name, string? value) => _fields.Add((name, value));
        public void Strings(string name, List<string> values) => _fields.Add((name, values.ToList()));
        public void Int(string name, int? value) => _fields.Add((name, value));
        public void Constant(string name, object? value) => _fields.Add((name, value));
    }
}
