namespace AnCoder.Evaluation.Execution;

/// <summary>Resource limits applied to every run (each one is an rlimit, a cgroup limit, a mount size, or a deadline).</summary>
public sealed record SandboxLimits
{
    /// <summary>Wall-clock deadline of a run, enforced inside each sandbox's init process (and again by its supervisor).</summary>
    public TimeSpan WallTime { get; init; } = TimeSpan.FromSeconds(3);
    /// <summary>RLIMIT_CPU; defaults to the wall time rounded up plus one second.</summary>
    public int? CpuSeconds { get; init; }
    public long AddressSpaceBytes { get; init; } = 2L << 30;
    /// <summary>Memory cgroup limit of each of a run's two sandboxes: all memory, including tmpfs, SysV/POSIX shared
    /// memory, memfd and kernel memory, summed over every process of the sandbox.</summary>
    public long MemoryBytes { get; init; } = 1L << 30;
    public long FileSizeBytes { get; init; } = 16L << 20;
    public int OpenFiles { get; init; } = 128;
    /// <summary>RLIMIT_NPROC for the sandbox's uid (threads count too); the pids cgroup allows a few more.</summary>
    public int Processes { get; init; } = 64;
    /// <summary>Size of the tmpfs that is the program's working directory (charged to the memory cgroup too).</summary>
    public long DirectoryBytes { get; init; } = 32L << 20;
    public int DirectoryInodes { get; init; } = 2048;
    /// <summary>Bytes of stdout and of stderr kept; the rest is read and discarded.</summary>
    public int OutputCaptureBytes { get; init; } = 64 << 10;

    internal int EffectiveCpuSeconds => CpuSeconds ?? (int)Math.Ceiling(WallTime.TotalSeconds) + 1;
}

public sealed record SandboxOptions
{
    public SandboxLimits Limits { get; init; } = new();
    /// <summary>Runs at once; defaults to the number of cores.</summary>
    public int Workers { get; init; } = Environment.ProcessorCount;
    /// <summary>python3 to run (a pyenv shim is resolved to the real interpreter once).</summary>
    public string Python { get; init; } = "python3";
    /// <summary>Worker slot i runs the candidate as uid/gid UidBase + 2i and the tests as UidBase + 2i + 1.</summary>
    public int UidBase { get; init; } = 61000;

    /// <summary>The options every evaluation uses: <paramref name="workers"/> programs at once, each with the given
    /// wall-clock deadline (the paper's 3 s by default) and the default limits otherwise.</summary>
    public static SandboxOptions ForEvaluation(int workers, double timeoutSeconds = 3) => new()
    {
        Workers = Math.Max(1, workers),
        Limits = new SandboxLimits { WallTime = TimeSpan.FromSeconds(timeoutSeconds) },
    };
}
