using System.Text;
using System.Text.Json;
using AnCoder.Anchoring.Runs;

namespace AnCoder.Diffusion.Training;

/// <summary>How a run ended.</summary>
public enum TrainingStatus
{
    /// <summary>All steps done; final checkpoint and model saved.</summary>
    Completed,
    /// <summary>Cancelled (SIGINT/SIGTERM or the caller's token): the current step finished and was checkpointed.</summary>
    Interrupted,
    /// <summary>The loss or gradient became NaN/inf: stopped without saving; the last good checkpoint is kept.</summary>
    Diverged,
}

/// <summary>
/// What a run did. <see cref="ModelDirectory"/>: a folder <c>ModelCheckpoint.Load</c> reads: the final model when
/// completed, the checkpoint just written when interrupted, null when diverged.
/// </summary>
public sealed record TrainingSummary(TrainingStatus Status, long Steps, long TotalSteps, long Tokens, double WallSeconds,
    double LastLoss, double? LastValidNelbo, string OutputDirectory, string? LastCheckpoint, string? ModelDirectory, string Message);

/// <summary>Start of a run: shape of the work.</summary>
public sealed record TrainingStart(long StartStep, long TotalSteps, long Parameters, string Strategy, string? ResumedFrom,
    long TrainRows, long ValidRows, int Threads);

/// <summary>One optimizer step's figures (losses are the means over the step's micro-batches).</summary>
public sealed record TrainingProgress(long Step, long TotalSteps, long Tokens, double Loss, double DenoiserNll, double AnchorNll,
    double LearningRate, double GradNorm, double TokensPerSecond, TimeSpan Elapsed, TimeSpan? Remaining);

/// <summary>Receives run events (all on the training thread). Every method has an empty default.</summary>
public interface ITrainingObserver
{
    void OnStart(TrainingStart start) { }
    void OnStep(TrainingProgress progress) { }
    void OnMetrics(MetricsRecord record) { }
    /// <summary>Warnings and notices (an ignored checkpoint, a checkpoint written, validation skipped...).</summary>
    void OnMessage(string message) { }
}

/// <summary>Appends metrics lines (flushed per line). On resume, lines after the checkpoint's step are dropped first.</summary>
public sealed class MetricsLog : IDisposable
{
    private readonly StreamWriter _writer;

    public MetricsLog(string runDirectory, long keepThroughStep)
    {
        string path = Path.Combine(runDirectory, MetricsRecord.FileName);
        if (File.Exists(path)) TruncateAfter(path, keepThroughStep);
        _writer = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read), new UTF8Encoding(false));
    }

    public void Append(MetricsRecord record)
    {
        _writer.Write(record.ToJsonLine());
        _writer.Write('\n');
        _writer.Flush();
    }

    /// <summary>Keeps the lines whose step is at most <paramref name="step"/> (and drops a torn last line).</summary>
    internal static void TruncateAfter(string path, long step)
    {
        var kept = new List<string>();
        foreach (string line in File.ReadAllLines(path))
        {
            try
            {
                using var document = JsonDocument.Parse(line);
                if (document.RootElement.GetProperty("step").GetInt64() <= step) kept.Add(line);
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
            {
                // A line cut short by a kill: dropped.
            }
        }
        string text = kept.Count == 0 ? "" : string.Join('\n', kept) + "\n";
        Checkpoints.AtomicFiles.Write(path, stream => stream.Write(Encoding.UTF8.GetBytes(text)));
    }

    public void Dispose() => _writer.Dispose();
}

/// <summary>A user-facing training failure (bad data, disk full, incompatible checkpoint): one clear line.</summary>
public sealed class TrainingException(string message, Exception? inner = null) : Exception(message, inner);
