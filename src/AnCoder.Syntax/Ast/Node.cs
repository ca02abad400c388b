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
    public int Depth
    {
        get
        {
            int depth = (int)(_bits & DepthMask);
            return depth != DepthMask ? depth : RareFields.Of(this).Depth;
        }
        set
        {
            if ((uint)value < DepthMask) _bits = (_bits & ~DepthMask) | (uint)value;
            else
            {
                RareFields.For(this).Depth = value;
                _bits |= DepthMask;
            }
        }
    }

    /// <summary>Sets the depth a tree walk computed (<see cref="Parsing.AstDepth"/>): depths from 65,535 on are stored
    /// as 65,534 rather than beside the node, since a tree that deep is rejected (CPython's limit is 2,991 nested
    /// nodes) and nobody reads them, while an entry per node of a rejected 300,000-deep chain would cost more than the
    /// tree (LinearWorkTests, "long sum").</summary>
    internal void StoreWalkDepth(int depth) => _bits = (_bits & ~DepthMask) | (uint)Math.Min(depth, (int)DepthMask - 1);

    /// <summary>
    /// Depth (bits 0–15), the context/operator code or Constant's kind (bits 16–19) and, in a
    /// <see cref="PositionedNode"/>, end_lineno − lineno (bits 20–31), packed into one field: with the three other
    /// positions the base fields take 16 bytes instead of 24, 8 bytes less on every node of a parsed tree
    /// (docs/parser-verification.md, "Node fields packed"). A value that does not fit (a depth from 65,535 on, which
    /// CPython rejects long before: <c>AstDepth.CPythonMaxNestedNodes</c>; a node spanning 4,094 lines or more) is kept
    /// in <see cref="RareFields"/>, an entry per such node, so the cost stays linear in the tree (columns stay 32-bit
    /// for that reason: a long line would make every node on it wide).
    /// </summary>
    private protected uint _bits;

    private const uint DepthMask = 0xFFFF;
    private const int CodeShift = 16;
    private const uint CodeMask = 0xFu << CodeShift;

    /// <summary>The 4-bit code of the node's one context or operator field (1-based, 0 = unset), or of Constant's
    /// kind (<see cref="Constant.Kind"/>).</summary>
    private protected byte SingletonCode
    {
        get => (byte)((_bits & CodeMask) >> CodeShift);
        set => _bits = (_bits & ~CodeMask) | ((uint)(value & 0xF) << CodeShift);
    }

    /// <summary>The class's index among all concrete node classes (<see cref="NodeKinds"/>); generated.</summary>
    internal abstract int KindCode { get; }

    /// <summary>Sets the fields from a <see cref="CompactTree"/> record, in the order <see cref="VisitFields"/>
    /// reports them; generated per class.</summary>
    internal virtual void ReadFields(CompactTree.FieldReader reader) { }

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
    private int _lineno, _colOffset, _endColOffset;

    private const int DeltaShift = 20;
    /// <summary>end_lineno − lineno from 0 to 4,093 is stored as such; 4,094 means end_lineno = 0 (not yet set: an
    /// object initializer that sets Lineno first); 4,095 means the value is in <see cref="RareFields"/>.</summary>
    private const uint DeltaEndUnset = 4094, DeltaEscape = 4095;

    public int Lineno
    {
        get => _lineno;
        set
        {
            if (value == _lineno) return;
            int end = EndLineno;
            _lineno = value;
            EndLineno = end;
        }
    }

    public int ColOffset { get => _colOffset; set => _colOffset = value; }

    public int EndLineno
    {
        get
        {
            uint delta = _bits >> DeltaShift;
            if (delta < DeltaEndUnset) return _lineno + (int)delta;
            return delta == DeltaEndUnset ? 0 : RareFields.Of(this).EndLineno;
        }
        set
        {
            uint delta = (uint)(value - _lineno);
            if (delta >= DeltaEndUnset)
            {
                if (value == 0) delta = DeltaEndUnset;
                else
                {
                    RareFields.For(this).EndLineno = value;
                    delta = DeltaEscape;
                }
            }
            _bits = (_bits & ((1u << DeltaShift) - 1)) | (delta << DeltaShift);
        }
    }

    public int EndColOffset { get => _endColOffset; set => _endColOffset = value; }

    public void SetPosition(int lineno, int colOffset, int endLineno, int endColOffset)
    {
        _lineno = lineno;
        _colOffset = colOffset;
        EndLineno = endLineno;
        _endColOffset = endColOffset;
    }
}

/// <summary>
/// The values that do not fit a node's packed fields (<see cref="Node._bits"/>) and the fields a parsed tree never
/// sets (<c>type_comment</c>: CPython's <c>ast.parse</c> fills it only with <c>type_comments=True</c>, which this
/// parser does not offer): an entry per node that has one, kept as long as the node lives. A parsed tree of
/// accepted code has none unless a node spans 4,094 lines or more.
/// </summary>
internal sealed class RareFields
{
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<Node, RareFields> Table = new();
    private static readonly RareFields None = new();

    public int Depth, EndLineno;
    public string? Kind, TypeComment;

    /// <summary>Whether any entry was ever made: until then a read (a type_comment of every visited Assign, arg, ...)
    /// needs no lookup (which would also give the node an identity hash code).</summary>
    private static volatile bool s_used;

    /// <summary>The node's entry (a shared empty one when it has none: read-only use).</summary>
    public static RareFields Of(Node node) => s_used && Table.TryGetValue(node, out var rare) ? rare : None;

    /// <summary>The node's entry, created on first use (to write).</summary>
    public static RareFields For(Node node)
    {
        s_used = true;
        return Table.GetValue(node, static _ => new RareFields());
    }

    public static string? TypeCommentOf(Node node) => Of(node).TypeComment;

    public static void SetTypeComment(Node node, string? value)
    {
        if (value != null) For(node).TypeComment = value;
        else if (s_used && Table.TryGetValue(node, out var rare)) rare.TypeComment = null;
    }
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
    public static object? Store<T>(List<T>? list)
    {
        if (list is CompactHandoff<T> handoff) return handoff.Take();
        return list is { Count: > 0 } ? list : null;
    }

    /// <summary>
    /// A list field's compact storage (null, the one element, or an exact-size array, as <see cref="Compact{T}"/>
    /// makes it), wrapped to pass through the generated <c>List&lt;T&gt;</c> setter: <see cref="Store{T}"/> unwraps
    /// it. The parser builds its lists this way (Parser.TakeList), so a parsed list field costs no List object and no
    /// growth slack, not even as garbage: Lists built and compacted later were a third of what a parse allocated
    /// (docs/parser-verification.md, "Child lists and constants"). Internal: the carrier never reaches user code, and
    /// the arrays it hands over are never written (reading the property copies them into a new List).
    /// </summary>
    public static List<T> Handoff<T>(object? storage) => CompactHandoff<T>.Carry(storage);

    /// <summary><see cref="Handoff{T}"/> for a result that is kept a while before it reaches a setter (a block's
    /// statements, which the rule returns to the compound statement that assigns them after parsing more): a carrier
    /// of its own, which hands the storage over on every <see cref="Store{T}"/> (compact arrays are never written, so
    /// two nodes may share one).</summary>
    public static List<T> Owned<T>(object? storage) => new CompactHandoff<T>(storage, owned: true);

    /// <summary>The carrier of <see cref="Handoff{T}"/>: one empty instance per thread and element type, holding the
    /// storage only between the parser's <c>Handoff</c> call and the setter's <see cref="Store{T}"/>.</summary>
    private sealed class CompactHandoff<T>(object? storage = null, bool owned = false) : List<T>
    {
        [ThreadStatic] private static CompactHandoff<T>? t_instance;
        private object? _storage = storage;

        public static List<T> Carry(object? storage)
        {
            var carrier = t_instance ??= new CompactHandoff<T>();
            carrier._storage = storage;
            return carrier;
        }

        public object? Take()
        {
            var storage = _storage;
            if (!owned) _storage = null;
            return storage;
        }
    }

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

/// <summary>A growable stack of nodes for tree walks without recursion (see <see cref="Node.PushChildren"/>), with
/// each node's depth beside it: the walk reads depths from here, not back from the nodes, whose packed field keeps
/// depths only up to 65,534 (<see cref="Node.StoreWalkDepth"/>).</summary>
internal struct NodeStack(Node[] items, int[] depths)
{
    private Node[] _items = items;
    private int[] _depths = depths;
    public int Count;
    /// <summary>The most entries held at once (slots to clear before the array is reused).</summary>
    public int HighWater;
    /// <summary>Depth of the node whose children are being pushed.</summary>
    public int ParentDepth;

    public Node[] Items => _items;
    public int[] Depths => _depths;

    public void Push(Node? node)
    {
        if (node == null) return;
        int depth = ParentDepth + 1;
        node.StoreWalkDepth(depth);
        if (Count == _items.Length)
        {
            Array.Resize(ref _items, _items.Length * 2);
            Array.Resize(ref _depths, _items.Length);
        }
        _depths[Count] = depth;
        // Through a ref, without the covariant array store check (Node is abstract, so `_items[i] = node` called
        // CastHelpers.StelemRef_Helper for every node of every tree walk); _items is always exactly a Node[].
        System.Runtime.CompilerServices.Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_items), Count++) = node;
        if (Count > HighWater) HighWater = Count;
    }

    public void PushAll<T>(ReadOnlySpan<T> nodes) where T : Node?
    {
        foreach (var n in nodes) Push(n);
    }

    public Node Pop(out int depth)
    {
        depth = _depths[--Count];
        return _items[Count];
    }
}

/// <summary>The empty list reported by <see cref="Node.VisitFields"/> for a list field never assigned (read-only by
/// contract).</summary>
internal static class EmptyList<T>
{
    public static readonly List<T> Instance = new(0);
}
