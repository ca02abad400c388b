using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace AnCoder.Evaluation.Execution;

/// <summary>
/// Today's harness before the hardening of issue 19, kept only as the baseline of <c>ancoder eval throughput</c>
/// (never used to score): runs untrusted Python programs, each in its own <c>python3 -I</c> process inside fresh network, PID, mount, IPC
/// and UTS namespaces (<c>unshare</c>), as an unprivileged per-worker uid with rlimits, in a fresh private tmpfs
/// directory, with world-writable directories and home directories hidden behind private tmpfs mounts. See
/// Execution/sandbox_init.py for the inside half. A program passes only if it exits with status 0 and printed the
/// sentinel appended after its tests, so <c>sys.exit(0)</c>, <c>os._exit(0)</c> or a swallowed exception before
/// the end cannot pass. Requires root (to create the namespaces and switch uid) on Linux.
/// </summary>
public sealed class LegacyPythonSandbox : IDisposable
{
    private static readonly string[] MaskedDirectoryCandidates = ["/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/root", "/home"];

    private readonly SandboxOptions _options;
    private readonly string _baseDirectory;
    private readonly string _initScriptPath;
    private readonly string _python;
    private readonly string[] _maskedDirectories;
    private readonly string[] _keepPaths;
    private readonly byte[] _sentinel;
    private readonly SemaphoreSlim _workerGate;
    private readonly ConcurrentQueue<int> _freeSlots = new();
    private long _runCounter;

    private LegacyPythonSandbox(SandboxOptions options, string python, string[] keepPaths)
    {
        _options = options;
        _python = python;
        _keepPaths = keepPaths;
        _baseDirectory = Directory.CreateTempSubdirectory("ancoder-eval-").FullName;
        if (OperatingSystem.IsLinux())
            File.SetUnixFileMode(_baseDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        _initScriptPath = Path.Combine(_baseDirectory, "sandbox_init.py");
        using (var resource = typeof(LegacyPythonSandbox).Assembly.GetManifestResourceStream("AnCoder.Evaluation.legacy_sandbox_init.py")!)
        using (var file = File.Create(_initScriptPath))
            resource.CopyTo(file);
        var masked = new List<string>();
        foreach (var candidate in MaskedDirectoryCandidates.Append(Path.GetTempPath()).Append(Environment.GetEnvironmentVariable("HOME") ?? "/root"))
        {
            var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(candidate));
            if (full != "/" && Directory.Exists(full) && !masked.Contains(full))
                masked.Add(full);
        }
        _maskedDirectories = masked.ToArray();
        _sentinel = Encoding.ASCII.GetBytes("__ancoder_tests_completed_" + Convert.ToHexString(RandomNumberGenerator.GetBytes(16)).ToLowerInvariant() + "__");
        var workers = Math.Max(1, options.Workers);
        _workerGate = new SemaphoreSlim(workers, workers);
        for (var slot = 0; slot < workers; slot++)
            _freeSlots.Enqueue(slot);
    }

    public SandboxOptions Options => _options;
    public string PythonExecutable => _python;

    /// <summary>The statement appended to every program; it prints the sentinel on fd 1 after the last test.</summary>
    public string Trailer => "\n__import__('os').write(1, b'\\n" + Encoding.ASCII.GetString(_sentinel) + "\\n')\n";

    /// <summary>Resolves python3, checks the platform can sandbox, and runs a probe program.</summary>
    public static LegacyPythonSandbox Create(SandboxOptions? options = null)
    {
        options ??= new SandboxOptions();
        if (!OperatingSystem.IsLinux())
            throw new SandboxUnavailableException("the evaluation sandbox needs Linux namespaces");
        if (!Environment.IsPrivilegedProcess)
            throw new SandboxUnavailableException("the evaluation sandbox must run as root: it creates namespaces and runs each program as an unprivileged uid");
        var (python, keepPaths) = ResolvePython(options.Python);
        var sandbox = new LegacyPythonSandbox(options, python, keepPaths);
        try
        {
            var probe = sandbox.RunAsync("import socket\nassert len(socket.if_nameindex()) == 1\n").GetAwaiter().GetResult();
            if (!probe.Passed)
                throw new SandboxUnavailableException($"the sandbox probe failed ({probe.Reason}); stderr: {probe.Stderr.Trim()}");
        }
        catch
        {
            sandbox.Dispose();
            throw;
        }
        return sandbox;
    }

    internal static (string Python, string[] KeepPaths) ResolvePython(string python)
    {
        var start = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { "-I", "-c", "import os, sys; print(os.path.realpath(sys.executable)); print(os.path.realpath(sys.base_prefix)); print(sys.version_info[0])" })
            start.ArgumentList.Add(arg);
        try
        {
            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
            process.WaitForExit();
            if (process.ExitCode != 0 || output.Length < 3 || output[2] != "3")
                throw new SandboxUnavailableException($"'{python}' is not a working python3");
            var executable = output[0];
            var keep = new List<string> { output[1] };
            var executableDirectory = Path.GetDirectoryName(executable)!;
            if (!executableDirectory.StartsWith(output[1] + "/", StringComparison.Ordinal))
                keep.Add(executableDirectory);
            return (executable, keep.ToArray());
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new SandboxUnavailableException($"cannot start '{python}': {e.Message}");
        }
    }

    /// <summary>Runs one program (the sentinel trailer is appended here) and returns its verdict.</summary>
    public async Task<ExecutionResult> RunAsync(string program, CancellationToken cancellationToken = default)
    {
        await _workerGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        _freeSlots.TryDequeue(out var slot);
        try
        {
            return await RunInSlotAsync(program, slot, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _freeSlots.Enqueue(slot);
            _workerGate.Release();
        }
    }

    private async Task<ExecutionResult> RunInSlotAsync(string program, int slot, CancellationToken cancellationToken)
    {
        var limits = _options.Limits;
        var runId = Interlocked.Increment(ref _runCounter);
        var programDirectory = Path.Combine(_baseDirectory, $"run-{runId}");
        var sourcePath = Path.Combine(_baseDirectory, $"run-{runId}.py");
        Directory.CreateDirectory(programDirectory);
        await File.WriteAllTextAsync(sourcePath, program + Trailer, new UTF8Encoding(false), cancellationToken).ConfigureAwait(false);
        var spec = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["python"] = _python,
            ["program_dir"] = programDirectory,
            ["program_source_path"] = sourcePath,
            ["uid"] = _options.UidBase + slot,
            ["masked_dirs"] = _maskedDirectories,
            ["keep_paths"] = _keepPaths,
            ["limits"] = new Dictionary<string, long>
            {
                ["cpu_seconds"] = limits.EffectiveCpuSeconds,
                ["address_space_bytes"] = limits.AddressSpaceBytes,
                ["file_size_bytes"] = limits.FileSizeBytes,
                ["open_files"] = limits.OpenFiles,
                ["processes"] = limits.Processes,
                ["dir_bytes"] = limits.DirectoryBytes,
                ["dir_inodes"] = limits.DirectoryInodes,
            },
        });
        var start = new ProcessStartInfo(_options.Unshare)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        // The launcher preloads jemalloc for TorchSharp; generated programs run with the system allocator.
        start.Environment.Remove("LD_PRELOAD");
        foreach (var arg in new[] { "--net", "--pid", "--fork", "--kill-child", "--mount", "--mount-proc", "--ipc", "--uts", "--", _python, "-I", "-S", _initScriptPath, spec })
            start.ArgumentList.Add(arg);

        var stopwatch = Stopwatch.StartNew();
        using var process = new Process { StartInfo = start };
        try
        {
            process.Start();
            process.StandardInput.Close();
            var stdoutPump = CappedReader.PumpAsync(process.StandardOutput.BaseStream, limits.OutputCaptureBytes, _sentinel);
            var stderrPump = CappedReader.PumpAsync(process.StandardError.BaseStream, limits.OutputCaptureBytes, null);
            var timedOut = false;
            using (var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                deadline.CancelAfter(limits.WallTime);
                try
                {
                    await process.WaitForExitAsync(deadline.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // unshare --kill-child turns the death of unshare into SIGKILL for the namespace's init, and the
                    // kernel then kills every process left in the PID namespace.
                    KillTree(process);
                    cancellationToken.ThrowIfCancellationRequested();
                    timedOut = true;
                }
            }
            var elapsed = stopwatch.Elapsed;
            var pumps = Task.WhenAll(stdoutPump, stderrPump);
            if (await Task.WhenAny(pumps, Task.Delay(TimeSpan.FromSeconds(5), CancellationToken.None)).ConfigureAwait(false) != pumps)
            {
                // A process outside the namespace's reach holds the pipes: give up on its output, not on the evaluation.
                KillTree(process);
                return new ExecutionResult(ExecutionOutcome.Timeout, null, "output pipes stayed open after the program ended", "", "", elapsed);
            }
            var stdout = await stdoutPump.ConfigureAwait(false);
            var stderr = await stderrPump.ConfigureAwait(false);
            if (timedOut)
                return new ExecutionResult(ExecutionOutcome.Timeout, null, "", stdout.Text, stderr.Text, elapsed);
            var exitCode = process.ExitCode;
            var passed = exitCode == 0 && stdout.SawMarker;
            return new ExecutionResult(passed ? ExecutionOutcome.Passed : ExecutionOutcome.Failed, exitCode,
                passed ? "" : LegacyDetail(exitCode, stderr.Text), stdout.Text, stderr.Text, elapsed);
        }
        finally
        {
            KillTree(process);
            TryDelete(() => File.Delete(sourcePath));
            TryDelete(() => Directory.Delete(programDirectory, recursive: true));
        }
    }

    private static string LegacyDetail(int exitCode, string stderr)
    {
        var lastError = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();
        var status = exitCode switch
        {
            0 => "exited with status 0 before the tests finished",
            > 128 => $"killed by signal {exitCode - 128}",
            _ => $"exit status {exitCode}",
        };
        return lastError is null ? status : $"{status}: {lastError}";
    }

    private static void KillTree(Process process)
    {
        try
        {
            if (!process.HasExited)
                process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
        }
        catch (System.ComponentModel.Win32Exception)
        {
        }
    }

    private static void TryDelete(Action delete)
    {
        try
        {
            delete();
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    public void Dispose()
    {
        TryDelete(() => Directory.Delete(_baseDirectory, recursive: true));
        _workerGate.Dispose();
    }
}

/// <summary>Drains a stream to its end, keeping at most a cap of bytes, and watches for a marker anywhere in it.</summary>
internal static class CappedReader
{
    internal readonly record struct Captured(string Text, bool SawMarker, long TotalBytes);

    internal static async Task<Captured> PumpAsync(Stream stream, int cap, byte[]? marker)
    {
        var kept = new MemoryStream();
        var buffer = new byte[16384];
        var window = marker is null ? [] : new byte[marker.Length - 1 + buffer.Length];
        var carried = 0;
        var saw = false;
        long total = 0;
        int read;
        while ((read = await stream.ReadAsync(buffer).ConfigureAwait(false)) > 0)
        {
            total += read;
            if (kept.Length < cap)
                kept.Write(buffer, 0, (int)Math.Min(read, cap - kept.Length));
            if (marker is not null && !saw)
            {
                Buffer.BlockCopy(buffer, 0, window, carried, read);
                var span = window.AsSpan(0, carried + read);
                saw = span.IndexOf(marker) >= 0;
                carried = Math.Min(marker.Length - 1, span.Length);
                span[^carried..].CopyTo(window);
            }
        }
        var text = Encoding.UTF8.GetString(kept.GetBuffer(), 0, (int)kept.Length);
        if (marker is not null)
            text = text.Replace("\n" + Encoding.ASCII.GetString(marker) + "\n", "");
        if (total > kept.Length)
            text += $"\n[… {total - kept.Length} more bytes not kept]";
        return new Captured(text, saw, total);
    }
}
