using System.Text;
using AnCoder.Anchoring.Tokenization;
using CsCheck;
using Xunit;

namespace AnCoder.Anchoring.Tests;

/// <summary>A small tokenizer trained once on a few stdlib files, shared by the tokenizer tests.</summary>
public sealed class SmallTokenizerFixture : IDisposable
{
    public SmallTokenizerFixture()
    {
        Directory = Path.Combine(Path.GetTempPath(), "ancoder-bpe-" + Guid.NewGuid().ToString("N"));
        var files = TestSupport.StdlibSample(60).Select(File.ReadAllBytes).ToList();
        Contents = new BpeTrainer { VocabSize = 1024 }.Train(files);
        HfTokenizerFiles.Save(Directory, Contents);
        Bpe = HfTokenizerFiles.Load(Directory);
    }

    public string Directory { get; }
    public HfTokenizerFiles.Contents Contents { get; }
    public ByteLevelBpe Bpe { get; }

    public void Dispose() => System.IO.Directory.Delete(Directory, true);
}

public sealed class TokenizerTests(SmallTokenizerFixture fixture) : IClassFixture<SmallTokenizerFixture>
{
    [Fact]
    public void HandComputedTrainingExample()
    {
        // Pieces of "ab ab ab abc" (Qwen2 regex): "ab", " ab" x2, " abc". Pair counts: (a,b) 4, (' ',a) 3, (b,c) 1
        // -> merge a+b. Then (' ',ab) 3, (ab,c) 1 -> merge ' '+ab. Then (' ab',c) 1 < 2 -> stop.
        var contents = new BpeTrainer { VocabSize = 400 }.Train([Encoding.ASCII.GetBytes("ab ab ab abc")]);
        Assert.Equal([("a", "b"), ("Ġ", "ab")], contents.Merges);
        Assert.Equal(259, contents.Vocab["ab"]);
        Assert.Equal(260, contents.Vocab["Ġab"]);
        Assert.Equal(0, contents.SpecialTokens[SpecialTokenNames.EndOfText]);
        Assert.Equal(1, contents.SpecialTokens[SpecialTokenNames.Mask]);
        Assert.Equal(2, contents.SpecialTokens[SpecialTokenNames.Pad]);
        var bpe = HfTokenizerFiles.Build(contents);
        Assert.Equal([new BpeToken(259, 0, 2), new BpeToken(260, 2, 5), new BpeToken(3 + 'c', 5, 6)], bpe.Encode("ab abc"));
    }

    [Fact]
    public void TrainerMatchesIndependentPythonReferenceOnAsciiFiles()
    {
        var files = TestSupport.StdlibSample(400)
            .Where(p => File.ReadAllBytes(p).All(b => b == '\n' || (b >= 0x20 && b < 0x7F)))
            .Take(3).ToList();
        Assert.Equal(3, files.Count);
        var contents = new BpeTrainer { VocabSize = 259 + 150 }.Train(files.Select(File.ReadAllBytes));
        string expected = TestSupport.RunPython($"\"{Path.Combine(TestSupport.ReferenceDir, "bpe_reference.py")}\" 409 2 "
            + string.Join(' ', files.Select(f => $"\"{f}\"")));
        var ours = contents.Merges.Select(m =>
        {
            ByteLevelAlphabet.TryDecode(m.Left, out var l);
            ByteLevelAlphabet.TryDecode(m.Right, out var r);
            return Convert.ToHexStringLower(l) + " " + Convert.ToHexStringLower(r);
        });
        Assert.Equal(expected.Split('\n', StringSplitOptions.RemoveEmptyEntries), ours);
    }

    private static readonly Gen<string> CodeLikeText = Gen.OneOf(
        Gen.String[Gen.Char["abcXYZ_019 \t\n\r():.,'\"#=+-*/<>[]{}é中😀\u00a0\u2028"], 0, 80],
        Gen.String);

    [Fact]
    public void TokensTileAndRoundTripAnyText()
    {
        CodeLikeText.Sample(text =>
        {
            byte[] bytes = Encoding.UTF8.GetBytes(text);
            AssertTilesAndRoundTrips(fixture.Bpe, bytes);
        }, iter: 2000);
    }

    [Fact]
    public void TokensTileAndRoundTripAnyBytesIncludingInvalidUtf8()
    {
        Gen.Byte.Array[0, 60].Sample(bytes => AssertTilesAndRoundTrips(fixture.Bpe, bytes), iter: 2000);
        // Invalid pieces mid-sequence: truncated multi-byte char, lone continuation, overlong, surrogate, > U+10FFFF.
        byte[][] cases =
        [
            [.. "x = 'é"u8, 0xC3, .. "'\n"u8], [0x80, .. "def"u8], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80],
            [.. "中"u8[..2], .. "中"u8], [0xFF, 0xFE, .. " ab"u8],
        ];
        foreach (var bytes in cases) AssertTilesAndRoundTrips(fixture.Bpe, bytes);
    }

    private static void AssertTilesAndRoundTrips(ByteLevelBpe bpe, byte[] bytes)
    {
        var tokens = bpe.Encode(bytes);
        int pos = 0;
        foreach (var token in tokens)
        {
            Assert.Equal(pos, token.Start);
            Assert.True(token.End > token.Start);
            Assert.Equal(bytes.AsSpan(token.Start, token.End - token.Start).ToArray(), bpe.TokenBytes(token.Id).ToArray());
            pos = token.End;
        }
        Assert.Equal(bytes.Length, pos);
        Assert.Equal(bytes, bpe.Decode(tokens.Select(t => t.Id)));
    }

    [Fact]
    public void SavedFilesLoadedThroughMicrosoftMlTokenizersGiveTheSameIds()
    {
        foreach (string file in new[] { HfTokenizerFiles.TokenizerJson, HfTokenizerFiles.VocabJson, HfTokenizerFiles.MergesTxt })
            Assert.True(File.Exists(Path.Combine(fixture.Directory, file)));
        var ml = MlTokenizerLoader.Load(fixture.Directory);
        foreach (string path in TestSupport.StdlibSample(40))
        {
            string text = File.ReadAllText(path);
            if (text.Contains("<|")) continue;
            Assert.Equal(ml.EncodeToIds(text), fixture.Bpe.EncodeToIds(Encoding.UTF8.GetBytes(text)));
            Assert.Equal(text, ml.Decode(fixture.Bpe.EncodeToIds(Encoding.UTF8.GetBytes(text))));
        }
        CodeLikeText.Where(t => !t.Contains("<|") && !t.Any(char.IsSurrogate)).Sample(text =>
            Assert.Equal(ml.EncodeToIds(text), fixture.Bpe.EncodeToIds(Encoding.UTF8.GetBytes(text))), iter: 1000);
        Assert.Equal(0, ml.SpecialTokens![SpecialTokenNames.EndOfText]);
    }

    [Fact]
    public void VocabPlusMergesLayoutLoadsToTheSameTokenizer()
    {
        string dir = Path.Combine(fixture.Directory, "classic");
        Directory.CreateDirectory(dir);
        File.Copy(Path.Combine(fixture.Directory, HfTokenizerFiles.VocabJson), Path.Combine(dir, HfTokenizerFiles.VocabJson));
        File.Copy(Path.Combine(fixture.Directory, HfTokenizerFiles.MergesTxt), Path.Combine(dir, HfTokenizerFiles.MergesTxt));
        var classic = HfTokenizerFiles.Load(dir);
        byte[] sample = File.ReadAllBytes(TestSupport.StdlibSample(5)[3]);
        Assert.Equal(fixture.Bpe.EncodeToIds(sample), classic.EncodeToIds(sample));
    }

    [Fact]
    public void TrainingIsDeterministicAndFillsTheVocabulary()
    {
        Assert.Equal(1024, fixture.Bpe.VocabSize);
        var again = new BpeTrainer { VocabSize = 1024 }.Train(TestSupport.StdlibSample(60).Select(File.ReadAllBytes));
        Assert.Equal(fixture.Contents.Merges, again.Merges);
    }
}
