using AnCoder.Evaluation.Benchmarks;
using AnCoder.Syntax;
using AnCoder.Syntax.Ast;

namespace AnCoder.Evaluation.Scoring;

/// <summary>Why a completion is not non-trivially valid (<see cref="NonTrivialValidity"/>); <see cref="Valid"/> when it is.</summary>
public enum NonTrivialOutcome
{
    Valid,
    /// <summary>The (cut) program does not parse.</summary>
    DoesNotParse,
    /// <summary>The function the task asks for is not in the program.</summary>
    NoFunction,
    /// <summary>The completion added no statement to the function body other than <c>pass</c>, <c>...</c> or a docstring.</summary>
    EmptyBody,
    /// <summary>The function body never reads any of the function's parameters.</summary>
    ParametersUnused,
    /// <summary>Some line of the completion repeats three or more times in a row.</summary>
    RepeatedLines,
}

/// <summary>The verdict of <see cref="NonTrivialValidity"/> and the completion text it judged (after the length-cap cut).</summary>
public sealed record NonTrivialVerdict(NonTrivialOutcome Outcome, string JudgedCompletion)
{
    public bool Valid => Outcome == NonTrivialOutcome.Valid;

    /// <summary>Short snake_case reason for results.jsonl ("valid", "does_not_parse", ...).</summary>
    public string Reason => Outcome switch
    {
        NonTrivialOutcome.Valid => "valid",
        NonTrivialOutcome.DoesNotParse => "does_not_parse",
        NonTrivialOutcome.NoFunction => "no_function",
        NonTrivialOutcome.EmptyBody => "empty_body",
        NonTrivialOutcome.ParametersUnused => "parameters_unused",
        _ => "repeated_lines",
    };
}

/// <summary>
/// Non-trivial syntax validity (not in the paper; reported beside its syntax validity, which stays as it is): a
/// syntax-valid sample can be empty, a comment, a bare name where the length cap cut a loop of repeated lines, or a
/// stdlib-style method that ignores the task. A sample counts here only when
/// (1) a completion that hit the length cap is first cut at its last complete line (the cut text is what is judged),
/// (2) the benchmark's validity text (§9) of that completion parses,
/// (3) the task's function body gains at least one statement that is not <c>pass</c>, <c>...</c> or a docstring,
/// (4) the body reads at least one of the function's parameters (a Name in Load context; vacuous without parameters),
/// (5) no non-blank line of the completion repeats three or more times in a row.
/// The function is the HumanEval entry point (the last top-level def of that name), for MBPP the top-level def
/// whose name the first test calls (else the first top-level def).
/// </summary>
public static class NonTrivialValidity
{
    /// <summary>A line repeated this many times in a row makes a sample trivial.</summary>
    public const int RepeatLimit = 3;

    /// <summary>The text up to and including its last newline (empty when it has none).</summary>
    public static string CutAtLastCompleteLine(string completion)
    {
        int last = completion.LastIndexOf('\n');
        return last < 0 ? "" : completion[..(last + 1)];
    }

    /// <summary>True when some non-blank line occurs <see cref="RepeatLimit"/> or more times in a row (trailing whitespace ignored).</summary>
    public static bool HasRepeatedLines(string text)
    {
        string? previous = null;
        int run = 0;
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd();
            if (line.Trim().Length == 0)
                continue;
            run = line == previous ? run + 1 : 1;
            previous = line;
            if (run >= RepeatLimit)
                return true;
        }
        return false;
    }

    /// <summary>The verdict for one benchmark sample.</summary>
    public static NonTrivialVerdict ForSample(Benchmark benchmark, BenchmarkProblem problem, string completion, bool hitLengthCap)
    {
        var judged = hitLengthCap ? CutAtLastCompleteLine(completion) : completion;
        string functionName = benchmark.Kind == BenchmarkKind.HumanEval ? problem.EntryPoint : MbppFunctionName(problem, judged);
        var outcome = Judge(benchmark.ValidityText(problem, judged), benchmark.ValidityText(problem, ""), judged, functionName);
        return new NonTrivialVerdict(outcome, judged);
    }

    /// <summary>
    /// Rules (2)–(5) on a program text (prompt and cut completion, as the benchmark assembles it for validity),
    /// the same text without the completion (its statements do not count as added), the completion alone and the
    /// function's name.
    /// </summary>
    public static NonTrivialOutcome Judge(string program, string promptOnly, string completion, string functionName)
    {
        var parsed = PythonParser.Parse(program);
        if (parsed.Module is not { } module)
            return NonTrivialOutcome.DoesNotParse;
        if (FindFunction(module, functionName) is not { } function)
            return NonTrivialOutcome.NoFunction;
        int before = PythonParser.Parse(promptOnly).Module is { } promptModule && FindFunction(promptModule, functionName) is { } promptFunction
            ? SubstantiveStatements(promptFunction.Body).Count() : 0;
        var body = SubstantiveStatements(function.Body).ToList();
        if (body.Count <= before)
            return NonTrivialOutcome.EmptyBody;
        var parameters = ParameterNames(function.Arguments);
        if (parameters.Count > 0 && !body.Any(statement => ReadsAny(statement, parameters)))
            return NonTrivialOutcome.ParametersUnused;
        if (HasRepeatedLines(completion))
            return NonTrivialOutcome.RepeatedLines;
        return NonTrivialOutcome.Valid;
    }

    /// <summary>A def of the module's top level (sync or async): its body and arguments.</summary>
    private sealed record FunctionView(List<StmtNode> Body, Arguments Arguments);

    /// <summary>The last top-level def named <paramref name="name"/>; with an empty name, the first top-level def.</summary>
    private static FunctionView? FindFunction(Module module, string name)
    {
        FunctionView? found = null;
        foreach (var statement in module.Body)
        {
            var view = statement switch
            {
                FunctionDef f when name.Length == 0 || f.Name == name => new FunctionView(f.Body, (Arguments)f.Args),
                AsyncFunctionDef f when name.Length == 0 || f.Name == name => new FunctionView(f.Body, (Arguments)f.Args),
                _ => null,
            };
            if (view is null) continue;
            if (name.Length == 0) return view;
            found = view;
        }
        return found;
    }

    /// <summary>The body's statements that are not <c>pass</c>, a bare <c>...</c> or a string expression (docstring).</summary>
    private static IEnumerable<StmtNode> SubstantiveStatements(List<StmtNode> body) =>
        body.Where(s => s switch
        {
            Pass => false,
            Expr { Value: Constant { Value: EllipsisValue or string } } => false,
            _ => true,
        });

    private static HashSet<string> ParameterNames(Arguments arguments)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var arg in arguments.Posonlyargs.Concat(arguments.Args).Concat(arguments.Kwonlyargs).OfType<Arg>()) names.Add(arg.ArgName);
        if (arguments.Vararg is Arg vararg) names.Add(vararg.ArgName);
        if (arguments.Kwarg is Arg kwarg) names.Add(kwarg.ArgName);
        return names;
    }

    private static bool ReadsAny(Node node, HashSet<string> names)
    {
        if (node is Name { Ctx: Load } name && names.Contains(name.Id))
            return true;
        foreach (var child in node.Children())
            if (ReadsAny(child, names))
                return true;
        return false;
    }

    /// <summary>MBPP: the name the first test calls, when the solution defines it at top level; else "" (the first def).</summary>
    private static string MbppFunctionName(BenchmarkProblem problem, string solution)
    {
        if (problem.TestList.Count == 0 || PythonParser.Parse(solution).Module is not { } module)
            return "";
        var defined = module.Body.Select(s => s switch { FunctionDef f => f.Name, AsyncFunctionDef f => f.Name, _ => null })
            .OfType<string>().ToHashSet(StringComparer.Ordinal);
        if (PythonParser.Parse(problem.TestList[0]).Module is not { } test)
            return "";
        return CalledNames(test).FirstOrDefault(defined.Contains) ?? "";
    }

    private static IEnumerable<string> CalledNames(Node node)
    {
        if (node is Call { Func: Name callee })
            yield return callee.Id;
        foreach (var child in node.Children())
            foreach (var name in CalledNames(child))
                yield return name;
    }
}
