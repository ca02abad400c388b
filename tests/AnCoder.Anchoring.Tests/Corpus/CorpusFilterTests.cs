using Xunit;
using System.Text;
using AnCoder.Anchoring.Corpus;
using AnCoder.Anchoring.Shards;
using AnCoder.Anchoring.Tokenization;

namespace AnCoder.Anchoring.Tests.Corpus;

/// <summary>Each filter of <c>ancoder prepare</c> on made-up files: what it removes, what it keeps, and what removed.tsv says.</summary>
public sealed class CorpusFilterTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "ancoder-corpus-" + Guid.NewGuid().ToString("N"));

    public CorpusFilterTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    internal static string DatasetsDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "shared", "datasets");
            if (File.Exists(Path.Combine(candidate, BenchmarkTexts.HumanEvalFile))) return candidate;
        }
        throw new InvalidOperationException("shared/datasets (HumanEval, MBPP) not found above the test folder");
    }

    private static readonly string[] OrdinaryModules =
        ["textwrap.py", "shlex.py", "fnmatch.py", "colorsys.py", "glob.py", "heapq.py", "bisect.py", "calendar.py", "cmd.py",
         "csv.py", "getopt.py", "sched.py", "netrc.py", "graphlib.py"];

    /// <summary>Ordinary code: a real module of python3's stdlib (distinct ones for distinct <paramref name="index"/>).</summary>
    internal static string OrdinaryModule(int index) => File.ReadAllText(Path.Combine(TestSupport.StdlibDir, OrdinaryModules[index]));

    private string Write(string relative, string content)
    {
        string path = Path.Combine(_dir, "src", relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
        return path;
    }

    private Manifest Build(bool decontaminate = false, long maxFileBytes = 1_000_000, bool sft = false) => CorpusBuilder.Build(new PrepareOptions
    {
        Sources = [new CorpusSource("made-up", Path.Combine(_dir, "src"))], OutputDirectory = Path.Combine(_dir, "out"),
        Tokenizer = DefaultTokenizer.Load(), TokenizerName = DefaultTokenizer.Name, ValidFraction = 0, TestFraction = 0,
        DatasetsDirectory = decontaminate ? DatasetsDirectory() : null, MaxFileBytes = maxFileBytes, Sft = sft, Force = true,
    });

    private Dictionary<string, (string Reason, string Detail)> Removed()
    {
        var lines = File.ReadAllLines(Path.Combine(_dir, "out", CorpusBuilder.RemovedFile));
        Assert.Equal("reason\titem\tdetail", lines[0]);
        return lines.Skip(1).Select(l => l.Split('\t')).ToDictionary(f => f[1], f => (f[0], f[2]));
    }

    [Fact]
    public void Each_file_filter_removes_its_case_and_keeps_ordinary_code()
    {
        Write("good/a.py", OrdinaryModule(1));
        Write("good/b.py", OrdinaryModule(2));
        Write("later/copy.py", OrdinaryModule(1));                                     // exact duplicate of good/a.py
        string near = OrdinaryModule(1).Replace("import os", "import os  # changed").Replace("import re", "import re as re");
        Assert.NotEqual(OrdinaryModule(1), near);
        Write("later/near.py", near);                                                   // a few tokens changed
        Write("broken.py", "def f(:\n    return 1\n");                               // our parser rejects it
        var table = new StringBuilder("TABLE = [\n");
        for (int i = 0; i < 600; i++) table.Append($"    0x{i * 37 % 4096:x4}, {i * 11 % 997},\n");
        Write("tables/codes.py", table.Append("]\n").ToString());                   // literal share 1.0 over 1600 literals
        Write("blob.py", OrdinaryModule(8) + "DATA = '" + new string('x', 1500) + "'\n");  // a line over 1000 bytes
        Write("huge.py", OrdinaryModule(3) + "\n#" + new string('x', 100_000) + "\n");   // over the size cap below

        var manifest = Build(maxFileBytes: 100_000);
        var removed = Removed();
        Assert.Equal((RemovalReasons.ExactDuplicate, "made-up:good/a.py"), removed["made-up:later/copy.py"]);
        Assert.Equal((RemovalReasons.NearDuplicate, "made-up:good/a.py"), removed["made-up:later/near.py"]);
        Assert.Equal(RemovalReasons.ParseError, removed["made-up:broken.py"].Reason);
        Assert.Equal(RemovalReasons.DataLike, removed["made-up:tables/codes.py"].Reason);
        Assert.StartsWith("literal share 1.00", removed["made-up:tables/codes.py"].Detail);
        Assert.Equal((RemovalReasons.DataLike, "line of 1509 bytes"), removed["made-up:blob.py"]);
        Assert.Equal(RemovalReasons.TooLarge, removed["made-up:huge.py"].Reason);
        Assert.Equal(6, removed.Count);
        Assert.Equal(["good/a.py", "good/b.py"], manifest.KeptFiles!.Select(f => f.Path));
        Assert.All(manifest.KeptFiles!, f => Assert.Equal("good", f.Package));

        var source = Assert.Single(manifest.Sources!);
        Assert.Equal(8, source.FilesFound);
        Assert.Equal(2, source.FilesKept);
        foreach (string reason in new[] { RemovalReasons.ExactDuplicate, RemovalReasons.NearDuplicate, RemovalReasons.ParseError, RemovalReasons.TooLarge })
            Assert.Equal(1, source.Removed[reason]);
        Assert.Equal(2, source.Removed[RemovalReasons.DataLike]);
        Assert.Equal(manifest.Removed, source.Removed);
        Assert.True(source.FileTokens > 0 && source.Tokens >= source.FileTokens);
        Assert.Equal(manifest.Splits.Values.Sum(s => s.Tokens), source.Tokens);
    }

    [Fact]
    public void Ordinary_modules_are_not_near_duplicates_of_each_other()
    {
        for (int i = 0; i < OrdinaryModules.Length; i++) Write($"pkg{i}/m.py", OrdinaryModule(i));
        var manifest = Build();
        Assert.Equal(OrdinaryModules.Length, manifest.KeptFiles!.Count);
        Assert.Empty(manifest.Removed!);
    }

    [Fact]
    public void A_humaneval_solution_with_other_whitespace_is_removed_and_named()
    {
        var humanEval = BenchmarkTexts.Load(DatasetsDirectory()).Where(t => t.TaskId == "HumanEval/0").ToDictionary(t => t.Part, t => t.Text);
        // Re-indented with two spaces, blank lines dropped, quotes swapped: the same tokens.
        string function = (humanEval["prompt"] + humanEval["canonical_solution"]).Replace("\"\"\"", "'''");
        string reformatted = string.Join("\n", function.Split('\n').Where(l => l.Trim().Length > 0).Select(l => l.Replace("    ", "  ")));
        Assert.DoesNotContain(humanEval["canonical_solution"], reformatted);
        Write("util/helpers.py", OrdinaryModule(5) + "\n\n" + reformatted + "\n\n" + OrdinaryModule(6));
        Write("util/clean.py", OrdinaryModule(7));

        var manifest = Build(decontaminate: true);
        var (reason, detail) = Removed()["made-up:util/helpers.py"];
        Assert.Equal(RemovalReasons.Contaminated, reason);
        Assert.Contains("HumanEval/0 prompt+canonical_solution 100", detail);
        Assert.Equal(["util/clean.py"], manifest.KeptFiles!.Select(f => f.Path));
        Assert.True(manifest.Filters!.BenchmarkParts > 4 * 164);
    }

    [Fact]
    public void The_decontaminator_ignores_shared_idioms_and_catches_copied_tests()
    {
        var decontaminator = Decontaminator.Load(DatasetsDirectory());
        Assert.Empty(decontaminator.Find("for i in range(len(numbers)):\n    if numbers[i] > 0:\n        return True\nreturn False\n"));
        var mbpp = BenchmarkTexts.Load(DatasetsDirectory()).First(t => t.TaskId == "MBPP/2" && t.Part == "tests").Text;
        var matches = decontaminator.Find("def check():\n    " + mbpp.Replace("\n", "\n    "));
        Assert.Contains(matches, m => m.TaskId == "MBPP/2" && m.Part == "tests" && m.Overlap == 1);
    }

    /// <summary>
    /// The issue's planted-contamination check: 20 HumanEval functions (prompt + canonical solution) and 20 MBPP
    /// solutions, drawn with a fixed seed, each embedded in the middle of an ordinary stdlib module; every other one
    /// reformatted (indentation 4 → 2 spaces or tabs → 2 spaces, CRLF → LF, blank lines dropped, quotes swapped
    /// where that still parses). Every planted file must be removed as contaminated, naming its own task.
    /// </summary>
    [Fact]
    public void Every_planted_benchmark_solution_is_removed_and_named()
    {
        var texts = BenchmarkTexts.Load(DatasetsDirectory());
        var random = new Random(15);
        var humanEval = texts.Where(t => t.Part == "prompt+canonical_solution").OrderBy(_ => random.Next()).Take(20);
        var mbpp = texts.Where(t => t.Part == "code" && Parses(t.Text.Replace("\r\n", "\n"))).OrderBy(_ => random.Next()).Take(20);
        var planted = new Dictionary<string, string>();
        int k = 0;
        foreach (var task in humanEval.Concat(mbpp))
        {
            string solution = task.Text.Replace("\r\n", "\n");
            if (k % 2 == 1) solution = Reformat(solution);
            string host = OrdinaryModule(k % OrdinaryModules.Length);
            int middle = host.IndexOf("\ndef ", host.Length / 2, StringComparison.Ordinal);
            if (middle < 0) middle = host.Length - 1;
            string content = host[..(middle + 1)] + "\n" + solution.TrimEnd() + "\n\n" + host[(middle + 1)..];
            Assert.True(Parses(content), task.TaskId);
            string name = $"planted/{task.TaskId.Replace('/', '_')}.py";
            Write(name, content);
            planted["made-up:" + name] = task.TaskId;
            k++;
        }
        Write("clean/textwrap.py", OrdinaryModule(0));
        var manifest = Build(decontaminate: true);
        var removed = Removed();
        foreach (var (file, task) in planted)
        {
            Assert.True(removed.TryGetValue(file, out var removal), $"{file} ({task}) was kept");
            Assert.Equal(RemovalReasons.Contaminated, removal.Reason);
            Assert.Contains(task + " ", removal.Detail);
        }
        Assert.Equal(["clean/textwrap.py"], manifest.KeptFiles!.Select(f => f.Path));
    }

    private static bool Parses(string source) => AnCoder.Syntax.PythonParser.Parse(source).Success;

    private static string Reformat(string code)
    {
        static int Width(string line) => line[..(line.Length - line.TrimStart(' ', '\t').Length)].Replace("\t", "    ").Length;
        var kept = code.Split('\n').Where(l => l.Trim().Length > 0).ToList();
        // Each distinct indentation width is one level (MBPP mixes 1-, 2-, 4-, 5-space and tab indentation).
        var widths = kept.Select(Width).Distinct().Order().ToList();
        var lines = kept.Select(l => new string(' ', 2 * widths.IndexOf(Width(l))) + l.TrimStart(' ', '\t'));
        string reindented = string.Join("\n", lines) + "\n";
        string swapped = new string(reindented.Select(c => c == '\'' ? '"' : c == '"' ? '\'' : c).ToArray());
        return Parses(swapped) ? swapped : reindented;
    }
}
