using System.Runtime.InteropServices;

namespace AnCoder.Cli.Commands;

/// <summary>
/// Ctrl+C and SIGTERM for long jobs (train, repro): the first one cancels <see cref="Source"/> so the job finishes its
/// step, checkpoints and exits cleanly; a second Ctrl+C ends the process (checkpoints are atomic, so that is safe).
/// </summary>
public sealed class StopSignals : IDisposable
{
    private readonly ConsoleCancelEventHandler _onCancel;
    private readonly PosixSignalRegistration _onTerm;

    private StopSignals()
    {
        _onCancel = (_, e) =>
        {
            if (Source.IsCancellationRequested) return;
            e.Cancel = true;
            Source.Cancel();
        };
        Console.CancelKeyPress += _onCancel;
        _onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            Source.Cancel();
        });
    }

    public CancellationTokenSource Source { get; } = new();

    public CancellationToken Token => Source.Token;

    public static StopSignals Listen() => new();

    public void Dispose()
    {
        Console.CancelKeyPress -= _onCancel;
        _onTerm.Dispose();
        Source.Dispose();
    }
}
