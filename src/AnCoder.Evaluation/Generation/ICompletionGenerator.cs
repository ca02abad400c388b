using AnCoder.Evaluation.Benchmarks;
using AnCoder.Evaluation.Scoring;

namespace AnCoder.Evaluation.Generation;

/// <summary>The seam a model's sampler implements to be evaluated (the sampler itself lives outside this project).</summary>
public interface ICompletionGenerator
{
    /// <summary>End-of-sequence markers of the generator's tokenizer, cut before the §9 stop sequences.</summary>
    IReadOnlyList<string> EndOfSequenceMarkers { get; }

    /// <summary>Raw generated continuations of <paramref name="prompt"/> (post-processing happens here, not there).</summary>
    Task<IReadOnlyList<string>> GenerateAsync(string prompt, int count, CancellationToken cancellationToken);

    /// <summary>
    /// The same continuations with whether each ran into the generator's length cap (it filled its whole budget
    /// without an end-of-sequence). A generator that cannot tell reports false (the text is judged as it is).
    /// </summary>
    async Task<IReadOnlyList<GeneratedCompletion>> GenerateWithLengthCapAsync(string prompt, int count, CancellationToken cancellationToken) =>
        (await GenerateAsync(prompt, count, cancellationToken).ConfigureAwait(false)).Select(text => new GeneratedCompletion(text, false)).ToList();
}

/// <summary>A raw continuation and whether the generator stopped only because its length budget ran out.</summary>
public sealed record GeneratedCompletion(string Text, bool HitLengthCap);

/// <summary>Generate-and-score with resumption: samples already in the journal are kept, only the missing ones are made.</summary>
public static class GenerationRun
{
    public static async Task RunAsync(Evaluator evaluator, ICompletionGenerator generator, int samplesPerProblem,
        ResultsJournal journal, IProgress<int>? samplesDone = null, CancellationToken cancellationToken = default)
    {
        var benchmark = evaluator.Benchmark;
        var done = journal.Results.Count;
        samplesDone?.Report(done);
        foreach (var problem in benchmark.Problems)
        {
            var missing = Enumerable.Range(0, samplesPerProblem).Where(i => !journal.Contains(problem.TaskId, i)).ToList();
            if (missing.Count == 0)
                continue;
            var raw = await generator.GenerateWithLengthCapAsync(problem.Prompt, missing.Count, cancellationToken).ConfigureAwait(false);
            if (raw.Count != missing.Count)
                throw new InvalidOperationException($"generator returned {raw.Count} completions for {problem.TaskId}, expected {missing.Count}");
            var samples = missing.Select((index, i) => ToSample(benchmark, problem.TaskId, index, raw[i], generator.EndOfSequenceMarkers)).ToList();
            await evaluator.EvaluateAllAsync(samples, result =>
            {
                journal.Append(result);
                samplesDone?.Report(++done);
            }, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Post-processes one raw continuation (§9). A text that a stop sequence or an end-of-sequence marker cut ended
    /// before the cap, whatever the generator says.
    /// </summary>
    public static Sample ToSample(Benchmark benchmark, string taskId, int index, GeneratedCompletion raw, IReadOnlyList<string> endOfSequenceMarkers)
    {
        var completion = benchmark.Kind == BenchmarkKind.HumanEval
            ? CompletionPostProcessor.HumanEval(raw.Text, endOfSequenceMarkers)
            : CompletionPostProcessor.Mbpp(raw.Text, endOfSequenceMarkers);
        return new Sample(taskId, index, completion, raw.HitLengthCap && completion.Length == raw.Text.Length);
    }
}
