using System.Diagnostics;
using System.Globalization;

namespace AnCoder.Experiments.Repro;

/// <summary>Who holds a claim: a process id and its start time (so a reused pid is not mistaken for the holder).</summary>
public sealed record ClaimOwner(int ProcessId, long StartTicks)
{
    /// <summary>This process.</summary>
    public static ClaimOwner Current { get; } = new(Environment.ProcessId, StartTicksOf(Process.GetCurrentProcess()));

    internal static long StartTicksOf(Process process) => process.StartTime.ToUniversalTime().Ticks;

    public string Serialize() => string.Create(CultureInfo.InvariantCulture, $"{ProcessId} {StartTicks}\n");

    public static ClaimOwner? Parse(string text)
    {
        var parts = text.Split((char[])[' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
        return parts.Length == 2 && int.TryParse(parts[0], CultureInfo.InvariantCulture, out int pid) && long.TryParse(parts[1], CultureInfo.InvariantCulture, out long ticks)
            ? new ClaimOwner(pid, ticks) : null;
    }

    /// <summary>True while the process with this id runs and started at this time (to the second).</summary>
    public static bool IsAlive(ClaimOwner owner)
    {
        try
        {
            using var process = Process.GetProcessById(owner.ProcessId);
            if (process.HasExited) return false;
            return Math.Abs(StartTicksOf(process) - owner.StartTicks) < TimeSpan.TicksPerSecond;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }
}

/// <summary>
/// Exclusive claims on work items shared by several worker processes: the claim of item K is the file
/// LOCKS/K.lock, created with <see cref="FileMode.CreateNew"/> (atomic: one creator wins) and holding the owner's pid.
/// A lock whose owner is dead (a killed worker) is taken over; the takeover itself is claimed with K.lock.takeover so
/// that two workers that both find the dead lock do not both run the item.
/// </summary>
public sealed class WorkClaims(string folder, ClaimOwner owner, Func<ClaimOwner, bool>? isAlive = null)
{
    private readonly Func<ClaimOwner, bool> _isAlive = isAlive ?? ClaimOwner.IsAlive;

    public string Folder { get; } = folder;
    public ClaimOwner Owner { get; } = owner;

    /// <summary>A lock file name for an item key (path separators become '+').</summary>
    public string PathOf(string key) => Path.Combine(Folder, key.Replace('/', '+').Replace('\\', '+') + ".lock");

    /// <summary>The owner of an item's lock, or null when nobody (alive or dead) holds it.</summary>
    public ClaimOwner? Holder(string key) => ReadOwner(PathOf(key));

    /// <summary>True when a live process other than this one holds the item.</summary>
    public bool HeldByOther(string key) => Holder(key) is { } holder && holder != Owner && _isAlive(holder);

    /// <summary>Claims the item; null when a live owner (another worker, or this one) holds it.</summary>
    public Claim? TryClaim(string key)
    {
        Directory.CreateDirectory(Folder);
        string path = PathOf(key);
        if (TryCreate(path)) return new Claim(this, path);
        var holder = ReadOwner(path);
        if (holder is not null && _isAlive(holder)) return null;
        // Dead (or unreadable: a worker killed between creating and writing) holder: take the lock over, once.
        string takeover = path + ".takeover";
        if (!TryCreate(takeover))
        {
            var other = ReadOwner(takeover);
            if (other is not null && _isAlive(other)) return null;
            TryDelete(takeover);
            if (!TryCreate(takeover)) return null;
        }
        try
        {
            var again = ReadOwner(path);
            if (again is not null && _isAlive(again)) return null;
            TryDelete(path);
            return TryCreate(path) ? new Claim(this, path) : null;
        }
        finally
        {
            TryDelete(takeover);
        }
    }

    private bool TryCreate(string path)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read);
            using var writer = new StreamWriter(stream);
            writer.Write(Owner.Serialize());
            return true;
        }
        catch (IOException) when (File.Exists(path))
        {
            return false;
        }
    }

    private static ClaimOwner? ReadOwner(string path)
    {
        try
        {
            return File.Exists(path) ? ClaimOwner.Parse(File.ReadAllText(path)) ?? new ClaimOwner(0, 0) : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // someone else removed or holds it: nothing to clean up
        }
    }

    /// <summary>A held claim; disposing releases it (the file is removed if it is still this owner's).</summary>
    public sealed class Claim(WorkClaims claims, string path) : IDisposable
    {
        public string Path { get; } = path;

        public void Dispose()
        {
            if (ReadOwner(Path) == claims.Owner) TryDelete(Path);
        }
    }
}
