namespace AnCoder.Evaluation.Scoring;

/// <summary>
/// A finer syntax measure than validity, for models too weak to write a whole valid program: the share of a
/// completion's lines that come before its first line that cannot be kept. Not in the paper; the repro report shows it
/// beside syntax validity because at CPU scale validity is 0 % for every variant and cannot separate them.
/// </summary>
public static class ValidPrefix
{
    /// <summary>
    /// k / L, where L is the completion's line count (a last line without a newline counts) and k the largest number of
    /// leading lines whose text <paramref name="parses"/> accepts; 1 when the whole completion parses (also when it is
    /// empty). <paramref name="parses"/> receives the prefix text and decides validity in context (e.g. HumanEval
    /// prepends the prompt).
    /// </summary>
    public static double LineFraction(string completion, Func<string, bool> parses)
    {
        ArgumentNullException.ThrowIfNull(completion);
        ArgumentNullException.ThrowIfNull(parses);
        if (parses(completion)) return 1;
        var ends = LineEnds(completion);
        for (int k = ends.Count - 1; k >= 1; k--)
            if (parses(completion[..ends[k - 1]])) return k / (double)ends.Count;
        return 0;
    }

    /// <summary>End offsets (exclusive, after the newline) of each line; the last line may have no newline.</summary>
    private static List<int> LineEnds(string text)
    {
        var ends = new List<int>();
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] == '\n') ends.Add(i + 1);
            else if (text[i] == '\r' && (i + 1 == text.Length || text[i + 1] != '\n')) ends.Add(i + 1);
        }
        if (ends.Count == 0 || ends[^1] < text.Length) ends.Add(text.Length);
        return ends;
    }

    /// <summary>The fraction for one benchmark sample, parsed in the benchmark's validity context with <paramref name="checker"/>.</summary>
    public static double? ForSample(Benchmarks.Benchmark benchmark, Benchmarks.BenchmarkProblem problem, string completion, ISyntaxChecker checker)
    {
        if (checker.IsValid(benchmark.ValidityText(problem, "")) is null) return null;
        return LineFraction(completion, prefix => checker.IsValid(benchmark.ValidityText(problem, prefix)) == true);
    }
}
