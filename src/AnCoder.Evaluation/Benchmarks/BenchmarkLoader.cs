using System.IO.Compression;
using System.Text.Json;

namespace AnCoder.Evaluation.Benchmarks;

public sealed class BenchmarkDataException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Reads the benchmarks in their published formats.</summary>
public static class BenchmarkLoader
{
    public const string HumanEvalRelativePath = "humaneval/HumanEval.jsonl.gz";
    public const string MbppRelativePath = "mbpp/mbpp.jsonl";

    /// <summary>MBPP's standard test split (task ids 11–510).</summary>
    public const int MbppTestFirst = 11, MbppTestLast = 510;

    public static Benchmark Load(BenchmarkKind kind, string dataDirectory, bool mbppTestSplitOnly = false) => kind switch
    {
        BenchmarkKind.HumanEval => LoadHumanEval(Path.Combine(dataDirectory, HumanEvalRelativePath)),
        _ => LoadMbpp(Path.Combine(dataDirectory, MbppRelativePath), mbppTestSplitOnly),
    };

    /// <summary>HumanEval.jsonl.gz (or an uncompressed .jsonl): task_id, prompt, canonical_solution, test, entry_point.</summary>
    public static Benchmark LoadHumanEval(string path)
    {
        var problems = new List<BenchmarkProblem>();
        foreach (var (lineNumber, root) in ReadJsonLines(path))
        {
            string Field(string name) => RequiredString(root, name, path, lineNumber);
            problems.Add(new BenchmarkProblem(Field("task_id"), Field("prompt"), Field("canonical_solution"),
                Field("test"), Field("entry_point"), SetupCode: "", TestList: []));
        }
        return new Benchmark(BenchmarkKind.HumanEval, problems);
    }

    /// <summary>mbpp.jsonl: task_id, text, code, test_list, test_setup_code (challenge_test_list is not scored).</summary>
    public static Benchmark LoadMbpp(string path, bool testSplitOnly = false)
    {
        var problems = new List<BenchmarkProblem>();
        foreach (var (lineNumber, root) in ReadJsonLines(path))
        {
            if (!root.TryGetProperty("task_id", out var idElement) || idElement.ValueKind != JsonValueKind.Number)
                throw new BenchmarkDataException($"{path}:{lineNumber}: missing numeric \"task_id\"");
            var taskNumber = idElement.GetInt32();
            if (testSplitOnly && (taskNumber < MbppTestFirst || taskNumber > MbppTestLast))
                continue;
            if (!root.TryGetProperty("test_list", out var testsElement) || testsElement.ValueKind != JsonValueKind.Array)
                throw new BenchmarkDataException($"{path}:{lineNumber}: missing array \"test_list\"");
            var tests = testsElement.EnumerateArray().Select(t => t.GetString() ?? "").ToList();
            var text = RequiredString(root, "text", path, lineNumber);
            var setup = root.TryGetProperty("test_setup_code", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString()! : "";
            problems.Add(new BenchmarkProblem(taskNumber.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ProgramAssembly.MbppPrompt(text, tests), RequiredString(root, "code", path, lineNumber),
                Test: "", EntryPoint: "", setup, tests));
        }
        return new Benchmark(BenchmarkKind.Mbpp, problems);
    }

    private static string RequiredString(JsonElement root, string name, string path, int lineNumber) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : throw new BenchmarkDataException($"{path}:{lineNumber}: missing string field \"{name}\"");

    private static IEnumerable<(int LineNumber, JsonElement Root)> ReadJsonLines(string path)
    {
        if (!File.Exists(path))
            throw new BenchmarkDataException($"benchmark file not found: {path}");
        using var file = File.OpenRead(path);
        using Stream stream = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionMode.Decompress) : file;
        using var reader = new StreamReader(stream);
        var lineNumber = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
                continue;
            JsonElement root;
            try
            {
                using var document = JsonDocument.Parse(line);
                root = document.RootElement.Clone();
            }
            catch (JsonException e)
            {
                throw new BenchmarkDataException($"{path}:{lineNumber}: not valid JSON: {e.Message}", e);
            }
            yield return (lineNumber, root);
        }
    }
}
