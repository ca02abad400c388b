using AnCoder.Experiments.Repro;

namespace AnCoder.Experiments.Tests;

/// <summary>An <see cref="IReproProgress"/> that keeps every message and stage description (and can cancel at a step) for the repro and recipe driver tests.</summary>
internal sealed class RecordingProgress : IReproProgress
{
    public List<string> Lines { get; } = [];
    public (long Step, CancellationTokenSource Source)? CancelAtStep { get; init; }
    public long? FirstAdvance { get; private set; }

    public void Message(string line) => Lines.Add(line);
    public void Begin(string description, long total) => Lines.Add(description);
    public void Advance(long done)
    {
        FirstAdvance ??= done;
        if (CancelAtStep is { } stop && done >= stop.Step) stop.Source.Cancel();
    }
    public void End() { }
}
