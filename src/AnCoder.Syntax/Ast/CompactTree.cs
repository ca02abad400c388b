using System.Collections.Generic;
using AnCoder.Syntax.Parsing;

namespace AnCoder.Syntax.Ast;

/// <summary>
/// A parsed module's whole AST as flat integer records instead of one object per node: what
/// <see cref="PythonParser.ParseCompact(byte[])"/> returns, for sources too large for the object tree's memory (a node
/// object with its lists costs about 49 bytes and the GC's headroom on top; a record with its index entry about 29: the
/// 27 MB generated file peaks at 239 MB instead of 354, docs/parser-verification.md "Compact tree"). Nothing is lost:
/// <see cref="ToModule"/> and <see cref="Materialize"/> give back the same nodes <see cref="PythonParser.Parse(byte[])"/>
/// builds (tested field for field, positions and depths included), a whole tree or one subtree at a time.
/// </summary>
/// <remarks>
/// Nodes are numbered in the order they were written (breadth first within each top-level statement; the Module is
/// the last). A record is, in 32-bit words: the kind (<see cref="NodeKinds"/>, bits 0–7); for a positioned node either
/// the narrow form (bit 8 clear: end_lineno − lineno in bits 9–31, then lineno, then col_offset | end_col_offset ≪ 16)
/// or the wide form (bit 8 set: lineno, col_offset, end_lineno, end_col_offset); then each field in <c>_fields</c>
/// order: a child as its node number (−1 None, −2 − kind for a shared context or operator), a list as its length and
/// its children, a string as an index into the string table (−1 None), a list of strings as its length and indices,
/// an int as a presence word and the value, a constant as a tag word and a payload (<see cref="ConstantTag"/>).
/// Records live in fixed-size chunks, so the tree never copies itself while it grows.
/// </remarks>
public sealed class CompactTree
{
    private const int KindBits = 8, WideFlag = 1 << KindBits, DeltaShift = KindBits + 1;
    private const int MaxNarrowDelta = (1 << (32 - DeltaShift)) - 1;

    private readonly ChunkedInts _words;
    private readonly ChunkedInts _starts;
    private readonly List<string> _strings = new();
    private readonly Dictionary<string, int> _stringIndex = new(StringComparer.Ordinal);
    private readonly List<object> _objects = new();
    private readonly Queue<Node> _pending = new();
    private readonly List<int> _topLevel = new();
    private readonly Writer _writer;
    private int _nesting;

    private CompactTree(long sourceBytes)
    {
        _writer = new Writer(this);
        int shift = ChunkShift(sourceBytes);
        _words = new ChunkedInts(shift);
        _starts = new ChunkedInts(Math.Max(8, shift - 2)); // a node number per ~6 words of records
    }

    /// <summary>Nodes in the tree (the Module and every node below it; shared contexts and operators are not nodes of
    /// the tree, as in <see cref="Benchmarking.TreeFootprint"/>).</summary>
    public int NodeCount => (int)_starts.Count;

    /// <summary>The Module's node number.</summary>
    public int Root { get; private set; } = -1;

    /// <summary>Bytes held by the records, the node index and the constant tables (strings themselves not counted:
    /// identifiers and short constants are shared with the parser's tables).</summary>
    public long StorageBytes => _words.AllocatedBytes + _starts.AllocatedBytes + 16L * (_strings.Count + _objects.Count);

    /// <summary>CPython's class name of node <paramref name="node"/> (e.g. <c>FunctionDef</c>).</summary>
    public string TypeName(int node) => NodeKinds.Names[KindOf(node)];

    /// <summary>The node's positions, or false for a node without them (Module, arguments, comprehension, …).</summary>
    public bool TryGetPosition(int node, out int lineno, out int colOffset, out int endLineno, out int endColOffset)
    {
        long at = _starts[CheckNode(node)];
        int head = _words[at];
        if (!IsPositioned(head & 0xFF))
        {
            lineno = colOffset = endLineno = endColOffset = 0;
            return false;
        }
        ReadPosition(head, ref at, out lineno, out colOffset, out endLineno, out endColOffset);
        return true;
    }

    /// <summary>The node numbers of the node's children in <c>_fields</c> order (None entries and the shared contexts
    /// and operators left out): the Module's are its top-level statements.</summary>
    public IReadOnlyList<int> Children(int node)
    {
        var children = new List<int>();
        var reader = new FieldReader(this, ReadHead(CheckNode(node), out int kind), materialize: false, children);
        foreach (var field in Schema.Of(kind)) reader.Skip(field);
        return children;
    }

    /// <summary>The whole tree as the object tree <see cref="PythonParser.Parse(byte[])"/> returns: depths set (Module 0).</summary>
    public Module ToModule() => (Module)Materialize(Root);

    /// <summary>The subtree of <paramref name="node"/> as objects, its Depth 0 for a Module and 1 for any other root
    /// (a top-level statement's depth); depths below follow from it.</summary>
    public Node Materialize(int node)
    {
        CheckNode(node);
        // Records nest as deep as the tree (at most CPython's 2,991 levels, AstDepth.CPythonMaxNestedNodes): a deep
        // tree is built on a thread with room for that recursion.
        Node result = _nesting > 500 ? BigStack.Run(() => Build(node)) : Build(node);
        result.Depth = result is Module ? 0 : 1;
        AstDepth.Assign(result);
        return result;
    }

    private Node Build(int node)
    {
        long at = _starts[node];
        int head = _words[at];
        var result = NodeKinds.Create(head & 0xFF);
        if (result is PositionedNode positioned)
        {
            ReadPosition(head, ref at, out int lineno, out int col, out int endLineno, out int endCol);
            positioned.SetPosition(lineno, col, endLineno, endCol);
        }
        else at++;
        result.ReadFields(new FieldReader(this, at, materialize: true, null));
        return result;
    }

    private int CheckNode(int node) =>
        (uint)node < (uint)NodeCount ? node : throw new ArgumentOutOfRangeException(nameof(node), $"no node {node} in a tree of {NodeCount}");

    private int KindOf(int node) => _words[_starts[CheckNode(node)]] & 0xFF;

    /// <summary>The position of the node's first field word; <paramref name="kind"/> its kind.</summary>
    private long ReadHead(int node, out int kind)
    {
        long at = _starts[node];
        int head = _words[at];
        kind = head & 0xFF;
        if (!IsPositioned(kind)) return at + 1;
        ReadPosition(head, ref at, out _, out _, out _, out _);
        return at;
    }

    private void ReadPosition(int head, ref long at, out int lineno, out int col, out int endLineno, out int endCol)
    {
        lineno = _words[at + 1];
        if ((head & WideFlag) == 0)
        {
            int columns = _words[at + 2];
            col = columns & 0xFFFF;
            endCol = (int)((uint)columns >> 16);
            endLineno = lineno + (int)((uint)head >> DeltaShift);
            at += 3;
        }
        else
        {
            col = _words[at + 2];
            endLineno = _words[at + 3];
            endCol = _words[at + 4];
            at += 5;
        }
    }

    private static readonly bool[] Positioned = Enumerable.Range(0, NodeKinds.Count).Select(k => NodeKinds.Create(k) is PositionedNode).ToArray();

    private static bool IsPositioned(int kind) => Positioned[kind];

    // ------------------------------------------------------------------------------------------------ building

    /// <summary>A tree being filled by a streaming parse: <see cref="Add"/> per finished top-level statement (which
    /// the parser then drops), <see cref="Finish"/> once the source was accepted.</summary>
    internal static CompactTree Start(long sourceBytes) => new(sourceBytes);

    /// <summary>Appends a finished top-level statement; <paramref name="nesting"/> is its nodes on its deepest path.</summary>
    internal void Add(StmtNode statement, int nesting)
    {
        _nesting = Math.Max(_nesting, nesting + 1);
        _topLevel.Add(Reserve(statement));
        while (_pending.Count > 0) WriteRecord(_pending.Dequeue());
    }

    /// <summary>The compact form of a tree already built (used when only the full parse accepted a source).</summary>
    internal static CompactTree FromModule(Module module)
    {
        var tree = new CompactTree(0);
        foreach (var statement in module.Body) tree.Add(statement, AstDepth.Assign(statement));
        return tree.Finish();
    }

    internal CompactTree Finish()
    {
        StartRecord();
        _words.Add(ModuleKind); // no positions
        _words.Add(_topLevel.Count); // body
        foreach (var statement in _topLevel) _words.Add(statement);
        _words.Add(0); // type_ignores: the parser records none (no type comments)
        Root = NodeCount - 1;
        // Only reading is left: drop what writing needed.
        _topLevel.Clear();
        _topLevel.Capacity = 0;
        _stringIndex.Clear();
        _stringIndex.TrimExcess();
        _pending.TrimExcess();
        return this;
    }

    private int _reserved;

    private int Reserve(Node node)
    {
        _pending.Enqueue(node);
        return _reserved++;
    }

    private void WriteRecord(Node node)
    {
        // Records are written in the order numbers were reserved (first in, first out), so a record's number is
        // its index in _starts.
        StartRecord();
        int kind = node.KindCode;
        if (node is PositionedNode p)
        {
            int lineno = p.Lineno, col = p.ColOffset, endLineno = p.EndLineno, endCol = p.EndColOffset;
            long delta = (long)endLineno - lineno;
            if ((uint)col <= 0xFFFF && (uint)endCol <= 0xFFFF && delta >= 0 && delta <= MaxNarrowDelta)
            {
                _words.Add(kind | (int)(delta << DeltaShift));
                _words.Add(lineno);
                _words.Add(col | endCol << 16);
            }
            else
            {
                _words.Add(kind | WideFlag);
                _words.Add(lineno);
                _words.Add(col);
                _words.Add(endLineno);
                _words.Add(endCol);
            }
        }
        else _words.Add(kind);
        node.VisitFields(_writer);
    }

    private static readonly int ModuleKind = new Module().KindCode;

    private void StartRecord()
    {
        if (_words.Count > int.MaxValue) throw new InvalidOperationException("the source is too large for a compact tree (2^31 words)");
        _starts.Add((int)_words.Count);
    }

    private int ChildWord(Node? child) => child switch
    {
        null => -1,
        _ when NodeKinds.IsSingleton[child.KindCode] => -2 - child.KindCode,
        _ => Reserve(child),
    };

    private int StringWord(string? value)
    {
        if (value == null) return -1;
        if (!_stringIndex.TryGetValue(value, out int index))
        {
            index = _strings.Count;
            _strings.Add(value);
            _stringIndex.Add(value, index);
        }
        return index;
    }

    /// <summary>The first word of a constant; the second is the payload (unused for None, False, True, Ellipsis).</summary>
    internal enum ConstantTag
    {
        None, False, True, Ellipsis,
        /// <summary>A Python int held as a .NET long in the int32 range: the payload is the value.</summary>
        SmallInt,
        /// <summary>A str: the payload indexes the string table.</summary>
        Str,
        /// <summary>Any other value (float, complex, bytes, a large int): the payload indexes the object table.</summary>
        Object,
    }

    private void WriteConstant(object? value)
    {
        switch (value)
        {
            case null: _words.Add((int)ConstantTag.None); _words.Add(0); break;
            case bool b: _words.Add((int)(b ? ConstantTag.True : ConstantTag.False)); _words.Add(0); break;
            case EllipsisValue: _words.Add((int)ConstantTag.Ellipsis); _words.Add(0); break;
            case long l when l is >= int.MinValue and <= int.MaxValue: _words.Add((int)ConstantTag.SmallInt); _words.Add((int)l); break;
            case string s: _words.Add((int)ConstantTag.Str); _words.Add(StringWord(s)); break;
            default:
                _words.Add((int)ConstantTag.Object);
                _words.Add(_objects.Count);
                _objects.Add(value);
                break;
        }
    }

    private sealed class Writer(CompactTree tree) : IFieldVisitor
    {
        public void Node(string name, Node? value) => tree._words.Add(tree.ChildWord(value));

        public void Nodes<T>(string name, ReadOnlySpan<T> values) where T : Node?
        {
            tree._words.Add(values.Length);
            foreach (var value in values) tree._words.Add(tree.ChildWord(value));
        }

        public void String(string name, string? value) => tree._words.Add(tree.StringWord(value));

        public void Strings(string name, List<string> values)
        {
            tree._words.Add(values.Count);
            foreach (var value in values) tree._words.Add(tree.StringWord(value));
        }

        public void Int(string name, int? value)
        {
            tree._words.Add(value.HasValue ? 1 : 0);
            tree._words.Add(value ?? 0);
        }

        public void Constant(string name, object? value) => tree.WriteConstant(value);
    }

    // ------------------------------------------------------------------------------------------------ reading

    /// <summary>Reads one record's fields in order (the generated <see cref="Node.ReadFields"/> calls it field by field),
    /// building child objects, or only collecting child numbers (<see cref="Children"/>).</summary>
    internal sealed class FieldReader
    {
        private readonly CompactTree _tree;
        private readonly bool _materialize;
        private readonly List<int>? _children;
        private long _at;

        internal FieldReader(CompactTree tree, long at, bool materialize, List<int>? children)
        {
            _tree = tree;
            _at = at;
            _materialize = materialize;
            _children = children;
        }

        private int Next() => _tree._words[_at++];

        private Node? Child(int word)
        {
            if (word == -1) return null;
            if (word < -1) return NodeKinds.Create(-2 - word);
            _children?.Add(word);
            return _materialize ? _tree.Build(word) : null;
        }

        public T? Node<T>() where T : Node => (T?)Child(Next());

        /// <summary>A list field's storage as a parsed tree holds it (<see cref="AstLists"/>): null when empty, the
        /// element when it is the only one and not None, else an exact-size array.</summary>
        public object? NodeList<T>() where T : Node
        {
            int count = Next();
            if (count == 0) return null;
            if (count == 1)
            {
                var only = (T?)Child(Next());
                return only ?? (object)new T?[] { null };
            }
            var items = new T?[count];
            for (int i = 0; i < count; i++) items[i] = (T?)Child(Next());
            return items;
        }

        public string? String()
        {
            int index = Next();
            return index < 0 ? null : _tree._strings[index];
        }

        public List<string>? Strings()
        {
            int count = Next();
            if (count == 0) return null;
            var list = new List<string>(count);
            for (int i = 0; i < count; i++) list.Add(_tree._strings[Next()]);
            return list;
        }

        public int? Int()
        {
            bool present = Next() != 0;
            int value = Next();
            return present ? value : null;
        }

        public object? Constant()
        {
            var tag = (ConstantTag)Next();
            int payload = Next();
            return tag switch
            {
                ConstantTag.None => null,
                ConstantTag.False => false,
                ConstantTag.True => true,
                ConstantTag.Ellipsis => EllipsisValue.Instance,
                ConstantTag.SmallInt => NumberLiteral.Box(payload),
                ConstantTag.Str => _tree._strings[payload],
                _ => _tree._objects[payload],
            };
        }

        /// <summary>Steps over one field, collecting the children it names.</summary>
        public void Skip(Schema.Field field)
        {
            switch (field)
            {
                case Schema.Field.Node: Child(Next()); break;
                case Schema.Field.Nodes:
                    for (int count = Next(); count > 0; count--) Child(Next());
                    break;
                case Schema.Field.String: _at++; break;
                case Schema.Field.Strings: _at += Next(); break;
                default: _at += 2; break; // Int, Constant
            }
        }
    }

    /// <summary>The field kinds of each node kind, in <c>_fields</c> order (read off an empty node's VisitFields, so it
    /// cannot drift from what the writer wrote).</summary>
    internal static class Schema
    {
        public enum Field : byte { Node, Nodes, String, Strings, Int, Constant }

        private static readonly Field[][] ByKind = Enumerable.Range(0, NodeKinds.Count).Select(Read).ToArray();

        public static Field[] Of(int kind) => ByKind[kind];

        private static Field[] Read(int kind)
        {
            var recorder = new Recorder();
            if (!NodeKinds.IsSingleton[kind]) NodeKinds.Create(kind).VisitFields(recorder);
            return recorder.Fields.ToArray();
        }

        private sealed class Recorder : IFieldVisitor
        {
            public readonly List<Field> Fields = new();
            public void Node(string name, Node? value) => Fields.Add(Field.Node);
            public void Nodes<T>(string name, ReadOnlySpan<T> values) where T : Node? => Fields.Add(Field.Nodes);
            public void String(string name, string? value) => Fields.Add(Field.String);
            public void Strings(string name, List<string> values) => Fields.Add(Field.Strings);
            public void Int(string name, int? value) => Fields.Add(Field.Int);
            public void Constant(string name, object? value) => Fields.Add(Field.Constant);
        }
    }

    /// <summary>
    /// The chunk size of a tree for a source of <paramref name="sourceBytes"/> (a tree takes about one word of records
    /// per source byte): the next power of two from 256 to 16 Ki words, under the large-object threshold (85,000
    /// bytes), so a small file's tree is ordinary young garbage (with 64 Ki-word chunks every parse of a stdlib file
    /// allocated two large objects, and the large-object budget forced 1.3 gen2 collections per MB parsed); 64 Ki
    /// words from 4 MB of source on, where a few hundred large chunks cost less than copying small ones between
    /// generations.
    /// </summary>
    internal static int ChunkShift(long sourceBytes) =>
        sourceBytes > 4_000_000 ? 16 : Math.Clamp(64 - System.Numerics.BitOperations.LeadingZeroCount((ulong)Math.Max(1, sourceBytes - 1)), 8, 14);

    /// <summary>A growable sequence of ints in fixed-size chunks: growth never copies or doubles what is held.</summary>
    private sealed class ChunkedInts(int shift)
    {
        private readonly int _shift = shift, _mask = (1 << shift) - 1;
        private readonly List<int[]> _chunks = new();
        /// <summary>The chunk being filled and the words in it (what Add touches: one array store per word).</summary>
        private int[] _current = [];
        private int _used;

        public long Count => ((long)Math.Max(0, _chunks.Count - 1) << _shift) + _used;

        public long AllocatedBytes => (long)_chunks.Count * ((1L << _shift) * sizeof(int) + 24);

        public int this[long index] => _chunks[(int)(index >> _shift)][index & _mask];

        public void Add(int value)
        {
            if (_used == _current.Length)
            {
                _current = new int[1 << _shift];
                _chunks.Add(_current);
                _used = 0;
            }
            _current[_used++] = value;
        }
    }
}
