namespace AnCoder.Evaluation.Scoring;

/// <summary>
/// Completion post-processing of docs/algorithms.md §9: cut the generated text at the first end-of-sequence marker,
/// then (HumanEval) at the first of the stop sequences that start a new top-level statement.
/// </summary>
public static class CompletionPostProcessor
{
    public static readonly IReadOnlyList<string> HumanEvalStopSequences = ["\ndef ", "\nclass ", "\nif __name__", "\nprint(", "\n#"];

    /// <summary>End-of-sequence markers cut first; a sampler passes its tokenizer's own.</summary>
    public static readonly IReadOnlyList<string> DefaultEndOfSequenceMarkers = ["<|endoftext|>"];

    public static string CutAtFirst(string text, IEnumerable<string> markers)
    {
        var cut = text.Length;
        foreach (var marker in markers)
        {
            if (marker.Length == 0)
                continue;
            var index = text.IndexOf(marker, StringComparison.Ordinal);
            if (index >= 0 && index < cut)
                cut = index;
        }
        return text[..cut];
    }

    /// <summary>HumanEval: EOS first, then the earliest stop sequence.</summary>
    public static string HumanEval(string generated, IEnumerable<string>? endOfSequenceMarkers = null) =>
        CutAtFirst(CutAtFirst(generated, endOfSequenceMarkers ?? DefaultEndOfSequenceMarkers), HumanEvalStopSequences);

    /// <summary>MBPP: the model writes the whole solution, so only the EOS cut applies.</summary>
    public static string Mbpp(string generated, IEnumerable<string>? endOfSequenceMarkers = null) =>
        CutAtFirst(generated, endOfSequenceMarkers ?? DefaultEndOfSequenceMarkers);
}
