using AnCoder.Diffusion.Model;
using AnCoder.Experiments.Models;
using AnCoder.Experiments.Probing;
using AnCoder.Diffusion.Sampling;
using AnCoder.Evaluation.Generation;

namespace AnCoder.Experiments.Generation;

/// <summary>
/// The <see cref="ICompletionGenerator"/> of our diffusion sampler (docs/algorithms.md §7): a problem's samples are
/// generated together in batches of <see cref="BatchSize"/> canvases (prompt tokens frozen, then G masks).
/// Sample j of the problem at index p of the benchmark always uses the random stream derived from (seed, p, j), so
/// a resumed run makes exactly the samples an uninterrupted run would have made. The seam only passes a prompt and
/// a count; <paramref name="sampleIndices"/> tells which problem and which of its sample indices that call is for
/// (GenerationRun asks for the missing indices in increasing order).
/// </summary>
/// With syntax repair on, a canvas is judged on the text evaluation scores: cut at the benchmark's stop sequences
/// (<paramref name="repairStopSequences"/>).
public sealed class SamplerCompletionGenerator(LoadedModel model, SamplerOptions options, int generationLength, int seed, int batchSize,
    Func<string, int, (int ProblemIndex, IReadOnlyList<int> SampleIndices)> sampleIndices, IReadOnlyList<string>? repairStopSequences = null) : ICompletionGenerator
{
    public IReadOnlyList<string> EndOfSequenceMarkers { get; } = ["<|endoftext|>"];

    /// <summary>Seconds spent sampling and canvases sampled so far (for throughput lines).</summary>
    public double SamplingSeconds { get; private set; }
    public int SamplesGenerated { get; private set; }
    /// <summary>The viable-prefix guard's counters over the samples generated so far (zero when it is off).</summary>
    public GuardCounts GuardTotals { get; private set; }
    /// <summary>Forward passes so far (batched calls) and the rows they carried (diffusion: canvases; autoregressive: the prefill and one row per unfinished sample per token).</summary>
    public long NetworkCalls { get; private set; }
    public long NetworkRows { get; private set; }
    /// <summary>Canvases that syntax repair remasked at least once (<see cref="SamplingStatistics.RepairedCanvases"/>).</summary>
    public int RepairedCanvases { get; private set; }

    /// <summary>The seed of sample <paramref name="sampleIndex"/> of problem <paramref name="problemIndex"/>.</summary>
    public static int SampleSeed(int runSeed, int problemIndex, int sampleIndex) =>
        SampleSeeds.Derive(SampleSeeds.Derive(runSeed, problemIndex), sampleIndex);

    public async Task<IReadOnlyList<string>> GenerateAsync(string prompt, int count, CancellationToken cancellationToken) =>
        (await GenerateWithLengthCapAsync(prompt, count, cancellationToken).ConfigureAwait(false)).Select(c => c.Text).ToList();

    /// <summary>A completion hit the length cap when no end-of-text token ends it inside the G generated positions.</summary>
    public Task<IReadOnlyList<GeneratedCompletion>> GenerateWithLengthCapAsync(string prompt, int count, CancellationToken cancellationToken)
    {
        var (problemIndex, indices) = sampleIndices(prompt, count);
        if (indices.Count != count)
            throw new InvalidOperationException($"asked for {count} samples but {indices.Count} sample indices are missing for problem {problemIndex}");
        // Plain token ids, not PromptTemplate: a benchmark prompt is literal text, never an infilling template.
        var promptIds = model.Tokenizer.EncodeToIds(System.Text.Encoding.UTF8.GetBytes(prompt));
        if (model.Model is CausalLmModel causal) return Task.FromResult(GenerateAutoregressive(causal, promptIds, problemIndex, indices, cancellationToken));
        var sampler = new DiffusionSampler(new ModelDenoiser(model.Model), options);
        var completions = new List<GeneratedCompletion>(count);
        for (int start = 0; start < count; start += Math.Max(1, batchSize))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var canvases = indices.Skip(start).Take(Math.Max(1, batchSize))
                .Select(j => Canvas.Completion(promptIds, generationLength, model.Config.MaskTokenId, SampleSeed(seed, problemIndex, j)))
                .ToList();
            var repair = options.RepairRounds > 0
                ? new SyntaxRepair(model.Tokenizer, model.Config.EosTokenId, model.Config.PadTokenId, repairStopSequences) : null;
            var guard = options.Guard == DecodingGuard.Prefix
                ? new ViablePrefixJudge(model.Tokenizer, model.Config.EosTokenId, model.Config.PadTokenId, repairStopSequences) : null;
            var ids = sampler.Sample(canvases, repair: repair, guard: guard);
            SamplingSeconds += sampler.LastRun?.TotalSeconds ?? 0;
            GuardTotals += sampler.LastRun?.GuardTotals ?? default;
            NetworkCalls += sampler.LastRun?.NetworkCalls ?? 0;
            NetworkRows += sampler.LastRun?.NetworkRows ?? 0;
            RepairedCanvases += sampler.LastRun?.RepairedCanvases ?? 0;
            for (int r = 0; r < canvases.Count; r++)
            {
                var text = SampleTexts.Extract(ids[r], canvases[r].Frozen, model.Tokenizer, model.Config.EosTokenId, model.Config.PadTokenId).Completion;
                bool ended = ids[r].Where((id, i) => !canvases[r].Frozen[i]).Contains(model.Config.EosTokenId);
                completions.Add(new GeneratedCompletion(text, !ended));
            }
            SamplesGenerated += canvases.Count;
        }
        return Task.FromResult<IReadOnlyList<GeneratedCompletion>>(completions);
    }

    /// <summary>
    /// Stop sequences an autoregressive model stops at (the benchmark's §9 cut, applied again afterwards, so the
    /// scored text is the same; stopping early only saves the tokens after it).
    /// </summary>
    public IReadOnlyList<string> StopSequences { get; init; } = [];

    /// <summary>
    /// An autoregressive model (docs/recipe.md §2): up to G new tokens at temperature τ with the KV cache, the
    /// problem's samples batched; sample j of problem p uses the seed derived from (seed, p, j), as above.
    /// </summary>
    private IReadOnlyList<GeneratedCompletion> GenerateAutoregressive(CausalLmModel causal, int[] promptIds, int problemIndex, IReadOnlyList<int> indices,
        CancellationToken cancellationToken)
    {
        var sampler = new AutoregressiveSampler(causal, model.Tokenizer);
        var arOptions = new AutoregressiveOptions
        {
            Temperature = options.Temperature, TopP = options.TopP, MaxNewTokens = generationLength, StopSequences = StopSequences,
            RepetitionPenalty = options.RepetitionPenalty, FrequencyPenalty = options.FrequencyPenalty, Guard = options.Guard, GuardTries = options.GuardTries,
        };
        var completions = new List<GeneratedCompletion>(indices.Count);
        for (int start = 0; start < indices.Count; start += Math.Max(1, batchSize))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var seeds = indices.Skip(start).Take(Math.Max(1, batchSize)).Select(j => SampleSeed(seed, problemIndex, j)).ToList();
            var samples = sampler.Sample(promptIds, seeds, arOptions);
            SamplingSeconds += sampler.LastRun?.TotalSeconds ?? 0;
            GuardTotals += sampler.LastRun?.GuardTotals ?? default;
            NetworkCalls += sampler.LastRun?.NetworkCalls ?? 0;
            NetworkRows += sampler.LastRun?.NetworkRows ?? 0;
            // Not stopped by end-of-text or a stop sequence = ran into the length cap (non-trivial validity cuts it at a line).
            completions.AddRange(samples.Select(s => new GeneratedCompletion(s.Completion, !s.Stopped)));
            SamplesGenerated += samples.Count;
        }
        return completions;
    }
}
