using System.Buffers.Binary;
using TorchSharp;

namespace AnCoder.Diffusion.Runtime;

/// <summary>
/// Makes TorchSharp 0.107 load on Debian 12 and sets process-wide torch settings. Call <see cref="Initialize"/>
/// before the first <c>torch.*</c> call (the CLI does it at start-up, test projects in a module initializer).
/// </summary>
/// <remarks>
/// <c>libLibTorchSharp.so</c> requires the symbol version <c>GLIBCXX_3.4.32</c> (GCC 13's libstdc++) for a single
/// never-called iostream marker; Debian 12 ships up to 3.4.30, so the load fails with a misleading
/// <c>TypeInitializationException</c>. Marking that one version requirement weak (<c>VER_FLG_WEAK</c>) in the
/// copy next to the app makes glibc ignore it (see docs/torchsharp.md §1). MSBuild re-copies the
/// original on every build, hence the patch at start-up.
/// </remarks>
public static class TorchRuntime
{
    public const string NativeLibraryName = "libLibTorchSharp.so";
    public const string MissingVersion = "GLIBCXX_3.4.32";

    private static readonly object Gate = new();
    private static bool _initialized;

    /// <summary>Patches the native library if needed and checks that a tensor can be created.</summary>
    /// <exception cref="TorchUnavailableException">TorchSharp cannot be loaded; the message says why.</exception>
    public static void Initialize()
    {
        lock (Gate)
        {
            if (_initialized) return;
            foreach (var library in FindNativeLibraries(AppContext.BaseDirectory))
                WeakenVersionRequirement(library, MissingVersion);
            try
            {
                using var probe = torch.zeros(1);
            }
            catch (Exception e)
            {
                throw new TorchUnavailableException(
                    $"TorchSharp could not load its native library from {AppContext.BaseDirectory}: " +
                    $"{Innermost(e).Message} (try `ldd` on {NativeLibraryName} to see the real cause)", e);
            }
            AllocatorTuning = KeepFreedPagesInJemalloc();
            _initialized = true;
        }
    }

    /// <summary>What <see cref="Initialize"/> did to the allocator (for benchmark and diagnostics output).</summary>
    public static string AllocatorTuning { get; private set; } = "not initialized";

    private delegate int MallctlFunction(string name, IntPtr oldValue, IntPtr oldLength, IntPtr newValue, nuint newLength);

    /// <summary>
    /// When jemalloc is preloaded (the launcher and CI do it), stops it from returning freed pages to the kernel
    /// (dirty and muzzy decay −1). A training step frees and re-allocates the same large tensors (B×L×V logits:
    /// tens of MB each); with the default 10 s decay jemalloc hands them back and every re-allocation page-faults
    /// and zeroes them again: measured 2.4M → 0.23M page faults over 14 tiny training steps, ~40 % of the step's
    /// time. RSS stays at the step's peak instead of following it down. MALLOC_CONF set by the user wins.
    /// </summary>
    public static string KeepFreedPagesInJemalloc()
    {
        if (Environment.GetEnvironmentVariable("MALLOC_CONF") is { Length: > 0 } conf) return $"jemalloc MALLOC_CONF={conf} (user's)";
        if (!System.Runtime.InteropServices.NativeLibrary.TryGetExport(
                System.Runtime.InteropServices.NativeLibrary.GetMainProgramHandle(), "mallctl", out var address))
            return "glibc malloc (jemalloc not preloaded)";
        var mallctl = System.Runtime.InteropServices.Marshal.GetDelegateForFunctionPointer<MallctlFunction>(address);
        var value = System.Runtime.InteropServices.Marshal.AllocHGlobal(sizeof(long));
        var length = System.Runtime.InteropServices.Marshal.AllocHGlobal(sizeof(long));
        try
        {
            // "arenas.*" sets the default for arenas created later; existing ones are set one by one.
            System.Runtime.InteropServices.Marshal.WriteInt64(length, sizeof(uint));
            uint arenas = mallctl("arenas.narenas", value, length, IntPtr.Zero, 0) == 0
                ? (uint)System.Runtime.InteropServices.Marshal.ReadInt32(value) : 0;
            var names = new List<string> { "arenas.dirty_decay_ms", "arenas.muzzy_decay_ms" };
            for (uint arena = 0; arena < arenas; arena++)
                names.AddRange([$"arena.{arena}.dirty_decay_ms", $"arena.{arena}.muzzy_decay_ms"]);
            System.Runtime.InteropServices.Marshal.WriteInt64(value, -1);
            // Arenas that were never initialised reject the setting (EFAULT); the "arenas.*" default covers them.
            var failed = names.Where(name => mallctl(name, IntPtr.Zero, IntPtr.Zero, value, sizeof(long)) != 0).ToList();
            return $"jemalloc, freed pages kept (decay -1 on {names.Count - failed.Count} of {names.Count} settings)";
        }
        finally
        {
            System.Runtime.InteropServices.Marshal.FreeHGlobal(value);
            System.Runtime.InteropServices.Marshal.FreeHGlobal(length);
        }
    }

    /// <summary>Every copy of the native library under <paramref name="baseDirectory"/> that the loader may pick.</summary>
    public static IEnumerable<string> FindNativeLibraries(string baseDirectory)
    {
        string[] candidates =
        [
            Path.Combine(baseDirectory, NativeLibraryName),
            Path.Combine(baseDirectory, "runtimes", "linux-x64", "native", NativeLibraryName),
        ];
        return candidates.Where(File.Exists);
    }

    /// <summary>
    /// Sets VER_FLG_WEAK on the <c>.gnu.version_r</c> entry naming <paramref name="version"/> (ELF64 little-endian).
    /// Writes a temp file and renames it over the original, so a crash never leaves a half-written library.
    /// Returns true when the file was changed, false when it was already weak or does not need the version.
    /// </summary>
    public static bool WeakenVersionRequirement(string path, string version)
    {
        byte[] image = File.ReadAllBytes(path);
        var offsets = FindVersionFlagOffsets(image, version);
        bool changed = false;
        foreach (int flagsOffset in offsets)
        {
            ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(image.AsSpan(flagsOffset));
            if ((flags & VerFlagWeak) != 0) continue;
            BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan(flagsOffset), (ushort)(flags | VerFlagWeak));
            changed = true;
        }
        if (!changed) return false;
        string temp = path + $".patch-{Environment.ProcessId}.tmp";
        File.WriteAllBytes(temp, image);
        File.Move(temp, path, overwrite: true);
        return true;
    }

    /// <summary>Whether every requirement of <paramref name="version"/> in the ELF file is weak (or absent).</summary>
    public static bool IsVersionRequirementWeak(string path, string version)
    {
        byte[] image = File.ReadAllBytes(path);
        return FindVersionFlagOffsets(image, version)
            .All(offset => (BinaryPrimitives.ReadUInt16LittleEndian(image.AsSpan(offset)) & VerFlagWeak) != 0);
    }

    private const ushort VerFlagWeak = 2;
    private const uint ShtGnuVerneed = 0x6ffffffe;

    /// <summary>File offsets of the <c>vna_flags</c> fields of the Vernaux entries named <paramref name="version"/>.</summary>
    internal static List<int> FindVersionFlagOffsets(byte[] image, string version)
    {
        var span = image.AsSpan();
        if (span.Length < 64 || span[0] != 0x7f || span[1] != (byte)'E' || span[2] != (byte)'L' || span[3] != (byte)'F')
            throw new InvalidDataException("not an ELF file");
        if (span[4] != 2 || span[5] != 1)
            throw new InvalidDataException("not an ELF64 little-endian file");
        long sectionHeaderOffset = BinaryPrimitives.ReadInt64LittleEndian(span[0x28..]);
        int sectionHeaderSize = BinaryPrimitives.ReadUInt16LittleEndian(span[0x3A..]);
        int sectionCount = BinaryPrimitives.ReadUInt16LittleEndian(span[0x3C..]);
        var result = new List<int>();
        for (int s = 0; s < sectionCount; s++)
        {
            var header = span[(int)(sectionHeaderOffset + s * sectionHeaderSize)..];
            uint type = BinaryPrimitives.ReadUInt32LittleEndian(header[4..]);
            if (type != ShtGnuVerneed) continue;
            long sectionOffset = BinaryPrimitives.ReadInt64LittleEndian(header[0x18..]);
            uint linkedStrings = BinaryPrimitives.ReadUInt32LittleEndian(header[0x28..]);
            uint entryCount = BinaryPrimitives.ReadUInt32LittleEndian(header[0x2C..]); // sh_info = number of Verneed
            var stringHeader = span[(int)(sectionHeaderOffset + linkedStrings * sectionHeaderSize)..];
            long stringsOffset = BinaryPrimitives.ReadInt64LittleEndian(stringHeader[0x18..]);

            long need = sectionOffset;
            for (uint n = 0; n < entryCount; n++)
            {
                int auxCount = BinaryPrimitives.ReadUInt16LittleEndian(span[(int)(need + 2)..]);
                uint auxOffset = BinaryPrimitives.ReadUInt32LittleEndian(span[(int)(need + 8)..]);
                uint nextNeed = BinaryPrimitives.ReadUInt32LittleEndian(span[(int)(need + 12)..]);
                long aux = need + auxOffset;
                for (int a = 0; a < auxCount; a++)
                {
                    uint nameOffset = BinaryPrimitives.ReadUInt32LittleEndian(span[(int)(aux + 8)..]);
                    if (ReadCString(span, stringsOffset + nameOffset) == version) result.Add((int)(aux + 4));
                    uint nextAux = BinaryPrimitives.ReadUInt32LittleEndian(span[(int)(aux + 12)..]);
                    if (nextAux == 0) break;
                    aux += nextAux;
                }
                if (nextNeed == 0) break;
                need += nextNeed;
            }
        }
        return result;
    }

    private static string ReadCString(ReadOnlySpan<byte> span, long offset)
    {
        var tail = span[(int)offset..];
        int end = tail.IndexOf((byte)0);
        return System.Text.Encoding.ASCII.GetString(end < 0 ? tail : tail[..end]);
    }

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null) e = e.InnerException;
        return e;
    }
}

/// <summary>TorchSharp's native library cannot be loaded on this machine.</summary>
public sealed class TorchUnavailableException(string message, Exception inner) : Exception(message, inner);
