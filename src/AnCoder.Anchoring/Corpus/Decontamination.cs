using System.IO.Compression;
using System.Text;
using System.Text.Json;

namespace AnCoder.Anchoring.Corpus;

/// <summary>One text of a benchmark task that must not appear in training data (a prompt, a solution, its tests).</summary>
public sealed record BenchmarkText(string TaskId, string Part, string Text);

/// <summary>
/// Reads the benchmark texts decontamination checks against, straight from the published files (HumanEval.jsonl.gz,
/// mbpp.jsonl). Kept here, not in AnCoder.Evaluation, because Anchoring must not depend on Evaluation (docs/corpus.md):
/// only the fields' text is needed, not the evaluation's problem model.
/// </summary>
public static class BenchmarkTexts
{
    public const string HumanEvalFile = "humaneval/HumanEval.jsonl.gz", MbppFile = "mbpp/mbpp.jsonl";

    /// <summary>HumanEval: prompt, canonical_solution, prompt + canonical_solution (the whole function), test.
    /// MBPP: text, code, tests (test_setup_code, test_list, challenge_test_list).</summary>
    public static List<BenchmarkText> Load(string datasetsDirectory)
    {
        var texts = new List<BenchmarkText>();
        string humanEval = Path.Combine(datasetsDirectory, HumanEvalFile), mbpp = Path.Combine(datasetsDirectory, MbppFile);
        foreach (var (line, number) in Lines(humanEval, gzip: true))
        {
            var row = Parse(line, humanEval, number);
            string id = Field(row, "task_id", humanEval, number), prompt = Field(row, "prompt", humanEval, number);
            string solution = Field(row, "canonical_solution", humanEval, number);
            texts.Add(new(id, "prompt", prompt));
            texts.Add(new(id, "canonical_solution", solution));
            texts.Add(new(id, "prompt+canonical_solution", prompt + solution));
            texts.Add(new(id, "test", Field(row, "test", humanEval, number)));
        }
        foreach (var (line, number) in Lines(mbpp, gzip: false))
        {
            var row = Parse(line, mbpp, number);
            string id = "MBPP/" + row.GetProperty("task_id").GetInt32();
            texts.Add(new(id, "text", Field(row, "text", mbpp, number)));
            texts.Add(new(id, "code", Field(row, "code", mbpp, number)));
            var tests = new StringBuilder();
            if (row.TryGetProperty("test_setup_code", out var setup) && setup.ValueKind == JsonValueKind.String) tests.Append(setup.GetString()).Append('\n');
            foreach (string list in new[] { "test_list", "challenge_test_list" })
                if (row.TryGetProperty(list, out var items) && items.ValueKind == JsonValueKind.Array)
                    foreach (var item in items.EnumerateArray()) tests.Append(item.GetString()).Append('\n');
            texts.Add(new(id, "tests", tests.ToString()));
        }
        return texts;
    }

    private static IEnumerable<(string Line, int Number)> Lines(string path, bool gzip)
    {
        Stream stream;
        try
        {
            stream = File.OpenRead(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidDataException($"{path}: cannot read the benchmark ({e.Message})");
        }
        using (stream)
        {
            using var reader = new StreamReader(gzip ? new GZipStream(stream, CompressionMode.Decompress) : stream, Encoding.UTF8);
            int number = 0;
            while (reader.ReadLine() is { } line)
            {
                number++;
                if (line.Length > 0) yield return (line, number);
            }
        }
    }

    private static JsonElement Parse(string line, string path, int number)
    {
        try
        {
            return JsonDocument.Parse(line).RootElement;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}:{number}: not JSON ({e.Message})");
        }
    }

    private static string Field(JsonElement row, string name, string path, int number) =>
        row.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : throw new InvalidDataException($"{path}:{number}: no string field `{name}`");
}

/// <summary>A benchmark text found in a training text: which task and part, and the share of the part's n-grams present.</summary>
public sealed record ContaminationMatch(string TaskId, string Part, double Overlap)
{
    public override string ToString() => $"{TaskId} {Part} {Overlap:P0}";
}

/// <summary>
/// Token n-gram decontamination (docs/corpus.md). Texts are compared as <see cref="CodeScan"/> token streams (no
/// whitespace, quotes unified), with n = 10 as in OpenCoder's and StarCoder-style 10-gram matching: ten
/// code tokens is about one line, long enough that ordinary code rarely shares one with a benchmark by accident
/// and short enough that a copy survives reformatting. A training text is contaminated by a benchmark part when it
/// contains at least <see cref="MinOverlap"/> of the part's distinct n-grams (a copy has all of them; a few shared
/// idioms do not make half of a solution). Parts shorter than n tokens cannot be matched and are skipped (a
/// HumanEval body that short is still covered by its prompt + solution part).
/// </summary>
public sealed class Decontaminator
{
    public const int N = 10;
    public const double MinOverlap = 0.5;

    private readonly List<(BenchmarkText Text, int Grams)> _parts = new();
    private readonly Dictionary<ulong, List<int>> _index = new();

    public Decontaminator(IEnumerable<BenchmarkText> texts)
    {
        foreach (var text in texts)
        {
            var grams = CodeScan.NGrams(CodeScan.Scan(Encoding.UTF8.GetBytes(text.Text)).Tokens, N).Distinct().ToArray();
            if (grams.Length == 0) { SkippedParts++; continue; }
            int part = _parts.Count;
            _parts.Add((text, grams.Length));
            foreach (ulong gram in grams)
            {
                if (!_index.TryGetValue(gram, out var list)) _index[gram] = list = new List<int>(1);
                list.Add(part);
            }
        }
    }

    public int Parts => _parts.Count;
    public int SkippedParts { get; }

    public static Decontaminator Load(string datasetsDirectory) => new(BenchmarkTexts.Load(datasetsDirectory));

    /// <summary>The benchmark parts the token stream contains, best overlap first (empty when clean).</summary>
    public List<ContaminationMatch> Find(ReadOnlySpan<ulong> tokens)
    {
        var grams = CodeScan.NGrams(tokens, N);
        Dictionary<int, HashSet<ulong>>? found = null;
        foreach (ulong gram in grams)
        {
            if (!_index.TryGetValue(gram, out var parts)) continue;
            found ??= new Dictionary<int, HashSet<ulong>>();
            foreach (int part in parts)
            {
                if (!found.TryGetValue(part, out var set)) found[part] = set = new HashSet<ulong>();
                set.Add(gram);
            }
        }
        var matches = new List<ContaminationMatch>();
        if (found is null) return matches;
        foreach (var (part, set) in found)
        {
            double overlap = (double)set.Count / _parts[part].Grams;
            if (overlap >= MinOverlap) matches.Add(new ContaminationMatch(_parts[part].Text.TaskId, _parts[part].Text.Part, overlap));
        }
        return matches.OrderByDescending(m => m.Overlap).ThenBy(m => m.TaskId, StringComparer.Ordinal).ThenBy(m => m.Part, StringComparer.Ordinal).ToList();
    }

    /// <summary>Finds contamination in a text.</summary>
    public List<ContaminationMatch> Find(string text) => Find(CodeScan.Scan(Encoding.UTF8.GetBytes(text)).Tokens);
}
