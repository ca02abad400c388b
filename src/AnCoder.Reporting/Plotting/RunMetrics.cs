using System.Text.Json;
using AnCoder.Anchoring.Runs;

namespace AnCoder.Reporting.Plotting;

/// <summary>The records of one <c>metrics.jsonl</c>, sorted by step with one record per step, plus the warnings met
/// while reading (a truncated last line from a killed run, steps repeated by a resumed run).</summary>
public sealed record RunMetrics(string Path, IReadOnlyList<MetricsRecord> Records, IReadOnlyList<string> Warnings)
{
    public const string FileName = MetricsRecord.FileName;

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
        var byStep = new Dictionary<long, MetricsRecord>();
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
            MetricsRecord record;
            try
            {
                record = MetricsRecord.Parse(line);
            }
            catch (Exception e) when (e is JsonException or MetricsFormatException)
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

    private static bool TryParseCompleteSuffix(string line, out MetricsRecord record)
    {
        for (int start = line.IndexOf('{', 1); start > 0; start = line.IndexOf('{', start + 1))
        {
            try
            {
                record = MetricsRecord.Parse(line[start..]);
                return true;
            }
            catch (Exception e) when (e is JsonException or MetricsFormatException)
            {
            }
        }
        record = null!;
        return false;
    }

    private static string FirstSentence(string message)
    {
        int end = message.IndexOf(". ", StringComparison.Ordinal);
        return end > 0 ? message[..end] : message.TrimEnd('.');
    }
}
