using AnCoder.Experiments.Repro;

namespace AnCoder.Experiments.Tests;

/// <summary>
/// An <see cref="IReproProgress"/> that keeps every message and stage description, the first and the largest step
/// reported (and can cancel at a step), for the repro, recipe and torch-engine driver tests. Messages may come from
/// the engine's output thread, so the list is locked.
/// </summary>
internal sealed class RecordingProgress : IReproProgress
{
    public List<string> Lines { get; } = [];
    public (long Step, CancellationTokenSource Source)? CancelAtStep { get; init; }
    public long? FirstAdvance { get; private set; }
    public long MaxAdvance { get; private set; }

    public void Message(string line) { lock (Lines) Lines.Add(line); }
    public void Begin(string description, long total) { lock (Lines) Lines.Add(description); }
    public void Advance(long done)
    {
        FirstAdvance ??= done;
        MaxAdvance = Math.Max(MaxAdvance, done);
        if (CancelAtStep is { } stop && done >= stop.Step) stop.Source.Cancel();
    }
    public void End() { }
}
