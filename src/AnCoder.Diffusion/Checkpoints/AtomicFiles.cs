using System.Runtime.InteropServices;

namespace AnCoder.Diffusion.Checkpoints;

/// <summary>
/// Crash-safe writes: data goes to a temporary sibling (same folder, so the rename stays on one file system), is
/// flushed to disk, then renamed over the target; the folder itself is fsync'ed so the rename survives a crash.
/// </summary>
internal static partial class AtomicFiles
{
    public const string TemporaryMarker = ".tmp-";

    /// <summary>Writes <paramref name="path"/> atomically: readers see the old file or the complete new one.</summary>
    public static void Write(string path, Action<FileStream> write)
    {
        string fullPath = Path.GetFullPath(path);
        string folder = Path.GetDirectoryName(fullPath)!;
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"{folder}: folder does not exist");
        string temporary = Path.Combine(folder, $".{Path.GetFileName(fullPath)}{TemporaryMarker}{Guid.NewGuid():N}");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, fullPath, overwrite: true);
            SyncDirectory(folder);
        }
        catch
        {
            TryDeleteFile(temporary);
            throw;
        }
    }

    /// <summary>A fresh, unused sibling of <paramref name="directory"/> to build a replacement in.</summary>
    public static string TemporarySibling(string directory, string kind = "tmp")
    {
        string fullPath = Path.GetFullPath(directory).TrimEnd(Path.DirectorySeparatorChar);
        string parent = Path.GetDirectoryName(fullPath)!;
        return Path.Combine(parent, $".{Path.GetFileName(fullPath)}.{kind}-{Guid.NewGuid():N}");
    }

    /// <summary>
    /// Moves the finished folder <paramref name="staged"/> to <paramref name="directory"/>. An existing folder is first
    /// renamed aside and deleted only after the new one is in place; if the swap fails the old one is put back.
    /// </summary>
    public static void ReplaceDirectory(string staged, string directory)
    {
        string target = Path.GetFullPath(directory).TrimEnd(Path.DirectorySeparatorChar);
        string parent = Path.GetDirectoryName(target)!;
        SyncDirectory(staged);
        if (!Directory.Exists(target) && !File.Exists(target))
        {
            Directory.Move(staged, target);
            SyncDirectory(parent);
            return;
        }
        if (File.Exists(target)) throw new IOException($"{target}: exists and is a file, not a checkpoint folder");
        string aside = TemporarySibling(target, "old");
        Directory.Move(target, aside);
        try
        {
            Directory.Move(staged, target);
        }
        catch
        {
            Directory.Move(aside, target);
            throw;
        }
        SyncDirectory(parent);
        TryDeleteDirectory(aside);
    }

    public static void TryDeleteFile(string path)
    {
        try { if (File.Exists(path)) File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    public static void TryDeleteDirectory(string path)
    {
        try { if (Directory.Exists(path)) Directory.Delete(path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>fsync on a folder (POSIX only; best effort elsewhere): makes renames inside it durable.</summary>
    public static void SyncDirectory(string folder)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return;
        int descriptor = open(folder, 0 /* O_RDONLY */);
        if (descriptor < 0) return;
        try { fsync(descriptor); } finally { close(descriptor); }
    }

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int open(string path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fsync(int descriptor);

    [LibraryImport("libc")]
    private static partial int close(int descriptor);
}
