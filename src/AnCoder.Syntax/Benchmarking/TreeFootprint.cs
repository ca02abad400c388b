using AnCoder.Syntax.Ast;

namespace AnCoder.Syntax.Benchmarking;

/// <summary>
/// Where the memory of a parsed tree goes: the managed bytes the tree keeps alive (GC.GetTotalMemory with the tree
/// held, minus without), and what it is made of (node objects; non-empty list fields and their elements, which a
/// parsed tree stores as exact-size arrays).
/// </summary>
public sealed record TreeFootprint(long SourceBytes, long RetainedBytes, long Nodes, long Lists, long ListSlots)
{
    public double RetainedPerSourceByte => (double)RetainedBytes / SourceBytes;

    /// <summary>Parses <paramref name="source"/> (which must be accepted) and measures the tree it returns.</summary>
    public static TreeFootprint Measure(byte[] source)
    {
        PythonParser.Parse(source); // warm-up: the parser's reusable per-thread buffers exist before the baseline
        long before = GC.GetTotalMemory(forceFullCollection: true);
        var module = PythonParser.Parse(source).Module ?? throw new ArgumentException("the source is rejected");
        long after = GC.GetTotalMemory(forceFullCollection: true);
        var counter = new Counter();
        var stack = new Stack<Node>();
        stack.Push(module);
        while (stack.Count > 0)
        {
            var node = stack.Pop();
            counter.NodeCount++;
            node.VisitFields(counter);
            foreach (var child in counter.Pending) stack.Push(child);
            counter.Pending.Clear();
        }
        GC.KeepAlive(module);
        return new TreeFootprint(source.Length, after - before, counter.NodeCount, counter.Lists, counter.Slots);
    }

    private sealed class Counter : IFieldVisitor
    {
        public readonly List<Node> Pending = new();
        public long NodeCount, Lists, Slots;

        public void Node(string name, Node? value)
        {
            // Contexts and operators are shared singletons (no Depth): not objects of this tree.
            if (value != null && value is not ExprContextNode and not OperatorNode and not BoolopNode and not UnaryopNode and not CmpopNode)
                Pending.Add(value);
        }

        public void Nodes<T>(string name, ReadOnlySpan<T> values) where T : Node?
        {
            if (values.Length > 0)
            {
                Lists++;
                Slots += values.Length;
            }
            foreach (var v in values)
                if (v is ExprContextNode or OperatorNode or BoolopNode or UnaryopNode or CmpopNode) { }
                else if (v != null) Pending.Add(v);
        }

        public void String(string name, string? value) { }

        public void Strings(string name, List<string> values)
        {
            if (values.Count == 0) return;
            Lists++;
            Slots += values.Count;
        }

        public void Int(string name, int? value) { }
        public void Constant(string name, object? value) { }
    }
}
