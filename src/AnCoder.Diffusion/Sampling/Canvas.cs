using System.Text.RegularExpressions;
using AnCoder.Anchoring.Tokenization;

namespace AnCoder.Diffusion.Sampling;

/// <summary>
/// One sequence to denoise: token ids (the mask id where a token is to be generated) and which positions are frozen
/// (prompt tokens: never masked, never changed). <see cref="Seed"/> drives this canvas's own random stream, so a
/// canvas samples the same tokens whether it runs alone or in a batch.
/// </summary>
public sealed record Canvas(int[] Ids, bool[] Frozen, int Seed)
{
    public int Length => Ids.Length;

    /// <summary>Prompt tokens (frozen) followed by <paramref name="generationLength"/> masks.</summary>
    public static Canvas Completion(IReadOnlyList<int> promptIds, int generationLength, int maskId, int seed)
    {
        var ids = new int[promptIds.Count + generationLength];
        var frozen = new bool[ids.Length];
        for (int i = 0; i < ids.Length; i++)
        {
            bool prompt = i < promptIds.Count;
            ids[i] = prompt ? promptIds[i] : maskId;
            frozen[i] = prompt;
        }
        return new Canvas(ids, frozen, seed);
    }
}

/// <summary>A piece of a prompt template: literal text, or a run of <see cref="MaskCount"/> masked tokens.</summary>
public readonly record struct PromptSegment(string? Text, int MaskCount)
{
    public bool IsMask => Text is null;
}

/// <summary>
/// Prompt templates for infilling: <c>&lt;|mask:N|&gt;</c> stands for N masked tokens (and <c>&lt;|mask|&gt;</c> for one),
/// anywhere in the text. Without a placeholder the template is a plain prompt and G masks are appended.
/// </summary>
public static partial class PromptTemplate
{
    [GeneratedRegex(@"<\|mask(?::(\d+))?\|>")]
    private static partial Regex Placeholder();

    public static IReadOnlyList<PromptSegment> Parse(string template)
    {
        var segments = new List<PromptSegment>();
        int at = 0;
        foreach (Match match in Placeholder().Matches(template))
        {
            if (match.Index > at) segments.Add(new PromptSegment(template[at..match.Index], 0));
            int count = match.Groups[1].Success
                ? int.TryParse(match.Groups[1].Value, out int n) && n > 0 && n <= 1_000_000 ? n : throw new FormatException($"placeholder '{match.Value}': N must be in 1..1000000")
                : 1;
            segments.Add(new PromptSegment(null, count));
            at = match.Index + match.Length;
        }
        if (at < template.Length) segments.Add(new PromptSegment(template[at..], 0));
        return segments;
    }

    public static bool HasPlaceholders(string template) => Placeholder().IsMatch(template);

    /// <summary>
    /// The canvas of a template: text segments tokenized separately (no BPE merge crosses a placeholder) and frozen,
    /// placeholders masked. Without placeholders: the prompt then <paramref name="generationLength"/> masks.
    /// </summary>
    public static Canvas BuildCanvas(ByteLevelBpe tokenizer, string template, int generationLength, int maskId, int seed)
    {
        var segments = Parse(template);
        if (!segments.Any(s => s.IsMask)) segments = [.. segments, new PromptSegment(null, generationLength)];
        var ids = new List<int>();
        var frozen = new List<bool>();
        foreach (var segment in segments)
        {
            if (segment.IsMask)
            {
                for (int i = 0; i < segment.MaskCount; i++) { ids.Add(maskId); frozen.Add(false); }
                continue;
            }
            foreach (var token in tokenizer.Encode(segment.Text!)) { ids.Add(token.Id); frozen.Add(true); }
        }
        return new Canvas([.. ids], [.. frozen], seed);
    }
}

/// <summary>Seeds of the samples of one run: sample j of a run with seed S uses a stream derived from (S, j).</summary>
public static class SampleSeeds
{
    public static int Derive(int runSeed, int sampleIndex)
    {
        // SplitMix64 finaliser: nearby (seed, index) pairs give unrelated streams.
        ulong z = unchecked((ulong)(uint)runSeed * 0x9E3779B97F4A7C15UL + (ulong)sampleIndex + 1);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        return (int)((z ^ (z >> 31)) & 0x7FFFFFFF);
    }
}
