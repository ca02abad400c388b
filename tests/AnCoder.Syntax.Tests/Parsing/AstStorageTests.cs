using AnCoder.Syntax.Ast;
using AnCoder.Syntax.Tests.Differential;
using Xunit;
using Assert = Xunit.Assert;

namespace AnCoder.Syntax.Tests.Parsing;

/// <summary>
/// The compact storage of a parsed tree (list fields as the element or an exact-size array, contexts and operators
/// as a byte) behaves as the plain properties it stands for. Positions of long lines are checked against CPython by
/// Cases/long_line_columns.py.
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
}
