using AnCoder.Anchoring.Corpus;
using AnCoder.Anchoring.Labels;
using AnCoder.Anchoring.Shards;
using AnCoder.Anchoring.Tokenization;

namespace AnCoder.Diffusion.Probing;

/// <summary>Held-out sources for the probe, tokenised and labelled, in a seeded random order.</summary>
public static class ProbeSamples
{
    /// <summary>
    /// The <c>test</c> split of a folder written by <c>ancoder prepare</c>. Shards keep ids, depths and flags but not
    /// the AST, so each sample is decoded and labelled again (a sample whose re-encoding differs from the stored ids,
    /// e.g. another tokenizer, is skipped and counted in <paramref name="mismatched"/>).
    /// Samples are yielded lazily in an order shuffled with <paramref name="seed"/> (a file and its snippets are
    /// consecutive in the shard).
    /// </summary>
    public static IEnumerable<ProbeTokens> FromPrepared(string directory, ByteLevelBpe tokenizer, int seed, Action? mismatched = null)
    {
        var shards = ShardSet.Open(directory, Splits.Test);
        try
        {
            var index = new List<(int Shard, long Sample)>();
            for (int s = 0; s < shards.Count; s++)
                for (long k = 0; k < shards[s].SampleCount; k++) index.Add((s, k));
            Shuffle(index, seed);
            foreach (var (shard, sample) in index)
            {
                var (start, end) = shards[shard].SampleRange(sample);
                int[] ids = shards[shard].Ids(start, (int)(end - start)).ToArray();
                var source = LabelledSource.Create(tokenizer.Decode(ids), tokenizer);
                if (!source.Labels.Select(l => l.Id).SequenceEqual(ids)) { mismatched?.Invoke(); continue; }
                if (ProbeTokens.From(source) is { } tokens) yield return tokens;
            }
        }
        finally
        {
            foreach (var shard in shards) shard.Dispose();
        }
    }

    /// <summary>Every <c>*.py</c> under <paramref name="directory"/> (recursively), in a seeded random order; files that do not parse are skipped.</summary>
    public static IEnumerable<ProbeTokens> FromFiles(string directory, ByteLevelBpe tokenizer, int seed)
    {
        var files = Directory.EnumerateFiles(directory, "*.py", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
        Shuffle(files, seed);
        foreach (string file in files)
        {
            byte[] bytes;
            try { bytes = File.ReadAllBytes(file); }
            catch (IOException) { continue; }
            catch (UnauthorizedAccessException) { continue; }
            if (ProbeTokens.From(LabelledSource.Create(bytes, tokenizer)) is { } tokens) yield return tokens;
        }
    }

    /// <summary>Sources given as text (tests, snippets).</summary>
    public static IEnumerable<ProbeTokens> FromTexts(IEnumerable<string> sources, ByteLevelBpe tokenizer) =>
        sources.Select(s => ProbeTokens.From(LabelledSource.Create(System.Text.Encoding.UTF8.GetBytes(s), tokenizer)))
            .Where(t => t is not null).Select(t => t!);

    private static void Shuffle<T>(List<T> items, int seed)
    {
        var random = new Random(seed);
        for (int i = items.Count - 1; i > 0; i--)
        {
            int j = random.Next(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}
