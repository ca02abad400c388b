using System.Text;
using AnCoder.Syntax.Ast;
using AnCoder.Syntax.Text;

namespace AnCoder.Anchoring.Corpus;

/// <summary>
/// A fine-tuning pair in HumanEval's shape: <see cref="Prompt"/> = the module imports the function uses, the class
/// header for a method, the decorators, the signature and the docstring; <see cref="Completion"/> = the rest of the
/// body. Prompt + completion is a complete, parseable program. <see cref="ReadsParameter"/>: the completion reads at
/// least one of the function's own parameters (<c>self</c>/<c>cls</c> of a method not counted; false when there are none).
/// </summary>
public sealed record SftPair(string Name, string Prompt, string Completion, bool ReadsParameter = true)
{
    public string Text => Prompt + Completion;
}

/// <summary>Mines <see cref="SftPair"/>s from a parsed module (docs/corpus.md, "fine-tuning pairs").</summary>
public static class SftPairs
{
    /// <summary>
    /// Every module-level function and every method of a module-level class that has a docstring and, after it, at
    /// least one real statement (not <c>pass</c>, <c>...</c>, a bare constant, or <c>raise NotImplementedError</c>),
    /// with the docstring ending on its own line.
    /// </summary>
    public static List<SftPair> Extract(SourceText text, Module module)
    {
        var pairs = new List<SftPair>();
        var imports = ModuleImports(module.Body).ToList();
        foreach (var statement in module.Body)
        {
            if (statement is FunctionDef or AsyncFunctionDef)
            {
                if (Pair(text, imports, null, statement) is { } pair) pairs.Add(pair);
            }
            else if (statement is ClassDef classDef)
            {
                foreach (var member in classDef.Body)
                    if (member is FunctionDef or AsyncFunctionDef && Pair(text, imports, classDef, member) is { } pair) pairs.Add(pair);
            }
        }
        return pairs;
    }

    /// <summary>Imports at module level, also inside module-level <c>if</c>/<c>try</c> blocks (e.g. an optional import
    /// guarded by <c>try: import x except ImportError</c>), in source order.</summary>
    private static IEnumerable<StmtNode> ModuleImports(IEnumerable<StmtNode> statements)
    {
        foreach (var statement in statements)
        {
            switch (statement)
            {
                case Import or ImportFrom:
                    yield return statement;
                    break;
                case If conditional:
                    foreach (var inner in ModuleImports(conditional.Body.Concat(conditional.Orelse))) yield return inner;
                    break;
                case Try attempt:
                    var blocks = attempt.Body.Concat(attempt.Handlers.OfType<ExceptHandler>().SelectMany(h => h.Body)).Concat(attempt.Orelse).Concat(attempt.Finalbody);
                    foreach (var inner in ModuleImports(blocks)) yield return inner;
                    break;
            }
        }
    }

    private static (string Name, List<StmtNode> Body, List<ExprNode> Decorators) Parts(StmtNode function) => function switch
    {
        FunctionDef f => (f.Name, f.Body, f.DecoratorList),
        AsyncFunctionDef f => (f.Name, f.Body, f.DecoratorList),
        _ => throw new ArgumentException("not a function", nameof(function)),
    };

    private static SftPair? Pair(SourceText text, List<StmtNode> imports, ClassDef? owner, StmtNode function)
    {
        var (name, body, decorators) = Parts(function);
        if (body.Count < 2 || body[0] is not Expr { Value: Constant { Value: string } } docstring) return null;
        if (!body.Skip(1).Any(IsRealStatement)) return null;
        if (body[1].Lineno <= docstring.EndLineno) return null; // the body continues on the docstring's line
        int firstLine = decorators.Count == 0 ? function.Lineno : Math.Min(function.Lineno, decorators.Min(d => ((PositionedNode)d).Lineno));

        var prompt = new StringBuilder();
        var used = UsedNames(function);
        if (owner is not null)
        {
            foreach (var b in owner.Bases) foreach (var n in Descendants(b).OfType<Name>()) used.Add(n.Id);
        }
        foreach (string line in ImportLines(imports, used).Distinct()) prompt.Append(line).Append('\n');
        if (prompt.Length > 0) prompt.Append("\n\n");
        int dedent = function.ColOffset;
        if (owner is not null)
        {
            // The class header: from `class` to the line before the class body's first statement.
            if (owner.Body[0].Lineno <= owner.Lineno || owner.ColOffset != 0) return null;
            prompt.Append(Lines(text, owner.Lineno, owner.Body[0].Lineno - 1, 0));
            dedent = function.ColOffset - 4;
            if (dedent < 0) return null;
        }
        prompt.Append(Lines(text, firstLine, docstring.EndLineno, dedent));
        string completion = Lines(text, docstring.EndLineno + 1, function.EndLineno, dedent);
        if (completion.Trim().Length == 0) return null;
        string qualified = owner is null ? name : $"{owner.Name}.{name}";
        return new SftPair(qualified, prompt.ToString(), completion, ReadsParameter(function, body, isMethod: owner is not null));
    }

    /// <summary>
    /// True when a statement after the docstring reads (a Name in Load context) one of the function's parameters; a
    /// method's first positional parameter named <c>self</c> or <c>cls</c> does not count. HumanEval's tasks are
    /// functions of their arguments, and the non-trivial validity measure (docs/recipe.md) asks the body to read one;
    /// a pair whose body ignores its signature (<c>return self._x</c>, a constant) teaches the opposite.
    /// </summary>
    internal static bool ReadsParameter(StmtNode function, List<StmtNode> body, bool isMethod)
    {
        var arguments = (Arguments)(function switch
        {
            FunctionDef f => f.Args,
            AsyncFunctionDef f => f.Args,
            _ => throw new ArgumentException("not a function", nameof(function)),
        });
        var names = arguments.Posonlyargs.Concat(arguments.Args).Concat(arguments.Kwonlyargs)
            .Append(arguments.Vararg).Append(arguments.Kwarg).OfType<Arg>().Select(a => a.ArgName).ToList();
        if (isMethod && names.Count > 0 && (arguments.Posonlyargs.Concat(arguments.Args).FirstOrDefault() is Arg { ArgName: "self" or "cls" } first))
            names.Remove(first.ArgName);
        if (names.Count == 0) return false;
        var parameters = names.ToHashSet();
        return body.Skip(1).SelectMany(Descendants).Any(n => n is Name { Ctx: Load } name && parameters.Contains(name.Id));
    }

    private static bool IsRealStatement(StmtNode statement) => statement switch
    {
        Pass => false,
        Expr { Value: Constant } => false,
        Raise { Exc: Name { Id: "NotImplementedError" } } => false,
        Raise { Exc: Call { Func: Name { Id: "NotImplementedError" } } } => false,
        _ => true,
    };

    private static IEnumerable<Node> Descendants(Node node)
    {
        var stack = new Stack<Node>([node]);
        while (stack.Count > 0)
        {
            var current = stack.Pop();
            yield return current;
            foreach (var child in current.Children()) stack.Push(child);
        }
    }

    private static HashSet<string> UsedNames(StmtNode function) => Descendants(function).OfType<Name>().Select(n => n.Id).ToHashSet();

    /// <summary>The module's imports restricted to the names the function uses, one statement per import, in order.</summary>
    internal static IEnumerable<string> ImportLines(List<StmtNode> imports, HashSet<string> used)
    {
        foreach (var statement in imports)
        {
            if (statement is Import import)
            {
                var kept = import.Names.OfType<Alias>().Where(a => used.Contains(a.Asname ?? a.Name.Split('.')[0])).ToList();
                if (kept.Count > 0) yield return "import " + string.Join(", ", kept.Select(Render));
            }
            else if (statement is ImportFrom from)
            {
                var aliases = from.Names.OfType<Alias>().ToList();
                var kept = from.Module == "__future__" ? aliases : aliases.Where(a => a.Name != "*" && used.Contains(a.Asname ?? a.Name)).ToList();
                if (kept.Count > 0) yield return $"from {new string('.', from.Level ?? 0)}{from.Module} import " + string.Join(", ", kept.Select(Render));
            }
        }
    }

    private static string Render(Alias alias) => alias.Asname is null ? alias.Name : $"{alias.Name} as {alias.Asname}";

    /// <summary>Lines [first, last] (1-based) of the source, each with up to <paramref name="dedent"/> leading
    /// blanks removed (a line indented less, e.g. inside a string, is kept as it is).</summary>
    private static string Lines(SourceText text, int first, int last, int dedent)
    {
        var output = new List<byte>();
        byte[] utf8 = text.Utf8;
        for (int line = first; line <= last; line++)
        {
            int start = text.LineStartOffset(line), end = line + 1 <= text.LineCount ? text.LineStartOffset(line + 1) : utf8.Length;
            int skip = 0;
            while (skip < dedent && start + skip < end && (utf8[start + skip] == ' ' || utf8[start + skip] == '\t')) skip++;
            if (skip < dedent) skip = 0;
            for (int k = start + skip; k < end; k++) output.Add(utf8[k]);
        }
        if (output.Count > 0 && output[^1] != '\n') output.Add((byte)'\n');
        return Encoding.UTF8.GetString(output.ToArray()).Replace("\r\n", "\n");
    }
}
