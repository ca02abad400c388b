using System.Collections.Generic;
using System.Runtime.InteropServices;

namespace AnCoder.Syntax.Ast;

/// <summary>
/// Base of every AST node. The concrete classes (Nodes.g.cs) are generated from CPython's own `ast`
/// metadata, so their names, fields and field order are CPython's.
/// </summary>
public abstract class Node
{
    /// <summary>The CPython class name (e.g. <c>FunctionDef</c>).</summary>
    public abstract string TypeName { get; }

    /// <summary>Depth in the tree: Module = 0, each child = parent + 1 (every AST node counts as a level,
    /// including nodes without positions such as <c>arguments</c>). Contexts and operators (<c>Load</c>,
    /// <c>Add</c>, ...) are shared singletons, as in CPython's ast module: their Depth is 0.</summary>
    public int Depth { get; set; }

    /// <summary>Reports the node's fields in CPython's <c>_fields</c> order (node lists as read-only spans, so a
    /// walk neither allocates nor turns a parsed tree's compact arrays into Lists).</summary>
    public abstract void VisitFields(IFieldVisitor visitor);

    /// <summary>Pushes the child nodes (not the shared context/operator singletons) onto <paramref name="stack"/>,
    /// each with <see cref="Depth"/> one more than this node's; generated per class, so a whole-tree walk needs no
    /// visitor calls or allocations.</summary>
    internal virtual void PushChildren(ref NodeStack stack) { }

    /// <summary>Turns this node's list fields into exact-size arrays (<see cref="AstLists.Compact{T}"/>); generated
    /// per class.</summary>
    internal virtual void CompactLists() { }

    /// <summary>The child nodes in <c>_fields</c> order (None entries of a list are skipped).</summary>
    public IEnumerable<Node> Children()
    {
        var collector = new ChildCollector();
        VisitFields(collector);
        return collector.Children;
    }

    private sealed class ChildCollector : IFieldVisitor
    {
        public readonly List<Node> Children = new();
        public void Node(string name, Node? value) { if (value != null) Children.Add(value); }
        public void Nodes<T>(string name, ReadOnlySpan<T> values) where T : Node?
        {
            foreach (var v in values) if (v != null) Children.Add(v);
        }
        public void String(string name, string? value) { }
        public void Strings(string name, List<string> values) { }
        public void Int(string name, int? value) { }
        public void Constant(string name, object? value) { }
    }
}

/// <summary>A node with CPython's position attributes. Columns are UTF-8 byte offsets within the line;
/// lines are 1-based.</summary>
public abstract class PositionedNode : Node
{
    public int Lineno { get; set; }
    public int ColOffset { get; set; }
    public int EndLineno { get; set; }
    public int EndColOffset { get; set; }

    public void SetPosition(int lineno, int colOffset, int endLineno, int endColOffset)
    {
        Lineno = lineno; ColOffset = colOffset; EndLineno = endLineno; EndColOffset = endColOffset;
    }

    /// <summary>The node's one context or operator field (<c>ctx</c> of Name, Attribute, ...; <c>op</c> of BinOp,
    /// UnaryOp, BoolOp, AugAssign), as its class's 1-based code (0 = unset). A byte here fits the 4 bytes of padding
    /// after Depth and the positions, where a reference in the derived class took 8 more bytes per node. (Columns in
    /// 16 bits with a side table for wide ones saved 8 more bytes per node, but a 1 MB line made every node wide:
    /// allocation grew 52x for a 16x input in LinearWorkTests.)</summary>
    private protected byte SingletonCode;
}

/// <summary>
/// How a node's list field is stored: null (empty), the one element itself, an exact-size array, or a List. The
/// parser assigns Lists, and <see cref="Parsing.AstDepth"/> compacts them as each top-level statement is finished (in
/// a parsed tree a List object and its growth slack cost more than the elements: 32 bytes per list, 61 % of the slots
/// unused; and most lists hold one element, which needs no array). Reading the public property turns the field into a
/// List once, so it behaves as a List field: the same List on every read, and changes to it are the node's.
/// </summary>
internal static class AstLists
{
    /// <summary>What an assigned list is stored as: an empty list is not kept (the property creates a fresh list on
    /// its first read), so fill a list before assigning it.</summary>
    public static object? Store<T>(List<T>? list) => list is { Count: > 0 } ? list : null;

    public static List<T> AsList<T>(ref object? field) where T : Node?
    {
        if (field is List<T> list) return list;
        list = field switch
        {
            null => new List<T>(),
            T[] array => new List<T>(array),
            _ => new List<T>(1) { (T)field },
        };
        field = list;
        return list;
    }

    /// <summary>The elements, read-only (for a single element: a span over the field itself).</summary>
    public static ReadOnlySpan<T> Span<T>(ref object? field) where T : Node?
    {
        object? value = field;
        if (value is null) return default;
        if (value is T[] array) return array;
        if (value is List<T> list) return CollectionsMarshal.AsSpan(list);
        return new ReadOnlySpan<T>(ref System.Runtime.CompilerServices.Unsafe.As<object?, T>(ref field));
    }

    public static void Compact<T>(ref object? field) where T : Node?
    {
        if (field is not List<T> list) return;
        field = list.Count switch
        {
            0 => null,
            1 when list[0] is { } only => only, // a None element (a `{**d}` key) stays in an array: null means empty
            _ => list.ToArray(),
        };
    }
}

/// <summary>Receives a node's fields in <c>_fields</c> order.</summary>
public interface IFieldVisitor
{
    void Node(string name, Node? value);
    void Nodes<T>(string name, ReadOnlySpan<T> values) where T : Node?;
    void String(string name, string? value);
    void Strings(string name, List<string> values);
    void Int(string name, int? value);
    /// <summary>A field of ASDL type <c>constant</c> (<see cref="Ast.Constant.Value"/>, <see cref="MatchSingleton.Value"/>).</summary>
    void Constant(string name, object? value);
}

/// <summary>A growable stack of nodes for tree walks without recursion (see <see cref="Node.PushChildren"/>).</summary>
internal struct NodeStack(Node[] items)
{
    private Node[] _items = items;
    public int Count;
    /// <summary>The most entries held at once (slots to clear before the array is reused).</summary>
    public int HighWater;
    /// <summary>Depth of the node whose children are being pushed.</summary>
    public int ParentDepth;

    public Node[] Items => _items;

    public void Push(Node? node)
    {
        if (node == null) return;
        node.Depth = ParentDepth + 1;
        if (Count == _items.Length) Array.Resize(ref _items, _items.Length * 2);
        // Through a ref, without the covariant array store check (Node is abstract, so `_items[i] = node` called
        // CastHelpers.StelemRef_Helper for every node of every tree walk); _items is always exactly a Node[].
        System.Runtime.CompilerServices.Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_items), Count++) = node;
        if (Count > HighWater) HighWater = Count;
    }

    public void PushAll<T>(ReadOnlySpan<T> nodes) where T : Node?
    {
        foreach (var n in nodes) Push(n);
    }

    public Node Pop() => _items[--Count];
}

/// <summary>The empty list reported by <see cref="Node.VisitFields"/> for a list field never assigned (read-only by
/// contract).</summary>
internal static class EmptyList<T>
{
    public static readonly List<T> Instance = new(0);
}
