using System.Text;
using AnCoder.Syntax.Ast;
using AnCoder.Syntax.Text;

namespace AnCoder.Anchoring.Corpus;

/// <summary>
/// A fine-tuning pair. In HumanEval's shape (<see cref="SftShape.HumanEval"/>): <see cref="Prompt"/> = the module
/// imports the function uses, the class header for a method, the decorators, the signature and the docstring;
/// <see cref="Completion"/> = the rest of the body. In MBPP's shape (<see cref="SftShape.Mbpp"/>): prompt = a module
/// docstring holding the docstring's first paragraph and, where the docstring has a doctest of the function, one
/// <c>assert</c>; completion = the imports and the whole function without its docstring (docs/corpus.md).
/// Prompt + completion is a complete, parseable program. <see cref="ReadsParameter"/>: the completion reads at
/// least one of the function's own parameters (<c>self</c>/<c>cls</c> of a method not counted; false when there are none).
/// </summary>
public sealed record SftPair(string Name, string Prompt, string Completion, bool ReadsParameter = true, SftShape Shape = SftShape.HumanEval)
{
    public string Text => Prompt + Completion;
}

/// <summary>Mines <see cref="SftPair"/>s from a parsed module (docs/corpus.md, "fine-tuning pairs").</summary>
public static class SftPairs
{
    /// <summary>Suffix of an MBPP-shaped pair's <see cref="SftPair.Name"/> (the function's name + this), so both
    /// shapes of one function have distinct names in removed.tsv and the manifest.</summary>
    public const string MbppNameSuffix = "@mbpp";

    /// <summary>
    /// HumanEval's shape: every module-level function and every method of a module-level class that has a docstring
    /// and, after it, at least one real statement (not <c>pass</c>, <c>...</c>, a bare constant, or
    /// <c>raise NotImplementedError</c>), with the docstring ending on its own line. MBPP's shape
    /// (<see cref="MbppPair"/>): the module-level functions among them whose docstring has a non-empty first
    /// paragraph. <see cref="SftShape.Both"/>: each function's HumanEval pair, then its MBPP pair where there is one.
    /// </summary>
    public static List<SftPair> Extract(SourceText text, Module module, SftShape shape = SftShape.HumanEval)
    {
        var pairs = new List<SftPair>();
        var imports = ModuleImports(module.Body).ToList();
        bool humanEval = shape != SftShape.Mbpp, mbpp = shape != SftShape.HumanEval;
        foreach (var statement in module.Body)
        {
            if (statement is FunctionDef or AsyncFunctionDef)
            {
                if (humanEval && Pair(text, imports, null, statement) is { } pair) pairs.Add(pair);
                if (mbpp && MbppPair(text, imports, statement) is { } mbppPair) pairs.Add(mbppPair);
            }
            else if (statement is ClassDef classDef && humanEval)
            {
                // Methods only in HumanEval's shape: MBPP's completion is a module-level function, and a method
                // lifted out of its class may read `self`, class names or rely on its decorators' meaning there.
                foreach (var member in classDef.Body)
                    if (member is FunctionDef or AsyncFunctionDef && Pair(text, imports, classDef, member) is { } pair) pairs.Add(pair);
            }
        }
        return pairs;
    }

    /// <summary>
    /// A module-level function in MBPP's shape (the prompt of <c>ProgramAssembly.MbppPrompt</c>, docs/algorithms.md
    /// §9): prompt = <c>"""\n</c> + the docstring's first paragraph (<see cref="Summary"/>) + <c>\n</c> + the
    /// <see cref="DoctestAssert"/> line if the docstring has one + <c>"""\n</c>; completion = the module imports the
    /// function uses, two blank lines, then the function from its first decorator to its end without the docstring's
    /// lines (and the blank lines right after it). Null where the function does not qualify for the HumanEval shape, the summary is empty or cannot sit in
    /// a plain <c>"""</c> string, or prompt + completion does not parse.
    /// </summary>
    private static SftPair? MbppPair(SourceText text, List<StmtNode> imports, StmtNode function)
    {
        var (name, body, decorators) = Parts(function);
        if (body.Count < 2 || body[0] is not Expr { Value: Constant { Value: string doc } } docstring) return null;
        if (!body.Skip(1).Any(IsRealStatement)) return null;
        if (body[1].Lineno <= docstring.EndLineno || docstring.Lineno <= function.Lineno) return null;
        var lines = CleanDoc(doc);
        string summary = Summary(lines);
        if (summary.Length == 0) return null;

        var prompt = new StringBuilder("\"\"\"\n").Append(summary).Append('\n');
        if (DoctestAssert(lines, name) is { } test) prompt.Append(test).Append('\n');
        prompt.Append("\"\"\"\n");

        var completion = new StringBuilder();
        foreach (string line in ImportLines(imports, UsedNames(function)).Distinct()) completion.Append(line).Append('\n');
        if (completion.Length > 0) completion.Append("\n\n");
        int firstLine = decorators.Count == 0 ? function.Lineno : Math.Min(function.Lineno, decorators.Min(d => ((PositionedNode)d).Lineno));
        completion.Append(Lines(text, firstLine, docstring.Lineno - 1, function.ColOffset));
        int rest = docstring.EndLineno + 1;
        while (rest < body[1].Lineno && IsBlankLine(text, rest)) rest++; // the blank line that set the docstring apart
        completion.Append(Lines(text, rest, function.EndLineno, function.ColOffset));

        var pair = new SftPair(name + MbppNameSuffix, prompt.ToString(), completion.ToString(), ReadsParameter(function, body, isMethod: false), SftShape.Mbpp);
        return AnCoder.Syntax.PythonParser.Parse(pair.Text).Success ? pair : null;
    }

    private static bool IsBlankLine(SourceText text, int line)
    {
        int start = text.LineStartOffset(line), end = line + 1 <= text.LineCount ? text.LineStartOffset(line + 1) : text.Utf8.Length;
        for (int k = start; k < end; k++) if (text.Utf8[k] is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n' or (byte)'\f')) return false;
        return true;
    }

    /// <summary>A docstring's lines as <c>inspect.cleandoc</c> gives them: tabs expanded, the first line's leading
    /// blanks and the other lines' common indentation removed, leading and trailing blank lines dropped.</summary>
    internal static List<string> CleanDoc(string docstring)
    {
        var lines = docstring.Replace("\r\n", "\n").Replace('\r', '\n').Split('\n').Select(ExpandTabs).ToList();
        int margin = lines.Skip(1).Where(l => l.Trim().Length > 0).Select(l => l.Length - l.TrimStart(' ').Length).DefaultIfEmpty(0).Min();
        for (int i = 0; i < lines.Count; i++)
            lines[i] = i == 0 ? lines[i].TrimStart(' ') : lines[i].Length >= margin ? lines[i][margin..] : lines[i].TrimStart(' ');
        while (lines.Count > 0 && lines[0].Trim().Length == 0) lines.RemoveAt(0);
        while (lines.Count > 0 && lines[^1].Trim().Length == 0) lines.RemoveAt(lines.Count - 1);
        return lines;

        static string ExpandTabs(string line)
        {
            if (!line.Contains('\t')) return line;
            var expanded = new StringBuilder();
            foreach (char c in line)
                if (c == '\t') expanded.Append(' ', 8 - expanded.Length % 8);
                else expanded.Append(c);
            return expanded.ToString();
        }
    }

    /// <summary>
    /// The first paragraph of a cleaned docstring (<see cref="CleanDoc"/>): its lines up to the first blank line or
    /// doctest line (<c>&gt;&gt;&gt;</c>), each line stripped of blanks (prose: a continuation line indented
    /// under the first keeps no indentation). Empty when the docstring opens with an example, or
    /// when the paragraph could not be written back inside a plain <c>"""</c> string unchanged (a backslash, a
    /// <c>"""</c>, a control character).
    /// </summary>
    internal static string Summary(List<string> lines)
    {
        var paragraph = lines.TakeWhile(l => l.Trim().Length > 0 && !l.TrimStart().StartsWith(">>>", StringComparison.Ordinal)).Select(l => l.Trim()).ToList();
        string summary = string.Join("\n", paragraph);
        bool unsafeText = summary.Contains('\\') || summary.Contains("\"\"\"", StringComparison.Ordinal) || summary.EndsWith('"')
            || summary.Any(c => char.IsControl(c) && c != '\n');
        return unsafeText ? "" : summary;
    }

    /// <summary>
    /// <c>assert CALL == OUTPUT</c> from the first doctest example of the docstring that calls the function by its
    /// name (<c>&gt;&gt;&gt; name(args)</c>) and shows one output line, both copied as written; null when there is
    /// none. The call's arguments and the output must be literals (as <c>ast.literal_eval</c> accepts), so the line
    /// names nothing the example defined earlier and says nothing the docstring did not show.
    /// </summary>
    internal static string? DoctestAssert(List<string> lines, string name)
    {
        for (int i = 0; i + 1 < lines.Count; i++)
        {
            string source = lines[i].Trim();
            if (!source.StartsWith(">>> " + name + "(", StringComparison.Ordinal)) continue;
            string output = lines[i + 1].Trim();
            if (output.Length == 0 || output.StartsWith(">>>", StringComparison.Ordinal) || output.StartsWith("...", StringComparison.Ordinal)) continue;
            if (i + 2 < lines.Count && lines[i + 2].Trim() is { Length: > 0 } after && !after.StartsWith(">>>", StringComparison.Ordinal)) continue; // several output lines
            string candidate = $"assert {source[4..].Trim()} == {output}";
            var parsed = AnCoder.Syntax.PythonParser.Parse(candidate + "\n");
            if (parsed.Success && parsed.Module!.Body is [Assert { Msg: null, Test: Compare { Left: Call { Func: Name call } left, Ops: [Eq], Comparators: [var expected] } }]
                && call.Id == name && left.Args.All(IsLiteral) && left.Keywords.OfType<Keyword>().All(k => k.Arg is not null && IsLiteral(k.Value)) && IsLiteral(expected))
                return candidate;
        }
        return null;
    }

    /// <summary>What <c>ast.literal_eval</c> accepts: constants, signed numbers, complex sums, and tuples, lists,
    /// sets and dicts of them.</summary>
    private static bool IsLiteral(ExprNode node) => node switch
    {
        Constant => true,
        UnaryOp { Op: UAdd or USub, Operand: var operand } => IsLiteral(operand),
        BinOp { Op: Add or Sub, Left: var l, Right: Constant { Value: System.Numerics.Complex } } => IsLiteral(l),
        AnCoder.Syntax.Ast.Tuple t => t.Elts.All(IsLiteral),
        AnCoder.Syntax.Ast.List l => l.Elts.All(IsLiteral),
        Set s => s.Elts.All(IsLiteral),
        Dict d => d.Keys.All(k => k is not null && IsLiteral(k)) && d.Values.All(IsLiteral),
        _ => false,
    };

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
