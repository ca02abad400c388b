using System.Collections.Generic;
using AnCoder.Syntax.Ast;

namespace AnCoder.Syntax.Parsing;

/// <summary>
/// Sets <see cref="Node.Depth"/> on a whole tree (root = 0, each child = parent + 1) without recursion, so trees
/// of any depth are safe, and measures the nesting CPython counts when it turns the tree into Python objects.
/// </summary>
internal static class AstDepth
{
    /// <summary>
    /// CPython 3.11's ast2obj (Python/Python-ast.c) allows <c>3 × recursion limit</c> nested nodes minus
    /// <c>3 × the caller's frame depth</c>; with the default limit 1000 and <c>ast.parse</c> called from a script's top
    /// level, a tree holds at most 2991 nested nodes (measured: `x = a` + `.a` × 2988 is the deepest accepted chain).
    /// Deeper trees make <c>ast.parse</c> raise RecursionError, a rejection.
    /// </summary>
    public const int CPythonMaxNestedNodes = 2991;

    [ThreadStatic] private static Node[]? t_stack;
    [ThreadStatic] private static int[]? t_depths;

    /// <summary>Assigns depths below <paramref name="root"/> (whose own Depth is kept) and returns the number of
    /// nested nodes CPython's ast2obj would count on the deepest path from the root (contexts and operators are
    /// shared singletons there and are not counted).</summary>
    public static int Assign(Node root) => Walk(root, compactLists: false);

    /// <summary><see cref="Assign"/>, and every node's list fields become exact-size arrays (<see cref="AstLists"/>):
    /// run by the parser on each finished top-level statement, while its nodes are young.</summary>
    public static int AssignAndCompact(Node root) => Walk(root, compactLists: true);

    private static int Walk(Node root, bool compactLists)
    {
        var buffer = t_stack ?? new Node[256];
        var stack = new NodeStack(buffer, t_depths is { } cached && cached.Length == buffer.Length ? cached : new int[buffer.Length]);
        int rootDepth = root.Depth;
        int deepest = rootDepth;
        stack.ParentDepth = rootDepth - 1;
        stack.Push(root);
        root.Depth = rootDepth; // Push stores a walk depth; the root's own is kept as it was
        while (stack.Count > 0)
        {
            var node = stack.Pop(out int depth);
            if (depth > deepest) deepest = depth;
            stack.ParentDepth = depth;
            if (compactLists) node.CompactLists();
            node.PushChildren(ref stack);
        }
        var items = stack.Items;
        Array.Clear(items, 0, stack.HighWater); // no references to this tree stay behind
        bool keep = items.Length <= 1 << 16;
        t_stack = keep ? items : null;
        t_depths = keep ? stack.Depths : null;
        return deepest - rootDepth + 1;
    }
}
