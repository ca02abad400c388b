using AnCoder.Anchoring.Tokenization;
using AnCoder.Syntax;

namespace AnCoder.Diffusion.Sampling;

/// <summary>Decoding guards (issue 17 item 2). <see cref="Prefix"/>: the viable-prefix guard of <see cref="SamplerOptions.Guard"/>.</summary>
public enum DecodingGuard { None, Prefix }

/// <summary>
/// Judges the decided left-to-right prefix of a canvas for the viable-prefix guard (<see cref="SamplerOptions.Guard"/>).
/// </summary>
public interface IPrefixJudge
{
    /// <summary>
    /// Whether positions [0, <paramref name="end"/>) of the canvas (none of them masked) can still start a valid
    /// program: the positions from <paramref name="end"/> on are not decided yet.
    /// </summary>
    bool Viable(int[] ids, bool[] frozen, int end);
}

/// <summary>
/// The viable-prefix judge of our parser (<see cref="PythonParser.CheckPrefix(ReadOnlySpan{byte})"/>, verified against
/// CPython): the decided positions' text, cut as evaluation cuts it (<see cref="SampleTexts.Extract"/>: the last run
/// at its first end-of-text token and at the stop sequences, pad tokens dropped), must not be
/// <see cref="PrefixStatus.NotViable"/>. When that cut already ended the text (an end-of-text token or a stop
/// sequence inside the decided run, and no prompt text after it), nothing can follow it, so the text must be
/// <see cref="PrefixStatus.Complete"/>: a program that stops at a viable but unfinished prefix is broken too.
/// </summary>
public sealed class ViablePrefixJudge(ByteLevelBpe tokenizer, int eosId, int padId, IReadOnlyList<string>? stopSequences = null) : IPrefixJudge
{
    public bool Viable(int[] ids, bool[] frozen, int end)
    {
        var decidedIds = ids[..end];
        var decidedFrozen = frozen[..end];
        var text = SampleTexts.Extract(decidedIds, decidedFrozen, tokenizer, eosId, padId, stopSequences);
        var check = PythonParser.CheckPrefix(text.Bytes);
        return Ended(decidedIds, decidedFrozen, frozen, text) ? check.Status == PrefixStatus.Complete : check.Status != PrefixStatus.NotViable;
    }

    /// <summary>Whether the decided text is final: its last generated run was cut and no prompt text follows it.</summary>
    private bool Ended(int[] ids, bool[] decidedFrozen, bool[] frozen, SampleText text)
    {
        int end = ids.Length;
        if (end == 0 || decidedFrozen[end - 1] || frozen.AsSpan(end).Contains(true)) return false;
        int runStart = end;
        while (runStart > 0 && !decidedFrozen[runStart - 1]) runStart--;
        if (ids.AsSpan(runStart, end - runStart).Contains(eosId)) return true;
        if (stopSequences is not { Count: > 0 }) return false;
        var uncut = SampleTexts.Extract(ids, decidedFrozen, tokenizer, eosId, padId);
        return uncut.Bytes.Length != text.Bytes.Length;
    }
}

/// <summary>Viable-prefix guard counters of one canvas: prefix checks, resampled proposals, and reveals whose tries ran out.</summary>
public readonly record struct GuardCounts(long Checks, long Resamples, long Failures)
{
    public static GuardCounts operator +(GuardCounts a, GuardCounts b) => new(a.Checks + b.Checks, a.Resamples + b.Resamples, a.Failures + b.Failures);
}
