using AnCoder.Anchoring.Labels;
using AnCoder.Anchoring.Tokenization;

namespace AnCoder.Diffusion.Sampling;

/// <summary>Collects the step records of a sampling run for a trace or a terminal replay.</summary>
public sealed class TraceRecorder : ISamplingObserver
{
    public List<Canvas> Initial { get; } = [];
    public List<StepRecord> Steps { get; } = [];
    public bool WantsAnchorPredictions => false;
    public void OnStart(IReadOnlyList<Canvas> canvases) => Initial.AddRange(canvases);
    public void OnStep(StepRecord step) => Steps.Add(step);
}

/// <summary>A canvas position in a trace, labelled from the final text (docs/algorithms.md §6).</summary>
/// <param name="Kept">False for positions dropped by end-of-text handling (after EOS or a stop sequence).</param>
/// <param name="Gamma">γ of the final token under the trace's anchor strategy (0 when not kept or unparsable text).</param>
public sealed record TracePosition(int Position, bool Frozen, bool Kept, string FinalText, bool Keyword, bool Identifier, int Depth,
    string Node, double Gamma);

/// <summary>One change of a step: the token revealed at a position (Text null = remasked).</summary>
public sealed record TraceChange(int Position, string? Text, double? Probability);

/// <summary>
/// One step of a trace; <see cref="Phase"/> names a syntax-repair round ("repair N"), null in the main process;
/// <see cref="Note"/> says why this sample's step did what it did (a repair remask: the parser's error), or null.
/// </summary>
public sealed record TraceStep(int Index, double? T, double? AlphaS, bool NetworkRan, IReadOnlyList<TraceChange> Changes, string? Phase = null,
    string? Note = null);

/// <summary>The full denoising history of one sample plus its labels.</summary>
public sealed record SampleTrace(string Prompt, string Text, string Completion, bool Parsed, IReadOnlyList<string?> InitialTokens,
    IReadOnlyList<TracePosition> Positions, IReadOnlyList<TraceStep> Steps, SampleOrderSummary Summary);

/// <summary>
/// When anchors were revealed compared with the other generated tokens: mean of (step of final reveal)/(T), over the
/// generated kept positions. "Resolved first" shows as a smaller value for anchors.
/// </summary>
public sealed record SampleOrderSummary(int Anchors, int Others, double AnchorMeanRevealFraction, double OtherMeanRevealFraction);

public sealed record TraceDocument(string Model, string Settings, string AnchorStrategy, IReadOnlyList<SampleTrace> Samples);

public static class SamplingTraces
{
    /// <summary>
    /// Builds the trace of canvas <paramref name="index"/>: replays the recorded changes, labels the final text with
    /// AnchorTree labels and maps them onto canvas positions by byte overlap (a canvas token takes the deepest label
    /// it overlaps and the keyword/identifier flags of any label it overlaps).
    /// </summary>
    public static SampleTrace Build(TraceRecorder recorder, int index, string prompt, SampleText text, ByteLevelBpe tokenizer,
        AnchorWeightOptions weights, int maskId)
    {
        var initial = recorder.Initial[index];
        var labelled = LabelledSource.Create(text.Bytes, tokenizer);
        // A text that does not parse has no AnchorTree labels (γ = 0, docs/algorithms.md §6 (item 4)); for display only, its
        // keyword/identifier flags then come from a lexical scan.
        var labels = labelled.Parsed ? labelled.Labels : LexicalAnchors.Label(text.Bytes);
        var kept = text.Tokens.ToDictionary(t => t.Position);
        var positions = new List<TracePosition>(initial.Length);
        var finalIds = (int[])initial.Ids.Clone();
        foreach (var step in recorder.Steps) foreach (var change in step.Changes[index]) finalIds[change.Position] = change.To;
        for (int i = 0; i < initial.Length; i++)
        {
            if (!kept.TryGetValue(i, out var token))
            {
                positions.Add(new TracePosition(i, initial.Frozen[i], false, tokenizer.TokenText(finalIds[i]), false, false, 0, "", 0));
                continue;
            }
            bool keyword = false, identifier = false;
            int depth = -1, deepest = -1;
            for (int l = FirstLabelEndingAfter(labels, token.Start); l < labels.Length && labels[l].Start < token.End; l++)
            {
                keyword |= labels[l].Keyword;
                identifier |= labels[l].Identifier;
                if (labels[l].Depth > depth) { depth = labels[l].Depth; deepest = l; }
            }
            depth = Math.Max(depth, 0);
            double gamma = AnchorWeights.Weight(weights, depth, keyword, identifier, labelled.Parsed);
            positions.Add(new TracePosition(i, initial.Frozen[i], true, tokenizer.TokenText(finalIds[i]), keyword, identifier, depth,
                deepest >= 0 ? labelled.NodeTypeOf(deepest) : "Module", gamma));
        }

        var steps = new List<TraceStep>(recorder.Steps.Count);
        var lastReveal = new int[initial.Length];
        int stepCount = recorder.Steps.Count;
        for (int k = 0; k < stepCount; k++)
        {
            var record = recorder.Steps[k];
            var changes = record.Changes[index].Select(c => new TraceChange(c.Position, c.To == maskId ? null : tokenizer.TokenText(c.To),
                double.IsNaN(c.Probability) ? null : Math.Round(c.Probability, 4))).ToList();
            foreach (var change in record.Changes[index]) lastReveal[change.Position] = k;
            steps.Add(new TraceStep(k, record.Times?.T, record.Times?.AlphaS, record.NetworkRan, changes, record.Phase, record.Notes?[index]));
        }
        var generated = positions.Where(p => !p.Frozen && p.Kept).ToList();
        var anchors = generated.Where(p => p.Keyword || p.Identifier).ToList();
        var others = generated.Where(p => !(p.Keyword || p.Identifier)).ToList();
        double Mean(List<TracePosition> list) => list.Count == 0 ? double.NaN : list.Average(p => (double)lastReveal[p.Position] / Math.Max(1, stepCount - 1));
        var summary = new SampleOrderSummary(anchors.Count, others.Count, Mean(anchors), Mean(others));
        var initialTokens = initial.Ids.Select((id, i) => id == maskId ? null : tokenizer.TokenText(id)).ToList();
        return new SampleTrace(prompt, text.Text, text.Completion, labelled.Parsed, initialTokens, positions, steps, summary);
    }

    private static int FirstLabelEndingAfter(TokenLabel[] labels, int offset)
    {
        int lo = 0, hi = labels.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (labels[mid].End > offset) hi = mid; else lo = mid + 1;
        }
        return lo;
    }
}
