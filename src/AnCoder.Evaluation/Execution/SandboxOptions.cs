namespace AnCoder.Evaluation.Execution;

/// <summary>Resource limits applied to every program (each one is an rlimit, a mount size, or the host's deadline).</summary>
public sealed record SandboxLimits
{
    /// <summary>Wall-clock deadline measured by the host; at expiry the program's whole PID namespace is killed.</summary>
    public TimeSpan WallTime { get; init; } = TimeSpan.FromSeconds(3);
    /// <summary>RLIMIT_CPU; defaults to the wall time rounded up plus one second.</summary>
    public int? CpuSeconds { get; init; }
    public long AddressSpaceBytes { get; init; } = 2L << 30;
    public long FileSizeBytes { get; init; } = 16L << 20;
    public int OpenFiles { get; init; } = 128;
    /// <summary>RLIMIT_NPROC for the worker's own uid (threads count too).</summary>
    public int Processes { get; init; } = 64;
    /// <summary>Size of the tmpfs that is the program's working directory.</summary>
    public long DirectoryBytes { get; init; } = 32L << 20;
    public int DirectoryInodes { get; init; } = 2048;
    /// <summary>Bytes of stdout and of stderr kept; the rest is read and discarded.</summary>
    public int OutputCaptureBytes { get; init; } = 64 << 10;

    internal int EffectiveCpuSeconds => CpuSeconds ?? (int)Math.Ceiling(WallTime.TotalSeconds) + 1;
}

public sealed record SandboxOptions
{
    public SandboxLimits Limits { get; init; } = new();
    /// <summary>Programs run at once; defaults to the number of cores.</summary>
    public int Workers { get; init; } = Environment.ProcessorCount;
    /// <summary>python3 to run (a pyenv shim is resolved to the real interpreter once).</summary>
    public string Python { get; init; } = "python3";
    /// <summary>Worker slot i runs programs as uid/gid UidBase + i, so each slot has its own process count.</summary>
    public int UidBase { get; init; } = 61000;
    public string Unshare { get; init; } = "unshare";

    /// <summary>The options every evaluation uses: <paramref name="workers"/> programs at once, each with the given
    /// wall-clock deadline (the paper's 3 s by default) and the default limits otherwise.</summary>
    public static SandboxOptions ForEvaluation(int workers, double timeoutSeconds = 3) => new()
    {
        Workers = Math.Max(1, workers),
        Limits = new SandboxLimits { WallTime = TimeSpan.FromSeconds(timeoutSeconds) },
    };
}
