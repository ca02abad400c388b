using AnCoder.Anchoring.Corpus;
using AnCoder.Anchoring.Tokenization;
using AnCoder.Diffusion.Probing;

namespace AnCoder.Diffusion.Tests.Probing;

public sealed class ProbeSamplesTests : IDisposable
{
    private static readonly ByteLevelBpe Tokenizer = DefaultTokenizer.Load();
    private readonly string _dir = Directory.CreateTempSubdirectory("ancoder-probe-samples-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const string IfSource = "if a:\n    b = c + d\n";
    private const string DefSource = "def f(x):\n    g(x)\n";

    private string WriteSources()
    {
        string source = Path.Combine(_dir, "src");
        Directory.CreateDirectory(Path.Combine(source, "pkg"));
        File.WriteAllText(Path.Combine(source, "a.py"), IfSource);
        File.WriteAllText(Path.Combine(source, "pkg", "b.py"), DefSource);
        File.WriteAllText(Path.Combine(source, "bad.py"), "def (:\n");
        File.WriteAllText(Path.Combine(source, "notes.txt"), "x = 1\n");
        return source;
    }

    private static string[] Expected => [string.Join(',', Tokenizer.EncodeToIds("if a:\n    b = c + d\n"u8)), string.Join(',', Tokenizer.EncodeToIds("def f(x):\n    g(x)\n"u8))];

    [Fact]
    public void Files_under_a_folder_that_parse_are_labelled()
    {
        var samples = ProbeSamples.FromFiles(WriteSources(), Tokenizer, seed: 0).ToList();
        Assert.Equal(Expected.Order(), samples.Select(s => string.Join(',', s.Ids)).Order());
    }

    [Fact]
    public void The_test_split_of_a_prepared_corpus_is_decoded_and_labelled_again()
    {
        // Everything goes to `test`; b.py's function snippet is the whole file, so the duplicate is dropped.
        var options = new PrepareOptions
        {
            SourceDirectory = WriteSources(), OutputDirectory = Path.Combine(_dir, "prepared"), Tokenizer = Tokenizer,
            TokenizerName = DefaultTokenizer.Name, ValidFraction = 0, TestFraction = 1,
        };
        CorpusBuilder.Build(options);
        int mismatched = 0;
        var samples = ProbeSamples.FromPrepared(options.OutputDirectory, Tokenizer, seed: 0, () => mismatched++).ToList();
        Assert.Equal(0, mismatched);
        Assert.Equal(Expected.Order(), samples.Select(s => string.Join(',', s.Ids)).Order());
        // The labels came back: `if a: b = c + d` has its two targets at K = 3 (see ProbeSnippetTests).
        var ifSample = samples.Single(s => string.Join(",", s.Ids) == Expected[0]);
        Assert.Equal(2, ProbeSelection.Targets(ifSample, 3, 256).Count);
    }

    [Fact]
    public void A_folder_without_a_manifest_is_a_shard_format_error()
    {
        Assert.Throws<AnCoder.Anchoring.Shards.ShardFormatException>(() => ProbeSamples.FromPrepared(_dir, Tokenizer, 0).ToList());
    }
}
