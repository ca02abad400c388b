using System.Text.Json;

namespace AnCoder.Reporting.Plotting;

/// <summary>The records of one <c>metrics.jsonl</c>, sorted by step with one record per step, plus the warnings met
/// while reading (a truncated last line from a killed run, steps repeated by a resumed run).</summary>
public sealed record RunMetrics(string Path, IReadOnlyList<MetricRecord> Records, IReadOnlyList<string> Warnings)
{
    public const string FileName = "metrics.jsonl";

    /// <summary>Reads and validates a metrics file. Throws <see cref="PlotException"/> ("file:line: what was wrong")
    /// for a missing or empty file and for any malformed line except an unterminated last one, which a process killed
    /// mid-write leaves behind: that one is skipped with a warning. A step logged twice (a resumed run replays the
    /// steps after its last checkpoint) keeps the record written last.</summary>
    public static RunMetrics Read(string path)
    {
        if (!File.Exists(path)) throw new PlotException($"{path} not found");
        string text;
        try
        {
            // ReadWrite sharing: a live run keeps the file open for appending while we plot it.
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream, System.Text.Encoding.UTF8);
            text = reader.ReadToEnd();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new PlotException($"cannot read {path}: {e.Message}");
        }
        return Parse(text, path);
    }

    /// <summary>Parses the text of a metrics file; <paramref name="path"/> only names it in messages.</summary>
    public static RunMetrics Parse(string text, string path)
    {
        if (string.IsNullOrWhiteSpace(text)) throw new PlotException($"{path} is empty: no metrics were logged yet");
        var warnings = new List<string>();
        var byStep = new Dictionary<long, MetricRecord>();
        var order = new List<long>();
        int replaced = 0;
        string[] lines = text.Split('\n');
        // Split leaves "" after a final newline; a last element with text is a line the writer never finished.
        bool lastIsUnterminated = lines[^1].Length > 0;
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].TrimEnd('\r');
            if (line.Trim().Length == 0) continue;
            int lineNumber = i + 1;
            bool isLast = i == lines.Length - 1;
            MetricRecord record;
            try
            {
                record = ParseLine(line);
            }
            catch (Exception e) when (e is JsonException or LineException)
            {
                if (isLast && lastIsUnterminated)
                {
                    warnings.Add($"{path}:{lineNumber}: ignored the unfinished last line (the run was probably killed while writing it)");
                    continue;
                }
                // A run killed mid-line and then resumed appends its next record to the unfinished one.
                if (TryParseCompleteSuffix(line, out var suffix))
                {
                    warnings.Add($"{path}:{lineNumber}: an unfinished record (killed run) runs into a complete one; kept the complete one");
                    record = suffix;
                }
                else
                {
                    string what = e is JsonException json ? $"not valid JSON ({FirstSentence(json.Message)})" : e.Message;
                    throw new PlotException($"{path}:{lineNumber}: {what}");
                }
            }
            if (byStep.ContainsKey(record.Step)) replaced++;
            else order.Add(record.Step);
            byStep[record.Step] = record;
        }
        if (byStep.Count == 0) throw new PlotException($"{path} has no complete record");
        if (replaced > 0)
            warnings.Add($"{path}: {replaced} step(s) logged more than once (resumed run); kept the last record of each");
        order.Sort();
        return new RunMetrics(path, order.Select(step => byStep[step]).ToList(), warnings);
    }

    private sealed class LineException(string message) : Exception(message);

    private static MetricRecord ParseLine(string line)
    {
        using var document = JsonDocument.Parse(line);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw new LineException($"expected a JSON object, found {Describe(root.ValueKind)}");
        if (!root.TryGetProperty("step", out var stepElement)) throw new LineException("missing \"step\"");
        if (stepElement.ValueKind != JsonValueKind.Number || !stepElement.TryGetInt64(out long step))
            throw new LineException($"\"step\" must be an integer, found {stepElement.GetRawText()}");
        if (step < 0) throw new LineException($"\"step\" must not be negative, found {step}");
        string? strategy = null;
        if (root.TryGetProperty("strategy", out var strategyElement) && strategyElement.ValueKind != JsonValueKind.Null)
        {
            if (strategyElement.ValueKind != JsonValueKind.String)
                throw new LineException($"\"strategy\" must be a string, found {strategyElement.GetRawText()}");
            strategy = strategyElement.GetString();
        }
        return new MetricRecord(step, Number(root, "tokens"), Number(root, "wall_seconds"), Number(root, "lr"), Number(root, "loss"),
            Number(root, "denoiser_nll"), Number(root, "anchor_nll"), Number(root, "grad_norm"), Number(root, "tokens_per_second"),
            strategy, Number(root, "valid_nelbo"));
    }

    /// <summary>A numeric field, NaN when absent or null. "NaN"/"Infinity" strings are accepted: System.Text.Json
    /// writes non-finite doubles that way (a diverged loss must still be plottable up to where it diverged).</summary>
    private static double Number(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var element) || element.ValueKind == JsonValueKind.Null) return double.NaN;
        if (element.ValueKind == JsonValueKind.Number) return element.GetDouble();
        if (element.ValueKind == JsonValueKind.String)
        {
            switch (element.GetString())
            {
                case "NaN": return double.NaN;
                case "Infinity": return double.PositiveInfinity;
                case "-Infinity": return double.NegativeInfinity;
            }
        }
        throw new LineException($"\"{name}\" must be a number, found {element.GetRawText()}");
    }

    private static bool TryParseCompleteSuffix(string line, out MetricRecord record)
    {
        for (int start = line.IndexOf('{', 1); start > 0; start = line.IndexOf('{', start + 1))
        {
            try
            {
                record = ParseLine(line[start..]);
                return true;
            }
            catch (Exception e) when (e is JsonException or LineException)
            {
            }
        }
        record = null!;
        return false;
    }

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };

    private static string FirstSentence(string message)
    {
        int end = message.IndexOf(". ", StringComparison.Ordinal);
        return end > 0 ? message[..end] : message.TrimEnd('.');
    }
}
