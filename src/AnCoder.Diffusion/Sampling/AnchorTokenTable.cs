using AnCoder.Anchoring.Tokenization;

namespace AnCoder.Diffusion.Sampling;

/// <summary>
/// Which vocabulary entries are anchor tokens for <see cref="UnmaskOrder.Anchor"/>: a token whose text holds a
/// keyword or an identifier by the lexical rules of <see cref="LexicalAnchors"/> (a NAME-like word; keyword if
/// <c>keyword.iskeyword</c>), i.e. the flags the AnchorTree labels give (docs/algorithms.md §6) as far as one token
/// out of context can tell. Out of context a word inside a string or comment also counts: the sampler cannot know
/// that before the surrounding tokens exist. Special ids (end-of-text, mask, pad) are never anchors.
/// </summary>
public static class AnchorTokenTable
{
    /// <summary>The table of a tokenizer; its special tokens and <paramref name="extraSpecialIds"/> (e.g. the model's mask id) are not anchors.</summary>
    public static bool[] Build(ByteLevelBpe tokenizer, IEnumerable<int>? extraSpecialIds = null)
    {
        var table = new bool[tokenizer.VocabSize];
        for (int id = 0; id < table.Length; id++) table[id] = IsAnchor(tokenizer.TokenBytes(id).ToArray());
        foreach (int id in tokenizer.SpecialTokens.Values.Concat(extraSpecialIds ?? []))
            if (id >= 0 && id < table.Length) table[id] = false;
        return table;
    }

    /// <summary>True when the token's bytes hold a keyword or identifier.</summary>
    public static bool IsAnchor(byte[] tokenBytes) => tokenBytes.Length > 0 && LexicalAnchors.Label(tokenBytes).Length > 0;
}
