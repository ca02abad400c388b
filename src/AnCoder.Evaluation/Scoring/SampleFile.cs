using System.Text.Json;
using AnCoder.Evaluation.Benchmarks;

namespace AnCoder.Evaluation.Scoring;

/// <summary>
/// One completion to score. Index counts the samples of the same task in file order, from 0. HitLengthCap: the
/// generator filled its whole length budget without ending the text (no end-of-sequence, no stop sequence), so the
/// last line may be cut mid-way (<see cref="NonTrivialValidity"/> judges the text up to its last complete line).
/// </summary>
public sealed record Sample(string TaskId, int Index, string Completion, bool HitLengthCap = false);

public sealed class SampleFileException(string message) : Exception(message);

/// <summary>
/// Reads samples as the community writes them: JSON lines of <c>{"task_id": ..., "completion": ...}</c> (HumanEval:
/// the text after the prompt, as openai/human-eval reads it; MBPP: the whole solution; MBPP ids may be numbers).
/// Any malformed line is an error naming the file and line: nothing is dropped silently.
/// </summary>
public static class SampleFile
{
    public static List<Sample> Read(string path, Benchmark benchmark)
    {
        if (!File.Exists(path))
            throw new SampleFileException($"samples file not found: {path}");
        using var reader = new StreamReader(path);
        return Read(reader, path, benchmark);
    }

    public static List<Sample> Read(TextReader reader, string displayName, Benchmark benchmark)
    {
        var samples = new List<Sample>();
        var perTask = new Dictionary<string, int>(StringComparer.Ordinal);
        var lineNumber = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
                continue;
            string Where() => $"{displayName}:{lineNumber}";
            JsonElement root;
            try
            {
                using var document = JsonDocument.Parse(line);
                root = document.RootElement.Clone();
            }
            catch (JsonException e)
            {
                throw new SampleFileException($"{Where()}: not valid JSON ({e.Message})");
            }
            if (root.ValueKind != JsonValueKind.Object)
                throw new SampleFileException($"{Where()}: expected a JSON object with \"task_id\" and \"completion\"");
            if (!root.TryGetProperty("task_id", out var idElement))
                throw new SampleFileException($"{Where()}: missing field \"task_id\"");
            var taskId = idElement.ValueKind switch
            {
                JsonValueKind.String => idElement.GetString()!,
                JsonValueKind.Number when benchmark.Kind == BenchmarkKind.Mbpp => idElement.GetRawText(),
                _ => throw new SampleFileException($"{Where()}: \"task_id\" must be a string{(benchmark.Kind == BenchmarkKind.Mbpp ? " or a number" : "")}"),
            };
            if (!benchmark.TryGetProblem(taskId, out var problem))
                throw new SampleFileException($"{Where()}: unknown task_id \"{taskId}\" for {benchmark.Name}");
            if (!root.TryGetProperty("completion", out var completionElement))
                throw new SampleFileException($"{Where()}: missing field \"completion\"");
            if (completionElement.ValueKind != JsonValueKind.String)
                throw new SampleFileException($"{Where()}: \"completion\" must be a string");
            var index = perTask.GetValueOrDefault(problem.TaskId);
            perTask[problem.TaskId] = index + 1;
            // Optional: whether the generator ran into its length cap (see Sample); absent means it did not.
            bool hitLengthCap = root.TryGetProperty("hit_length_cap", out var capElement) && capElement.ValueKind == JsonValueKind.True;
            samples.Add(new Sample(problem.TaskId, index, completionElement.GetString()!, hitLengthCap));
        }
        return samples;
    }
}
