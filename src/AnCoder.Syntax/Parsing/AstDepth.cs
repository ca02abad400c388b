using System.Collections.Generic;
using AnCoder.Syntax.Ast;

namespace AnCoder.Syntax.Parsing;

/// <summary>
/// Sets <see cref="Node.Depth"/> on a whole tree (root = 0, each child = parent + 1) without recursion, so trees
/// of any depth are safe, and measures the nesting CPython counts when it turns the tree into Python objects.
/// </summary>
internal sealed class AstDepth : IFieldVisitor
{
    /// <summary>
    /// CPython 3.11's ast2obj (Python/Python-ast.c) allows <c>3 × recursion limit</c> nested nodes minus
    /// <c>3 × the caller's frame depth</c>; with the default limit 1000 and <c>ast.parse</c> called from a script's top
    /// level, a tree holds at most 2991 nested nodes (measured: `x = a` + `.a` × 2988 is the deepest accepted chain).
    /// Deeper trees make <c>ast.parse</c> raise RecursionError, a rejection.
    /// </summary>
    public const int CPythonMaxNestedNodes = 2991;

    private readonly Stack<Node> _pending = new();
    private int _parentDepth;

    /// <summary>Assigns depths and returns the number of nested nodes CPython's ast2obj would count on the deepest
    /// path (contexts and operators are shared singletons there and are not counted).</summary>
    public static int Assign(Node root)
    {
        var walker = new AstDepth();
        root.Depth = 0;
        walker._pending.Push(root);
        int deepest = 0;
        while (walker._pending.TryPop(out var node))
        {
            if (node.Depth > deepest && !IsSimpleSingleton(node)) deepest = node.Depth;
            walker._parentDepth = node.Depth;
            node.VisitFields(walker);
        }
        return deepest + 1;
    }

    private static bool IsSimpleSingleton(Node node) =>
        node is ExprContextNode or BoolopNode or OperatorNode or UnaryopNode or CmpopNode;

    public void Node(string name, Node? value)
    {
        if (value == null) return;
        value.Depth = _parentDepth + 1;
        _pending.Push(value);
    }

    public void Nodes<T>(string name, List<T> values) where T : Node?
    {
        foreach (var v in values)
            if (v != null) Node(name, v);
    }

    public void String(string name, string? value) { }
    public void Strings(string name, List<string> values) { }
    public void Int(string name, int? value) { }
    public void Constant(string name, object? value) { }
}
