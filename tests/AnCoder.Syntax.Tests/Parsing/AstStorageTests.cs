using AnCoder.Syntax.Ast;
using AnCoder.Syntax.Tests.Differential;
using Xunit;
using Assert = Xunit.Assert;

namespace AnCoder.Syntax.Tests.Parsing;

/// <summary>
/// The compact storage of a parsed tree (list fields as the element or an exact-size array, contexts and operators
/// as a code; depth, that code and end_lineno − lineno packed in one field, with what does not fit beside the node)
/// behaves as the plain properties it stands for. Positions of long lines and of nodes spanning thousands of lines
/// are checked against CPython by Cases/long_line_columns.py and Cases/long_spans.py.
/// </summary>
public sealed class AstStorageTests
{
    private static Module Parse(string source) => PythonParser.Parse(source).Module ?? throw new InvalidOperationException("rejected");

    [Fact]
    public void ListPropertyOfAParsedTreeIsOneListWhoseChangesAreTheNodes()
    {
        var module = Parse("f(a, b)\n");
        var call = (Call)((Expr)module.Body[0]).Value;
        var args = call.Args;
        Assert.Same(args, call.Args);
        Assert.Equal(["a", "b"], args.Select(a => ((Name)a).Id));
        args.Add(new Name { Id = "c", Ctx = Load.Instance });
        Assert.Equal(["a", "b", "c"], call.Children().OfType<Name>().Select(n => n.Id).Skip(1));
        Assert.Contains(" id=c\n", AstDump.Dump(module));
    }

    [Fact]
    public void EmptyListFieldReadsAsAnEmptyListThatKeepsWhatIsAdded()
    {
        var module = Parse("f()\n");
        var call = (Call)((Expr)module.Body[0]).Value;
        Assert.Empty(call.Keywords);
        call.Keywords.Add(new Keyword { Arg = "k", Value = new Name { Id = "v", Ctx = Load.Instance } });
        Assert.Single(call.Keywords);
        Assert.Equal("k", ((Keyword)call.Keywords[0]).Arg);

        var assigned = new List<ExprNode> { new Name { Id = "x", Ctx = Load.Instance } };
        call.Args = assigned;
        Assert.Same(assigned, call.Args);
        call.Args = [];
        Assert.Empty(call.Args);
    }

    [Fact]
    public void ContextsAndOperatorsReadBackAsTheSharedInstances()
    {
        var module = Parse("x = a + b\ndel y\nz -= not w\n");
        var assign = (Assign)module.Body[0];
        Assert.Same(Store.Instance, ((Name)assign.Targets[0]).Ctx);
        var sum = (BinOp)assign.Value;
        Assert.Same(Add.Instance, sum.Op);
        Assert.Same(Load.Instance, ((Name)sum.Left).Ctx);
        Assert.Same(Del.Instance, ((Name)((Delete)module.Body[1]).Targets[0]).Ctx);
        var aug = (AugAssign)module.Body[2];
        Assert.Same(Sub.Instance, aug.Op);
        Assert.Same(Not.Instance, ((UnaryOp)aug.Value).Op);

        var name = new Name { Id = "n" };
        Assert.Null(name.Ctx);
        name.Ctx = Store.Instance;
        Assert.Same(Store.Instance, name.Ctx);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(65_534)]
    [InlineData(65_535)]
    [InlineData(1_000_000)]
    [InlineData(-1)]
    public void ColumnsOfAnySizeReadBackAsSet(int column)
    {
        var name = new Name { Id = "n", Ctx = Load.Instance };
        name.SetPosition(3, column, 4, column + 7);
        Assert.Equal((3, column, 4, column + 7), (name.Lineno, name.ColOffset, name.EndLineno, name.EndColOffset));
        name.ColOffset = 5;
        Assert.Equal((5, column + 7), (name.ColOffset, name.EndColOffset));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(4_093)]
    [InlineData(4_094)]
    [InlineData(4_095)]
    [InlineData(1_000_000)]
    [InlineData(-1)]
    [InlineData(-7)]
    public void EndLinesAtAnyDistanceReadBackAsSetInEitherOrder(int span)
    {
        // Object initializer order (Lineno before EndLineno), the reverse, and SetPosition agree.
        var forward = new Name { Id = "n", Ctx = Load.Instance, Lineno = 7, ColOffset = 1, EndLineno = 7 + span, EndColOffset = 2 };
        var backward = new Name { Id = "n", Ctx = Load.Instance, EndColOffset = 2, EndLineno = 7 + span, ColOffset = 1, Lineno = 7 };
        var atOnce = new Name { Id = "n", Ctx = Load.Instance };
        atOnce.SetPosition(7, 1, 7 + span, 2);
        foreach (var name in new[] { forward, backward, atOnce })
        {
            Assert.Equal((7, 1, 7 + span, 2), (name.Lineno, name.ColOffset, name.EndLineno, name.EndColOffset));
            Assert.Same(Load.Instance, name.Ctx);
        }
        forward.Lineno = 3; // moving the start keeps the end
        Assert.Equal((3, 7 + span), (forward.Lineno, forward.EndLineno));
        forward.EndLineno = 3;
        Assert.Equal((3, 3), (forward.Lineno, forward.EndLineno));
    }

    [Fact]
    public void UnsetEndLineReadsAsZero()
    {
        var name = new Name { Id = "n", Lineno = 12, ColOffset = 3 };
        Assert.Equal((12, 0), (name.Lineno, name.EndLineno));
        name.Lineno = 5_000_000;
        Assert.Equal(0, name.EndLineno);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2_991)]
    [InlineData(65_534)]
    [InlineData(65_535)]
    [InlineData(1_000_000)]
    [InlineData(-1)]
    public void DepthOfAnySizeReadsBackAsSetBesideTheOtherPackedFields(int depth)
    {
        var op = new BinOp { Op = Pow.Instance };
        op.SetPosition(1, 0, 5_000, 9);
        op.Depth = depth;
        Assert.Equal((depth, 1, 5_000), (op.Depth, op.Lineno, op.EndLineno));
        Assert.Same(Pow.Instance, op.Op);
        op.Op = BitXor.Instance;
        op.EndLineno = 2;
        Assert.Equal((depth, 2), (op.Depth, op.EndLineno));
        Assert.Same(BitXor.Instance, op.Op);
        op.Depth = 4;
        Assert.Equal(4, op.Depth);
    }

    [Fact]
    public void ConstantKindAndTypeCommentsReadBackAsSet()
    {
        var module = Parse("x = u'a'\ny = 'b'\ndef f(a):\n    pass\n");
        var u = (Constant)((Assign)module.Body[0]).Value;
        var plain = (Constant)((Assign)module.Body[1]).Value;
        Assert.Equal(("u", null), (u.Kind, plain.Kind));
        plain.Kind = "other kind";
        u.Kind = null;
        Assert.Equal((null, "other kind"), (u.Kind, plain.Kind));
        Assert.Equal("b", plain.Value);

        var assign = (Assign)module.Body[0];
        var arg = (Arg)((Arguments)((FunctionDef)module.Body[2]).Args).Args[0];
        Assert.Null(assign.TypeComment);
        Assert.Null(arg.TypeComment);
        assign.TypeComment = "int";
        Assert.Equal(("int", null), (assign.TypeComment, ((Assign)module.Body[1]).TypeComment));
        assign.TypeComment = null;
        Assert.Null(assign.TypeComment);
    }

    [Fact]
    public void DepthsOfAnAcceptedTreeAreExact()
    {
        var module = Parse("def f():\n    return g(x)\n");
        var ret = (Return)((FunctionDef)module.Body[0]).Body[0];
        var call = (Call)ret.Value!;
        Assert.Equal((0, 1, 2, 3, 4), (module.Depth, module.Body[0].Depth, ret.Depth, call.Depth, call.Args[0].Depth));
    }

    [Fact]
    public void DumpOfAParsedTreeIsTheSameBeforeAndAfterItsListsAreRead()
    {
        var source = File.ReadAllBytes(Path.Combine(CPythonReference.CasesDirectory, "comprehensions.py"));
        var module = PythonParser.Parse(source).Module!;
        var before = AstDump.Dump(module);
        var stack = new Stack<Node>([module]);
        while (stack.Count > 0)
        {
            var node = stack.Pop();
            foreach (var property in node.GetType().GetProperties().Where(p => p.PropertyType.IsGenericType && p.PropertyType.GetGenericTypeDefinition() == typeof(List<>)))
                property.GetValue(node); // turns the array into a List
            foreach (var child in node.Children()) stack.Push(child);
        }
        Assert.Equal(before, AstDump.Dump(module));
    }

    [Fact]
    public void ListsMadeAtTheirExactSizeAreEachTheirNodesAndNoParseSharesThem()
    {
        // Every list the parser now makes without a List (tuples, displays, targets, comparisons, call arguments,
        // comprehension clauses, parameters): reading and changing each of them in one tree leaves a second parse of
        // the same source as it was, and each property reads as a plain List.
        const string source = "t = u = (a, b)\nv = [c, d]\ns = {e, g}\nw = x[1:2, 3]\n[i for i in y if p if q for j in z]\n"
            + "def f(a, /, b, c=1, *, d, e=2): pass\nh(k, l)\nh(*m, n=o)\nclass C(B, D, metaclass=M): pass\nr = 1 < 2 <= 3\n";
        var first = Parse(source);
        var original = AstDump.Dump(first);
        var stack = new Stack<Node>([first]);
        int lists = 0;
        while (stack.Count > 0)
        {
            var node = stack.Pop();
            foreach (var child in node.Children()) stack.Push(child);
            foreach (var property in node.GetType().GetProperties().Where(p => p.PropertyType.IsGenericType && p.PropertyType.GetGenericTypeDefinition() == typeof(List<>)))
            {
                var list = (System.Collections.IList)property.GetValue(node)!;
                Assert.Equal(property.PropertyType, list.GetType());
                if (list.Count == 0 || list[0] is not Node) continue;
                list.Add(list[0]);
                lists++;
            }
        }
        Assert.True(lists >= 20, $"{lists} lists");
        Assert.NotEqual(original, AstDump.Dump(first));
        Assert.Equal(original, AstDump.Dump(Parse(source)));
    }

    [Fact]
    public void EqualShortStringConstantsOfAParseAreOneString()
    {
        string longText = new('x', AnCoder.Syntax.Parsing.Strings.StringConstants.MaxLength + 1);
        var module = Parse($"a = 'utf-8'\nb = \"utf-8\"\nc = f'{{x}}utf-8'\nd = '{longText}'\ne = '{longText}'\n");
        Constant Value(int i) => (Constant)((Assign)module.Body[i]).Value;
        var joined = (JoinedStr)((Assign)module.Body[2]).Value;
        Assert.Same(Value(0).Value, Value(1).Value);
        Assert.Same(Value(0).Value, ((Constant)joined.Values[1]).Value);
        Assert.Equal(Value(3).Value, Value(4).Value); // longer values are not looked up (equal, not shared)
    }
}
