using System.Collections.Generic;
using AnCoder.Syntax.Ast;

namespace AnCoder.Syntax.Parsing;

/// <summary>Sets <see cref="Node.Depth"/> on a whole tree (root = 0, each child = parent + 1) and reports the
/// maximum depth.</summary>
internal sealed class AstDepth : IFieldVisitor
{
    private int _depth;
    public int MaxDepth { get; private set; }

    public static int Assign(Node root)
    {
        var walker = new AstDepth();
        root.Depth = 0;
        root.VisitFields(walker);
        return walker.MaxDepth;
    }

    private void Visit(Node child)
    {
        int d = _depth + 1;
        child.Depth = d;
        if (d > MaxDepth) MaxDepth = d;
        _depth = d;
        child.VisitFields(this);
        _depth = d - 1;
    }

    public void Node(string name, Node? value)
    {
        if (value != null) Visit(value);
    }

    public void Nodes<T>(string name, List<T> values) where T : Node?
    {
        foreach (var v in values)
            if (v != null) Visit(v);
    }

    public void String(string name, string? value) { }
    public void Strings(string name, List<string> values) { }
    public void Int(string name, int? value) { }
    public void Constant(string name, object? value) { }
}
