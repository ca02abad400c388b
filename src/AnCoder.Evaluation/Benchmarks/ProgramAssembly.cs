namespace AnCoder.Evaluation.Benchmarks;

/// <summary>Builds the programs the benchmarks define (docs/algorithms.md §9).</summary>
public static class ProgramAssembly
{
    /// <summary>openai/human-eval's check program: prompt + completion + "\n" + test + "\n" + "check(entry_point)".</summary>
    public static string HumanEval(BenchmarkProblem problem, string completion) =>
        problem.Prompt + completion + "\n" + problem.Test + "\n" + "check(" + problem.EntryPoint + ")";

    /// <summary>MBPP: test_setup_code, the solution, then every assert of test_list, one per line.</summary>
    public static string Mbpp(BenchmarkProblem problem, string solution) =>
        problem.SetupCode + "\n" + solution + "\n" + string.Join("\n", problem.TestList);

    /// <summary>The MBPP prompt of §9: a docstring holding the task text and the first test.</summary>
    public static string MbppPrompt(string text, IReadOnlyList<string> testList) =>
        "\"\"\"\n" + text + "\n" + (testList.Count > 0 ? testList[0] : "") + "\n\"\"\"\n";
}
