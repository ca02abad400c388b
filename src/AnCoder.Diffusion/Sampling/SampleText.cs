using System.Text;
using AnCoder.Anchoring.Tokenization;

namespace AnCoder.Diffusion.Sampling;

/// <summary>A canvas position whose token survives into the text, with its UTF-8 byte span in <see cref="SampleText.Bytes"/>.</summary>
public readonly record struct KeptToken(int Position, int Start, int End);

/// <summary>
/// The text of a sampled canvas after end-of-text handling: <see cref="Text"/> = prompt and generated spans,
/// <see cref="Completion"/> = the generated spans only (for a plain prompt: the text after it).
/// </summary>
public sealed record SampleText(byte[] Bytes, string Text, string Completion, IReadOnlyList<KeptToken> Tokens);

/// <summary>
/// End-of-text handling: each run of generated positions is cut at its first end-of-text token (the rest of that run
/// is dropped) and pad tokens are dropped; a run that reaches the end of the canvas (a completion) is also cut at the
/// first occurrence of any stop sequence.
/// </summary>
public static class SampleTexts
{
    public static SampleText Extract(int[] ids, bool[] frozen, ByteLevelBpe tokenizer, int eosId, int padId,
        IReadOnlyList<string>? stopSequences = null)
    {
        var bytes = new List<byte>();
        var completion = new List<byte>();
        var kept = new List<KeptToken>();
        int position = 0;
        while (position < ids.Length)
        {
            if (frozen[position])
            {
                Append(position++, false);
                continue;
            }
            int runEnd = position;
            while (runEnd < ids.Length && !frozen[runEnd]) runEnd++;
            int firstKept = kept.Count, runStartByte = bytes.Count;
            for (int i = position; i < runEnd; i++)
            {
                if (ids[i] == eosId) break;
                if (ids[i] != padId) Append(i, true);
            }
            if (runEnd == ids.Length && stopSequences is { Count: > 0 })
            {
                string runText = Encoding.UTF8.GetString(bytes.GetRange(runStartByte, bytes.Count - runStartByte).ToArray());
                int cut = stopSequences.Where(s => s.Length > 0).Select(s => runText.IndexOf(s, StringComparison.Ordinal))
                    .Where(at => at >= 0).DefaultIfEmpty(-1).Min();
                if (cut >= 0)
                {
                    int cutBytes = runStartByte + Encoding.UTF8.GetByteCount(runText.AsSpan(0, cut));
                    int removed = bytes.Count - cutBytes;
                    bytes.RemoveRange(cutBytes, removed);
                    completion.RemoveRange(completion.Count - removed, removed);
                    kept.RemoveAll(t => t.Start >= cutBytes);
                    if (kept.Count > firstKept && kept[^1].End > cutBytes) kept[^1] = kept[^1] with { End = cutBytes };
                }
            }
            position = runEnd;
        }
        var array = bytes.ToArray();
        return new SampleText(array, Encoding.UTF8.GetString(array), Encoding.UTF8.GetString(completion.ToArray()), kept);

        void Append(int i, bool generated)
        {
            var token = tokenizer.TokenBytes(ids[i]);
            kept.Add(new KeptToken(i, bytes.Count, bytes.Count + token.Length));
            bytes.AddRange(token);
            if (generated) completion.AddRange(token);
        }
    }
}
