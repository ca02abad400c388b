using System.Collections.Generic;
using System.Globalization;
using System.Numerics;
using System.Text;

namespace AnCoder.Syntax.Ast;

/// <summary>
/// The project's line-per-node AST dump (issue 2): pre-order, two spaces per depth,
/// <c>ClassName[ @L:C-EL:EC][ field=value ...]</c>; node-valued fields become child lines.
/// tests/AnCoder.Syntax.Tests/Reference/ast_dump.py prints CPython's AST in the same format.
/// </summary>
public static class AstDump
{
    public static string Dump(Node root)
    {
        var sb = new StringBuilder();
        Write(sb, root, 0);
        return sb.ToString();
    }

    public static void Write(StringBuilder sb, Node node, int depth)
    {
        sb.Append(' ', depth * 2).Append(node.TypeName);
        if (node is PositionedNode p)
            sb.Append(" @").Append(p.Lineno).Append(':').Append(p.ColOffset)
              .Append('-').Append(p.EndLineno).Append(':').Append(p.EndColOffset);
        var scalars = new ScalarWriter(sb, node);
        node.VisitFields(scalars);
        sb.Append('\n');
        node.VisitFields(new ChildWriter(sb, depth + 1));
    }

    private sealed class ScalarWriter(StringBuilder sb, Node owner) : IFieldVisitor
    {
        public void Node(string name, Node? value) { }
        public void Nodes<T>(string name, ReadOnlySpan<T> values) where T : Node? { }
        public void String(string name, string? value)
        {
            if (name == "type_comment") return;
            sb.Append(' ').Append(name).Append('=').Append(value ?? "None");
        }
        public void Strings(string name, List<string> values)
        {
            if (values.Count == 0) return;
            sb.Append(' ').Append(name).Append("=[").AppendJoin(',', values).Append(']');
        }
        public void Int(string name, int? value) =>
            sb.Append(' ').Append(name).Append('=').Append(value is null ? "None" : value.Value.ToString(CultureInfo.InvariantCulture));
        public void Constant(string name, object? value)
        {
            if (owner is Ast.Constant)
            {
                sb.Append(' ').Append(name).Append(':').Append(ConstantValues.PythonTypeName(value));
                return;
            }
            sb.Append(' ').Append(name).Append('=').Append(value switch
            {
                null => "None",
                bool b => b ? "True" : "False",
                _ => System.Convert.ToString(value, CultureInfo.InvariantCulture),
            });
        }
    }

    private sealed class ChildWriter(StringBuilder sb, int depth) : IFieldVisitor
    {
        public void Node(string name, Node? value) { if (value != null) Write(sb, value, depth); }
        public void Nodes<T>(string name, ReadOnlySpan<T> values) where T : Node?
        {
            foreach (var v in values)
            {
                if (v is null) sb.Append(' ', depth * 2).Append("None\n");
                else Write(sb, v, depth);
            }
        }
        public void String(string name, string? value) { }
        public void Strings(string name, List<string> values) { }
        public void Int(string name, int? value) { }
        public void Constant(string name, object? value) { }
    }
}
