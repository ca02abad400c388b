using System.Text.Json;

namespace AnCoder.Evaluation.Scoring;

/// <summary>
/// results.jsonl, written one flushed line per sample as results arrive, so an interrupted run keeps everything it
/// finished; reopening with resume reads those lines back (a torn last line from a crash is ignored and rewritten).
/// </summary>
public sealed class ResultsJournal : IDisposable
{
    private static readonly JsonSerializerOptions LineOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private readonly StreamWriter _writer;
    private readonly List<SampleResult> _results = [];

    private ResultsJournal(string path, bool resume)
    {
        Path = path;
        var directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
        if (directory is not null && !Directory.Exists(directory))
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        if (resume && File.Exists(path))
        {
            _results.AddRange(Read(path));
            WritePrivate(path, string.Concat(_results.Select(r => JsonSerializer.Serialize(r, LineOptions) + "\n")));
        }
        _writer = new StreamWriter(OpenPrivate(path, resume ? FileMode.Append : FileMode.Create)) { AutoFlush = true };
    }

    /// <summary>
    /// Results hold completions (possibly correct ones: an answer key for a later program), so they are readable by
    /// their owner only (0600); the sandbox does not show them anyway.
    /// </summary>
    public static void WritePrivate(string path, string text)
    {
        using var writer = new StreamWriter(OpenPrivate(path, FileMode.Create));
        writer.Write(text);
    }

    private static FileStream OpenPrivate(string path, FileMode mode)
    {
        var options = new FileStreamOptions { Mode = mode, Access = FileAccess.Write, Share = FileShare.Read };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        var stream = new FileStream(path, options);
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return stream;
    }

    public string Path { get; }
    public IReadOnlyList<SampleResult> Results => _results;

    public static ResultsJournal Open(string path, bool resume) => new(path, resume);

    /// <summary>The results in a journal file, read only; a torn final line (from a crash) is skipped.</summary>
    public static List<SampleResult> Read(string path)
    {
        var results = new List<SampleResult>();
        foreach (var line in File.ReadLines(path))
        {
            if (string.IsNullOrWhiteSpace(line))
                continue;
            try
            {
                if (JsonSerializer.Deserialize<SampleResult>(line) is { } result)
                    results.Add(result);
            }
            catch (JsonException)
            {
                // Only a torn final line can be malformed; a resumed run drops it and redoes that sample.
            }
        }
        return results;
    }

    public bool Contains(string taskId, int sampleIndex) => _results.Any(r => r.TaskId == taskId && r.SampleIndex == sampleIndex);

    public int CountFor(string taskId) => _results.Count(r => r.TaskId == taskId);

    public void Append(SampleResult result)
    {
        lock (_writer)
        {
            _writer.WriteLine(JsonSerializer.Serialize(result, LineOptions));
            _results.Add(result);
        }
    }

    public void Dispose() => _writer.Dispose();
}
