using AnCoder.Anchoring.Corpus;
using AnCoder.Anchoring.Labels;
using AnCoder.Anchoring.Shards;
using AnCoder.Anchoring.Tokenization;
using Xunit;

namespace AnCoder.Anchoring.Tests;

public sealed class ShardTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "ancoder-shards-" + Guid.NewGuid().ToString("N"));

    public ShardTests() => Directory.CreateDirectory(_dir);
    public void Dispose() => Directory.Delete(_dir, true);

    private static ShardSample Sample(int length, int seed, int prompt = 0)
    {
        var random = new Random(seed);
        return new ShardSample(
            Enumerable.Range(0, length).Select(_ => random.Next(3, 8192)).ToArray(),
            Enumerable.Range(0, length).Select(_ => (ushort)random.Next(0, 12)).ToArray(),
            Enumerable.Range(0, length).Select(_ => (TokenFlags)random.Next(0, 8)).ToArray(),
            prompt);
    }

    [Fact]
    public void WriteThenReadRoundTrips()
    {
        var samples = new[] { Sample(10, 1, prompt: 4), Sample(0, 2), Sample(1000, 3) };
        string path = Path.Combine(_dir, "a" + ShardFormat.Extension);
        ShardFormat.Write(path, samples, 8192);
        using var reader = new ShardReader(path);
        Assert.Equal(3, reader.SampleCount);
        Assert.Equal(1010, reader.TokenCount);
        Assert.Equal(8192, reader.VocabSize);
        for (int s = 0; s < samples.Length; s++)
        {
            var (start, end) = reader.SampleRange(s);
            int n = (int)(end - start);
            Assert.Equal(samples[s].Ids, reader.Ids(start, n).ToArray());
            Assert.Equal(samples[s].Depths, reader.Depths(start, n).ToArray());
            Assert.Equal(samples[s].Flags, reader.Flags(start, n).ToArray());
            Assert.Equal(samples[s].PromptLength, reader.PromptLength(s));
        }
        Assert.Empty(Directory.EnumerateFiles(_dir, "*.tmp-*"));
    }

    [Fact]
    public void TruncatedShardGivesAClearError()
    {
        string path = Path.Combine(_dir, "t" + ShardFormat.Extension);
        ShardFormat.Write(path, [Sample(100, 1)], 8192);
        using (var stream = new FileStream(path, FileMode.Open)) stream.SetLength(stream.Length - 7);
        var error = Assert.Throws<ShardFormatException>(() => new ShardReader(path));
        Assert.Contains("truncated", error.Message);
        File.WriteAllBytes(path, new byte[10]);
        Assert.Contains("truncated", Assert.Throws<ShardFormatException>(() => new ShardReader(path)).Message);
    }

    [Fact]
    public void CorruptedShardGivesAClearError()
    {
        string path = Path.Combine(_dir, "c" + ShardFormat.Extension);
        ShardFormat.Write(path, [Sample(100, 1)], 8192);
        byte[] bytes = File.ReadAllBytes(path);
        bytes[^50] ^= 0x40;
        File.WriteAllBytes(path, bytes);
        Assert.Contains("checksum", Assert.Throws<ShardFormatException>(() => new ShardReader(path)).Message);
        bytes[0] = (byte)'X';
        File.WriteAllBytes(path, bytes);
        Assert.Contains("magic", Assert.Throws<ShardFormatException>(() => new ShardReader(path)).Message);
    }

    private static readonly AnchorWeightOptions Tree = AnchorWeightOptions.Defaults(AnchorStrategy.AnchorTree);

    [Fact]
    public void LoaderIsDeterministicGivenTheSeedAndComputesWeightsAtLoadTime()
    {
        string path = Path.Combine(_dir, "l" + ShardFormat.Extension);
        var samples = Enumerable.Range(0, 20).Select(i => Sample(5 + 7 * i, i, prompt: i % 3)).ToArray();
        ShardFormat.Write(path, samples, 8192);
        using var reader = new ShardReader(path);
        Batch Take(int seed, int skip)
        {
            var loader = new DataLoader([reader], 16, 4, seed, Tree, eosId: 0, padId: 2);
            for (int i = 0; i < skip; i++) loader.NextBatch();
            return loader.NextBatch();
        }
        Assert.Equal(Take(7, 3).Ids, Take(7, 3).Ids);
        Assert.NotEqual(Take(7, 0).Ids, Take(8, 0).Ids);

        // Row 0 in storage order = sample 0 (5 tokens), EOS, then the start of sample 1.
        var row = new DataLoader([reader], 16, 1, 0, Tree, 0, 2).Row(0);
        Assert.Equal(samples[0].Ids, row.Ids[..5]);
        Assert.Equal(0, row.Ids[5]);
        Assert.Equal(0f, row.Weights[5]);
        Assert.Equal(samples[1].Ids[..10], row.Ids[6..16]);
        Assert.Equal([false, false, false, false, false, false, true, false], row.PromptMask[..8]); // sample 1 has prompt 1
        for (int i = 0; i < 5; i++)
        {
            var f = samples[0].Flags[i];
            double expected = AnchorWeights.Weight(Tree, samples[0].Depths[i], f.HasFlag(TokenFlags.Keyword), f.HasFlag(TokenFlags.Identifier), f.HasFlag(TokenFlags.Parsed));
            Assert.Equal((float)expected, row.Weights[i]);
        }
        // Truncate mode pads short samples.
        var truncated = new DataLoader([reader], 16, 1, 0, Tree, 0, 2, PackingMode.Truncate).Row(0);
        Assert.Equal(2, truncated.Ids[15]);
        Assert.False(truncated.Valid[15]);
    }

    [Fact]
    public void PrepareBuildsAResumableCorpusWithManifest()
    {
        string source = Path.Combine(_dir, "src");
        Directory.CreateDirectory(Path.Combine(source, "pkg"));
        File.Copy(Path.Combine(TestSupport.ReferenceDir, "cases", "find_max.py"), Path.Combine(source, "a.py"));
        File.Copy(Path.Combine(TestSupport.ReferenceDir, "cases", "find_max.py"), Path.Combine(source, "pkg", "dup.py"));
        File.Copy(Path.Combine(TestSupport.ReferenceDir, "cases", "syntax_error.py"), Path.Combine(source, "bad.py"));
        File.WriteAllText(Path.Combine(source, "doc.py"), "class K:\n    def m(self, x):\n        \"\"\"Return x.\"\"\"\n        return x\n");
        File.WriteAllBytes(Path.Combine(source, "undecodable.py"), "# coding: nope\n"u8.ToArray());
        var options = new PrepareOptions
        {
            SourceDirectory = source, OutputDirectory = Path.Combine(_dir, "out"), Tokenizer = DefaultTokenizer.Load(),
            TokenizerName = DefaultTokenizer.Name, ValidFraction = 0, TestFraction = 0,
        };
        var manifest = CorpusBuilder.Build(options);
        Assert.Equal(5, manifest.Files.Found);
        Assert.Equal(1, manifest.Files.ParseFailures);
        Assert.Single(manifest.Files.Undecodable);
        // pkg/dup.py is removed as an exact duplicate of a.py before labelling; a.py and its find_max snippet are
        // identical (the function is the whole file), and doc.py's class snippet is the whole file too.
        Assert.Equal(1, manifest.Removed![RemovalReasons.ExactDuplicate]);
        Assert.Equal(2, manifest.Removed[RemovalReasons.ParseError]); // bad.py and undecodable.py
        var train = manifest.Splits[Splits.Train];
        Assert.Equal(2, train.DuplicatesRemoved);
        Assert.Equal(1, train.PromptedSamples); // K.m has a docstring
        Assert.True(CorpusBuilder.IsUpToDate(options, CorpusFiles.Enumerate(source), out _));
        var readers = ShardSet.Open(options.OutputDirectory, Splits.Train);
        Assert.Equal(train.Tokens, readers.Sum(r => r.TokenCount));
        readers.ForEach(r => r.Dispose());

        // A damaged shard makes the output stale; a rebuild repairs it.
        string shard = Path.Combine(options.OutputDirectory, train.Shards[0].File);
        using (var stream = new FileStream(shard, FileMode.Open)) stream.SetLength(stream.Length - 1);
        Assert.False(CorpusBuilder.IsUpToDate(options, CorpusFiles.Enumerate(source), out _));
        Assert.Throws<ShardFormatException>(() => ShardSet.Open(options.OutputDirectory, Splits.Train));
        CorpusBuilder.Build(options);
        ShardSet.Open(options.OutputDirectory, Splits.Train).ForEach(r => r.Dispose());
    }
}
