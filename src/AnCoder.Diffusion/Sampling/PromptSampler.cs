using AnCoder.Anchoring.Tokenization;

namespace AnCoder.Diffusion.Sampling;

/// <summary>One generated sample: which prompt, which of its n samples, the final canvas and its text.</summary>
public sealed record GeneratedSample(int PromptIndex, int SampleIndex, string Prompt, Canvas Canvas, int[] Ids, SampleText Text,
    TraceRecorder? Recorder, int BatchRow);

/// <summary>Generation settings on top of <see cref="SamplerOptions"/>.</summary>
public sealed record GenerationOptions
{
    /// <summary>G: masks appended to a prompt without placeholders.</summary>
    public int Length { get; init; } = 128;
    public int SamplesPerPrompt { get; init; } = 1;
    /// <summary>Canvases per forward pass.</summary>
    public int BatchSize { get; init; } = 20;
    public int Seed { get; init; }
    public IReadOnlyList<string> StopSequences { get; init; } = [];
    public bool Record { get; init; }
}

/// <summary>
/// Text in, text out: builds canvases from prompt templates (plain prompts get G masks; <c>&lt;|mask:N|&gt;</c>
/// placeholders infill), samples them in batches (sample j of prompt i always uses the seed derived from
/// (seed, i·n + j), whatever the batch), and cuts each at end-of-text and stop sequences.
/// </summary>
public sealed class PromptSampler(IDenoiser denoiser, ByteLevelBpe tokenizer, SamplerOptions options, int eosId, int padId)
{
    public DiffusionSampler Sampler { get; } = new(denoiser, options);
    public List<SamplingStatistics> Runs { get; } = [];

    public List<GeneratedSample> Generate(IReadOnlyList<string> prompts, GenerationOptions generation, Action<int, int>? progress = null)
    {
        var jobs = new List<(int Prompt, int Sample, Canvas Canvas)>();
        for (int p = 0; p < prompts.Count; p++)
            for (int j = 0; j < generation.SamplesPerPrompt; j++)
                jobs.Add((p, j, PromptTemplate.BuildCanvas(tokenizer, prompts[p], generation.Length, denoiser.MaskId,
                    SampleSeeds.Derive(generation.Seed, p * generation.SamplesPerPrompt + j))));
        var results = new List<GeneratedSample>(jobs.Count);
        int batchSize = Math.Max(1, generation.BatchSize);
        progress?.Invoke(0, jobs.Count);
        for (int start = 0; start < jobs.Count; start += batchSize)
        {
            var batch = jobs.Skip(start).Take(batchSize).ToList();
            var recorder = generation.Record ? new TraceRecorder() : null;
            // Repair judges the text as it is returned: after end-of-text and the stop sequences.
            var repair = options.RepairRounds > 0 ? new SyntaxRepair(tokenizer, eosId, padId, generation.StopSequences) : null;
            var guard = options.Guard == DecodingGuard.Prefix ? new ViablePrefixJudge(tokenizer, eosId, padId, generation.StopSequences) : null;
            var ids = Sampler.Sample(batch.Select(j => j.Canvas).ToList(), recorder, repair, guard);
            Runs.Add(Sampler.LastRun!);
            for (int r = 0; r < batch.Count; r++)
            {
                var (prompt, sample, canvas) = batch[r];
                var text = SampleTexts.Extract(ids[r], canvas.Frozen, tokenizer, eosId, padId, generation.StopSequences);
                results.Add(new GeneratedSample(prompt, sample, prompts[prompt], canvas, ids[r], text, recorder, r));
            }
            progress?.Invoke(results.Count, jobs.Count);
        }
        return results;
    }
}
