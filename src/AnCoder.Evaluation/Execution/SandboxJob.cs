namespace AnCoder.Evaluation.Execution;

/// <summary>
/// One run: the untrusted candidate module and the trusted test that judges it. The two run in separate sandboxed
/// processes; the test sees the candidate's functions only as proxies that return plain data (README, "The sandbox").
/// </summary>
/// <param name="Candidate">Module source run in the candidate process (HumanEval: prompt + completion; MBPP: setup + solution).</param>
public sealed record SandboxJob(string Candidate, SandboxTest Test);

/// <summary>The trusted half of a run, executed in the test process.</summary>
public abstract record SandboxTest
{
    private protected SandboxTest() { }
}

/// <summary>
/// HumanEval's form: run <paramref name="Prelude"/> (the prompt: helpers some tests use), bind the entry point to a
/// proxy of the candidate's function, run <paramref name="TestCode"/>, then <c>check(entry_point)</c>.
/// </summary>
public sealed record CheckFunctionTest(string Prelude, string TestCode, string EntryPoint) : SandboxTest;

/// <summary>
/// MBPP's form: run <paramref name="Setup"/>, bind every name the asserts use that the setup and the builtins do not
/// provide (or that <paramref name="CanonicalSolution"/> itself defines, e.g. a function called <c>sum</c>) to the
/// candidate's definition, then run the asserts.
/// </summary>
public sealed record AssertsTest(string Setup, IReadOnlyList<string> Asserts, string CanonicalSolution) : SandboxTest;

/// <summary>
/// Benchmark only (<c>eval throughput</c>'s "no proxy" row): the whole program in the candidate process, passed when it
/// returns. Forgeable by design of the measurement; never used to score.
/// </summary>
public sealed record WholeProgramForBenchmark : SandboxTest;
