namespace AnCoder.Evaluation.Benchmarks;

/// <summary>One benchmark problem, reduced to what scoring needs.</summary>
/// <param name="TaskId">The id samples refer to: "HumanEval/0" or the MBPP number as text ("11").</param>
/// <param name="Prompt">What the model is given (HumanEval: the published prompt; MBPP: the §9 docstring prompt).</param>
/// <param name="CanonicalCompletion">The reference solution in sample form (HumanEval: body after the prompt; MBPP: full code).</param>
public sealed record BenchmarkProblem(string TaskId, string Prompt, string CanonicalCompletion, string Test,
    string EntryPoint, string SetupCode, IReadOnlyList<string> TestList);

public enum BenchmarkKind
{
    HumanEval,
    Mbpp,
}

/// <summary>A loaded benchmark: its problems in file order, and how programs are built from completions.</summary>
public sealed class Benchmark
{
    private readonly Dictionary<string, BenchmarkProblem> _byTaskId;

    public Benchmark(BenchmarkKind kind, IReadOnlyList<BenchmarkProblem> problems)
    {
        Kind = kind;
        Problems = problems;
        _byTaskId = problems.ToDictionary(p => p.TaskId, StringComparer.Ordinal);
    }

    public BenchmarkKind Kind { get; }
    public IReadOnlyList<BenchmarkProblem> Problems { get; }
    public string Name => Kind == BenchmarkKind.HumanEval ? "humaneval" : "mbpp";

    /// <summary>Samples per problem used by the paper (§9): HumanEval 20, MBPP 10.</summary>
    public int DefaultSamplesPerProblem => Kind == BenchmarkKind.HumanEval ? 20 : 10;

    public bool TryGetProblem(string taskId, out BenchmarkProblem problem) =>
        _byTaskId.TryGetValue(NormalizeTaskId(taskId), out problem!);

    /// <summary>MBPP ids appear as 11, "11" or "Mbpp/11" in the wild; HumanEval ids are used verbatim.</summary>
    public string NormalizeTaskId(string taskId)
    {
        if (Kind == BenchmarkKind.Mbpp)
        {
            var trimmed = taskId.Trim();
            var slash = trimmed.LastIndexOf('/');
            if (slash >= 0 && trimmed[..slash].Equals("mbpp", StringComparison.OrdinalIgnoreCase))
                trimmed = trimmed[(slash + 1)..];
            return trimmed;
        }
        return taskId;
    }

    /// <summary>The program the sandbox runs for one completion (§9 and the benchmarks' published conventions).</summary>
    public string AssembleProgram(BenchmarkProblem problem, string completion) => Kind switch
    {
        BenchmarkKind.HumanEval => ProgramAssembly.HumanEval(problem, completion),
        _ => ProgramAssembly.Mbpp(problem, completion),
    };

    /// <summary>
    /// The sandbox job for one completion: the candidate module (HumanEval: prompt + completion; MBPP: setup code +
    /// solution, the order of the published program) and the benchmark's own test code, run in a separate process.
    /// </summary>
    public Execution.SandboxJob CreateJob(BenchmarkProblem problem, string completion) => Kind switch
    {
        BenchmarkKind.HumanEval => new Execution.SandboxJob(problem.Prompt + completion,
            new Execution.CheckFunctionTest(problem.Prompt, problem.Test, problem.EntryPoint)),
        _ => new Execution.SandboxJob(problem.SetupCode + "\n" + completion,
            new Execution.AssertsTest(problem.SetupCode, problem.TestList, problem.CanonicalCompletion)),
    };

    /// <summary>The text whose syntax validity is reported (§9: HumanEval prompt + completion; MBPP the solution).</summary>
    public string ValidityText(BenchmarkProblem problem, string completion) =>
        Kind == BenchmarkKind.HumanEval ? problem.Prompt + completion : completion;
}
