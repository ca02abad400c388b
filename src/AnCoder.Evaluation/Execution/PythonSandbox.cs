using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace AnCoder.Evaluation.Execution;

public sealed class SandboxUnavailableException(string message) : Exception(message);

/// <summary>
/// Runs untrusted candidate code against trusted test code, each in its own sandbox, and returns the test's verdict.
/// The host half: it starts one warm, pre-imported root python3 (Execution/sandbox_host.py) that forks every run
/// into fresh namespaces, cgroups and limits, and talks to it over one pipe (a JSON line per request and per
/// result). Programs never hold a pipe of this process, so none can stall it. Requires root on Linux (x86_64 for
/// the seccomp filter). What is guaranteed and what is not: src/AnCoder.Evaluation/README.md, "The sandbox".
/// </summary>
public sealed class PythonSandbox : IDisposable
{
    private static readonly string[] SystemReadOnlyPaths = ["/usr", "/lib", "/lib64", "/lib32", "/libx32", "/bin", "/sbin", "/etc/ld.so.cache"];

    private readonly SandboxOptions _options;
    private readonly string _baseDirectory;
    private readonly Process _host;
    private readonly ConcurrentDictionary<long, TaskCompletionSource<JsonObject>> _pending = new();
    private readonly SemaphoreSlim _workerGate;
    private readonly ConcurrentQueue<int> _freeSlots = new();
    private readonly object _writeLock = new();
    private readonly StringBuilder _hostErrors = new();
    private readonly Task _reader;
    private long _runCounter;
    private volatile bool _hostGone;

    private PythonSandbox(SandboxOptions options, string python, string[] readOnlyPaths)
    {
        _options = options;
        PythonExecutable = python;
        _baseDirectory = Directory.CreateTempSubdirectory("ancoder-eval-").FullName;
        File.SetUnixFileMode(_baseDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var rootDirectory = Path.Combine(_baseDirectory, "root");
        Directory.CreateDirectory(rootDirectory);
        var script = Path.Combine(_baseDirectory, "sandbox_host.py");
        using (var resource = typeof(PythonSandbox).Assembly.GetManifestResourceStream("AnCoder.Evaluation.sandbox_host.py")!)
        using (var file = File.Create(script))
            resource.CopyTo(file);
        // One candidate zygote and one test zygote per worker slot, forked by the host before any request.
        var config = JsonSerializer.Serialize(new Dictionary<string, object> { ["root_dir"] = rootDirectory, ["read_only"] = readOnlyPaths, ["slots"] = Math.Max(1, options.Workers) });
        var start = new ProcessStartInfo(python)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "-I", script, config })
            start.ArgumentList.Add(arg);
        // The launcher preloads jemalloc for TorchSharp; programs run with the system allocator.
        start.Environment.Remove("LD_PRELOAD");
        start.Environment["PYTHONHASHSEED"] = "0";
        _host = Process.Start(start) ?? throw new SandboxUnavailableException($"cannot start {python}");
        _host.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (_hostErrors)
                if (_hostErrors.Length < 64 << 10)
                    _hostErrors.AppendLine(e.Data);
        };
        _host.BeginErrorReadLine();
        var hello = _host.StandardOutput.ReadLine();
        JsonObject? helloJson = null;
        try
        {
            helloJson = hello is null ? null : JsonNode.Parse(hello) as JsonObject;
        }
        catch (JsonException)
        {
        }
        if (helloJson is null || helloJson["ready"]?.GetValue<bool>() != true)
        {
            _host.WaitForExit(5000);
            throw new SandboxUnavailableException($"the sandbox host did not start: {HostErrors().Trim()}");
        }
        CgroupKind = helloJson["cgroup"]!.GetValue<string>();
        CgroupDetail = helloJson["cgroup_detail"]?.GetValue<string>() ?? "";
        var workers = Math.Max(1, options.Workers);
        _workerGate = new SemaphoreSlim(workers, workers);
        for (var slot = 0; slot < workers; slot++)
            _freeSlots.Enqueue(slot);
        _reader = Task.Run(ReadResultsAsync);
    }

    public SandboxOptions Options => _options;
    public string PythonExecutable { get; }

    /// <summary>"v2", "v1" or "none": which cgroup flavour caps each run's memory and processes.</summary>
    public string CgroupKind { get; }

    /// <summary>Where the run cgroups live, or why there are none.</summary>
    public string CgroupDetail { get; }

    /// <summary>One line for eval's header: what confines each run.</summary>
    public string Describe()
    {
        var limits = _options.Limits;
        var cgroup = CgroupKind == "none"
            ? $"NO cgroup ({CgroupDetail}): memory bounded per process by RLIMIT_AS only"
            : $"cgroup {CgroupKind} per run (memory {limits.MemoryBytes >> 20} MiB incl. shm/tmpfs, pids {limits.Processes + 8})";
        return $"sandbox: candidate and tests in separate processes; {cgroup}; namespaces pid/mount/net/ipc/uts, minimal read-only root, " +
               $"seccomp (no new namespaces), no_new_privs; deadline {limits.WallTime.TotalSeconds:0.#} s";
    }

    /// <summary>The real interpreter behind <paramref name="python"/> (a pyenv shim is resolved once) and the folders it needs read-only.</summary>
    private static (string Python, string[] KeepPaths) ResolvePython(string python)
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

    /// <summary>Resolves python3, checks the platform can sandbox, starts the host and runs a probe.</summary>
    public static PythonSandbox Create(SandboxOptions? options = null)
    {
        options ??= new SandboxOptions();
        if (!OperatingSystem.IsLinux())
            throw new SandboxUnavailableException("the evaluation sandbox needs Linux namespaces");
        if (System.Runtime.InteropServices.RuntimeInformation.OSArchitecture != System.Runtime.InteropServices.Architecture.X64)
            throw new SandboxUnavailableException("the evaluation sandbox's seccomp filter is written for x86_64 only");
        if (!Environment.IsPrivilegedProcess)
            throw new SandboxUnavailableException("the evaluation sandbox must run as root: it creates namespaces and cgroups and runs each program as an unprivileged uid");
        var (python, keepPaths) = ResolvePython(options.Python);
        var readOnly = keepPaths.Concat(SystemReadOnlyPaths.Where(p => Path.Exists(p) || new FileInfo(p).LinkTarget is not null)).Distinct().ToArray();
        var sandbox = new PythonSandbox(options, python, readOnly);
        try
        {
            var probe = sandbox.RunAsync(new SandboxJob("import socket\ndef probe():\n    return len(socket.if_nameindex())\n",
                new CheckFunctionTest("", "def check(candidate):\n    assert candidate() == 1\n", "probe"))).GetAwaiter().GetResult();
            if (!probe.Passed)
                throw new SandboxUnavailableException($"the sandbox probe failed ({probe.Reason}); {probe.Stderr.Trim()} {sandbox.HostErrors().Trim()}");
        }
        catch
        {
            sandbox.Dispose();
            throw;
        }
        return sandbox;
    }

    /// <summary>Runs one job and returns the verdict of its test process.</summary>
    public async Task<ExecutionResult> RunAsync(SandboxJob job, CancellationToken cancellationToken = default)
    {
        await _workerGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        _freeSlots.TryDequeue(out var slot);
        try
        {
            return await RunInSlotAsync(job, slot, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _freeSlots.Enqueue(slot);
            _workerGate.Release();
        }
    }

    private async Task<ExecutionResult> RunInSlotAsync(SandboxJob job, int slot, CancellationToken cancellationToken)
    {
        if (_hostGone)
            throw new SandboxUnavailableException($"the sandbox host has exited: {HostErrors().Trim()}");
        var limits = _options.Limits;
        var id = Interlocked.Increment(ref _runCounter);
        JsonObject test = job.Test switch
        {
            CheckFunctionTest c => new JsonObject { ["kind"] = "check", ["prelude"] = c.Prelude, ["test"] = c.TestCode, ["entry_point"] = c.EntryPoint },
            AssertsTest a => new JsonObject { ["kind"] = "asserts", ["setup"] = a.Setup, ["asserts"] = new JsonArray(a.Asserts.Select(x => (JsonNode)x!).ToArray()), ["canonical"] = a.CanonicalSolution },
            _ => new JsonObject { ["kind"] = "whole" },
        };
        var request = new JsonObject
        {
            ["id"] = id,
            ["uid"] = _options.UidBase + 2 * slot,
            ["slot"] = slot,
            ["mode"] = job.Test is WholeProgramForBenchmark ? "whole" : "split",
            ["candidate"] = job.Candidate,
            ["test"] = test,
            ["limits"] = new JsonObject
            {
                ["wall_seconds"] = limits.WallTime.TotalSeconds,
                ["cpu_seconds"] = limits.EffectiveCpuSeconds,
                ["address_space_bytes"] = limits.AddressSpaceBytes,
                ["memory_bytes"] = limits.MemoryBytes,
                ["file_size_bytes"] = limits.FileSizeBytes,
                ["open_files"] = limits.OpenFiles,
                ["processes"] = limits.Processes,
                ["dir_bytes"] = limits.DirectoryBytes,
                ["dir_inodes"] = limits.DirectoryInodes,
                ["output_bytes"] = limits.OutputCaptureBytes,
            },
        };
        var completion = new TaskCompletionSource<JsonObject>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = completion;
        var stopwatch = Stopwatch.StartNew();
        try
        {
            lock (_writeLock)
            {
                _host.StandardInput.Write(request.ToJsonString());
                _host.StandardInput.Write('\n');
                _host.StandardInput.Flush();
            }
        }
        catch (IOException)
        {
            _pending.TryRemove(id, out _);
            throw new SandboxUnavailableException($"the sandbox host has exited: {HostErrors().Trim()}");
        }
        // The host answers by the deadline plus a few seconds of teardown; a longer wait means it is stuck.
        var backstop = limits.WallTime + TimeSpan.FromSeconds(30);
        var finished = await Task.WhenAny(completion.Task, Task.Delay(backstop, cancellationToken)).ConfigureAwait(false);
        if (finished != completion.Task)
        {
            _pending.TryRemove(id, out _);
            cancellationToken.ThrowIfCancellationRequested();
            return new ExecutionResult(ExecutionOutcome.Timeout, null, "no answer from the sandbox host", "", "", stopwatch.Elapsed);
        }
        var result = await completion.Task.ConfigureAwait(false);
        var outcome = result["outcome"]!.GetValue<string>() switch
        {
            "passed" => ExecutionOutcome.Passed,
            "timeout" => ExecutionOutcome.Timeout,
            _ => ExecutionOutcome.Failed,
        };
        var seconds = result["seconds"]?.GetValue<double>() ?? stopwatch.Elapsed.TotalSeconds;
        return new ExecutionResult(outcome, result["exit_code"]?.GetValue<int?>(), result["reason"]?.GetValue<string>() ?? "",
            result["stdout"]?.GetValue<string>() ?? "", result["stderr"]?.GetValue<string>() ?? "", TimeSpan.FromSeconds(seconds))
        {
            MemoryPeakBytes = result["memory_peak_bytes"]?.GetValue<long?>(),
        };
    }

    private async Task ReadResultsAsync()
    {
        try
        {
            while (await _host.StandardOutput.ReadLineAsync().ConfigureAwait(false) is { } line)
            {
                if (JsonNode.Parse(line) is JsonObject result && _pending.TryRemove(result["id"]!.GetValue<long>(), out var waiting))
                    waiting.TrySetResult(result);
            }
        }
        catch (Exception e) when (e is IOException or JsonException or ObjectDisposedException)
        {
        }
        _hostGone = true;
        foreach (var id in _pending.Keys)
            if (_pending.TryRemove(id, out var waiting))
                waiting.TrySetException(new SandboxUnavailableException($"the sandbox host has exited: {HostErrors().Trim()}"));
    }

    private string HostErrors()
    {
        lock (_hostErrors)
            return _hostErrors.ToString();
    }

    /// <summary>Closes the host's input: it finishes the runs in flight (each bounded by its deadline), removes its
    /// cgroups and exits; killed after a grace period if it does not.</summary>
    public void Dispose()
    {
        try
        {
            _host.StandardInput.Close();
        }
        catch (IOException)
        {
        }
        if (!_host.WaitForExit((int)(_options.Limits.WallTime.TotalMilliseconds + 15000)))
        {
            try
            {
                _host.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
            }
        }
        _reader.Wait(TimeSpan.FromSeconds(5));
        _host.Dispose();
        try
        {
            Directory.Delete(_baseDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        _workerGate.Dispose();
    }

    /// <summary>The host process (tests use it to simulate the death of <c>ancoder</c>).</summary>
    internal int HostProcessId => _host.Id;
}
