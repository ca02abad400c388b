using System.Net;
using System.Net.Sockets;
using AnCoder.Evaluation.Execution;

namespace AnCoder.Evaluation.Tests;

/// <summary>
/// Sandboxes for the red-team classes: one worker each, distinct uids. The wall limit (<see cref="RedTeamSandbox.WallLimit"/>)
/// is long enough that a program which should finish (print, define the function) finishes on a busy 2-core CI machine:
/// at 1.5 s, a clean-clone CI beside two training processes saw a hostile program killed before its first print.
/// Programs that never end pay the limit, a few seconds each.
/// </summary>
public sealed class RedTeamSandboxA() : RedTeamSandbox(62000);
public sealed class RedTeamSandboxB() : RedTeamSandbox(62100);
public sealed class RedTeamSandboxC() : RedTeamSandbox(62200);

public abstract class RedTeamSandbox(int uidBase) : SandboxFixture(uidBase, workers: 1, WallLimit, memoryBytes: RedTeamMemoryBytes)
{
    /// <summary>Wall-clock limit per red-team program (see the class comment for why not shorter).</summary>
    public static readonly TimeSpan WallLimit = TimeSpan.FromSeconds(6);

    /// <summary>The memory cgroup limit of the red-team sandboxes (small, so memory attacks end quickly).</summary>
    public const long RedTeamMemoryBytes = 256L << 20;

    /// <summary>The test every hostile candidate faces: HumanEval's form, entry point <c>double</c>.</summary>
    public static readonly CheckFunctionTest DoubleTest = new("", "def check(candidate):\n    assert candidate(21) == 42\n    assert candidate(-4) == -8\n", "double");

    private static readonly SandboxJob Benign = new("def double(x):\n    return 2 * x\n", DoubleTest);

    /// <summary>Runs a hostile candidate module against <see cref="DoubleTest"/>; see <see cref="RunHostile(SandboxJob)"/>.</summary>
    public Task<ExecutionResult> RunHostile(string candidate) => RunHostile(new SandboxJob(candidate, DoubleTest));

    /// <summary>
    /// Runs a hostile job and checks the common guarantees: not passed, no process of the sandbox's uids left,
    /// and the next (benign) job is still evaluated correctly.
    /// </summary>
    public async Task<ExecutionResult> RunHostile(SandboxJob job)
    {
        var result = await Sandbox.RunAsync(job);
        Assert.False(result.Passed, $"hostile program passed: {result.Reason}");
        // A poll, not a sleep: quick when the machine is; generous when it is busy.
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (ProcessesOfSandboxUids().Count > 0 && DateTime.UtcNow < deadline)
            await Task.Delay(20);
        Assert.Empty(ProcessesOfSandboxUids());
        var benign = await Sandbox.RunAsync(Benign);
        Assert.True(benign.Passed, $"benign program after the hostile one: {benign.Reason} {benign.Stderr}");
        return result;
    }
}

/// <summary>A directory tree outside the sandbox whose contents must not change.</summary>
internal sealed class Canary : IDisposable
{
    public Canary(string parent)
    {
        Directory = Path.Combine(parent, "ancoder-canary-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
        File = Path.Combine(Directory, "keep.txt");
        System.IO.File.WriteAllText(File, "canary");
    }

    public string Directory { get; }
    public string File { get; }

    public void AssertUntouched()
    {
        Assert.Equal(["keep.txt"], System.IO.Directory.GetFileSystemEntries(Directory).Select(Path.GetFileName));
        Assert.Equal("canary", System.IO.File.ReadAllText(File));
    }

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}

public class RedTeamResourceTests(RedTeamSandboxA sandbox) : IClassFixture<RedTeamSandboxA>
{
    [Fact]
    public Task Fork_bomb() => sandbox.RunHostile("import os\nwhile True:\n    os.fork()\n");

    [Fact]
    public Task Fork_bomb_that_ignores_errors_and_sleeps() =>
        sandbox.RunHostile("import os, time\nfor _ in range(100000):\n    try:\n        os.fork()\n    except OSError:\n        time.sleep(0.01)\n");

    [Fact]
    public Task Memory_bomb_in_one_allocation() => sandbox.RunHostile("x = bytearray(64 * 1024 ** 3)\nx[0] = 1\nimport sys\nsys.exit(0)\n");

    [Fact]
    public Task Memory_bomb_growing() => sandbox.RunHostile("chunks = []\nwhile True:\n    chunks.append(bytearray(50 * 1024 ** 2))\n");

    [Fact]
    public async Task Infinite_loop_times_out()
    {
        var result = await sandbox.RunHostile("while True:\n    pass\n");
        Assert.Equal(ExecutionOutcome.Timeout, result.Outcome);
    }

    [Fact]
    public async Task Sleeping_forever_hits_the_wall_clock_deadline()
    {
        var result = await sandbox.RunHostile("import time\ntime.sleep(3600)\n");
        Assert.True(result.Outcome == ExecutionOutcome.Timeout, $"{result.Outcome} after {result.Duration.TotalSeconds:0.00} s: {result.Reason} | {result.Stderr}");
        Assert.True(result.Duration.TotalSeconds >= 1.4, $"ended after {result.Duration.TotalSeconds:0.00} s, before the deadline");
    }

    [Fact]
    public async Task Ignoring_signals_does_not_survive_the_deadline()
    {
        var result = await sandbox.RunHostile(
            "import signal\nfor s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGXCPU, signal.SIGALRM):\n    signal.signal(s, signal.SIG_IGN)\nwhile True:\n    pass\n");
        Assert.Equal(ExecutionOutcome.Timeout, result.Outcome);
    }

    [Fact]
    public async Task Huge_stdout_is_capped()
    {
        var result = await sandbox.RunHostile("import sys\nwhile True:\n    sys.stdout.write('x' * 65536)\n");
        Assert.True(result.Stdout.Length < 128 * 1024, $"kept {result.Stdout.Length} chars");
    }

    [Fact]
    public async Task Huge_stderr_is_capped()
    {
        var result = await sandbox.RunHostile("import os\nwhile True:\n    os.write(2, b'e' * 65536)\n");
        Assert.True(result.Stderr.Length < 128 * 1024, $"kept {result.Stderr.Length} chars");
    }

    [Fact]
    public Task Huge_file_is_stopped_by_the_file_size_limit() =>
        sandbox.RunHostile("with open('big.bin', 'wb') as f:\n    for _ in range(1024):\n        f.write(b'0' * 1024 * 1024)\nimport sys\nsys.exit(0)\n");

    [Fact]
    public Task Filling_the_directory_with_files_hits_its_limits() =>
        sandbox.RunHostile("i = 0\nwhile True:\n    with open(f'f{i}', 'wb') as f:\n        f.write(b'0' * 1024 * 1024)\n    i += 1\n");

    [Fact]
    public Task Thousands_of_threads_hit_the_process_limit() =>
        sandbox.RunHostile("import threading, time\nfor _ in range(5000):\n    threading.Thread(target=time.sleep, args=(60,), daemon=True).start()\nimport os\nos._exit(0)\n");

    [Fact]
    public async Task Raising_resource_limits_is_refused()
    {
        var result = await sandbox.RunHostile(
            "import resource\nresource.setrlimit(resource.RLIMIT_CPU, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))\nprint('raised')\n");
        Assert.Contains("ValueError", result.Reason);
    }
}

public class RedTeamFileSystemTests(RedTeamSandboxB sandbox) : IClassFixture<RedTeamSandboxB>
{
    [Fact]
    public async Task Deleting_a_directory_outside_the_sandbox()
    {
        using var canary = new Canary(AppContext.BaseDirectory);
        await sandbox.RunHostile($"import shutil\nshutil.rmtree({Python.Literal(canary.Directory)})\n");
        canary.AssertUntouched();
    }

    [Fact]
    public async Task Overwriting_a_file_outside_the_sandbox()
    {
        using var canary = new Canary(AppContext.BaseDirectory);
        await sandbox.RunHostile($"open({Python.Literal(canary.File)}, 'w').write('owned')\nopen({Python.Literal(canary.Directory + "/new.txt")}, 'w').write('x')\n");
        canary.AssertUntouched();
    }

    [Fact]
    public async Task Writing_into_the_shared_tmp_directory()
    {
        using var canary = new Canary(Path.GetTempPath());
        await sandbox.RunHostile($"import os\nos.remove({Python.Literal(canary.File)})\nopen({Python.Literal(canary.Directory + "/dropped.txt")}, 'w').write('x')\n");
        canary.AssertUntouched();
    }

    [Fact]
    public async Task Dropping_files_in_world_writable_directories()
    {
        var name = "ancoder-redteam-" + Guid.NewGuid().ToString("N");
        var places = new[] { "/tmp", "/var/tmp", "/dev/shm" }.Where(Directory.Exists).ToList();
        await sandbox.RunHostile(string.Concat(places.Select(p => $"open('{p}/{name}', 'w').write('x')\n")) + "import sys\nsys.exit(0)\n");
        foreach (var place in places)
            Assert.False(File.Exists(Path.Combine(place, name)), $"{place}/{name} appeared on the host");
    }

    [Fact]
    public async Task Reading_the_users_home()
    {
        var home = Environment.GetEnvironmentVariable("HOME") ?? "/root";
        var secret = Path.Combine(home, ".ancoder-redteam-secret-" + Guid.NewGuid().ToString("N"));
        File.WriteAllText(secret, "s3cret");
        try
        {
            var result = await sandbox.RunHostile($"data = open({Python.Literal(secret)}).read()\nprint(data)\nassert data == 's3cret'\n");
            Assert.DoesNotContain("s3cret", result.Stdout + result.Stderr.Replace(secret, ""));
        }
        finally
        {
            File.Delete(secret);
        }
    }

    [Fact]
    public async Task Listing_the_users_home()
    {
        var home = Environment.GetEnvironmentVariable("HOME") ?? "/root";
        var marker = Path.Combine(home, ".ancoder-redteam-marker-" + Guid.NewGuid().ToString("N"));
        File.WriteAllText(marker, "");
        try
        {
            await sandbox.RunHostile($"import os\nassert {Python.Literal(Path.GetFileName(marker))} in os.listdir({Python.Literal(home)})\n");
        }
        finally
        {
            File.Delete(marker);
        }
    }

    /// <summary>The root every sandbox starts from is built once per host and shared (read-only) by all runs
    /// (docs/evaluation-speed.md): what one run writes anywhere must not reach the next run of the same slot and uid.</summary>
    [Fact]
    public async Task Nothing_a_run_writes_reaches_the_next_run()
    {
        await sandbox.RunHostile("import os\nfor p in ('/sandbox/left', '/tmp/left', '/left', '/usr/left', '/dev/left', '/proc/left', '/sandbox/../left'):\n" +
                                 "    try:\n        open(p, 'w').write('x')\n    except OSError:\n        pass\n");
        var next = await sandbox.Sandbox.RunAsync(new SandboxJob(
            "import os\n" +
            "left = [p for p in ('/sandbox/left', '/tmp/left', '/left', '/usr/left', '/dev/left', '/proc/left') if os.path.exists(p)]\n" +
            "root_read_only = bool(os.statvfs('/').f_flag & os.ST_RDONLY)\n" +
            "processes = [d for d in os.listdir('/proc') if d.isdigit()]\n" +
            "print(left, root_read_only, processes)\n" +
            "def double(x):\n    return 2 * x if not left and root_read_only and len(processes) <= 3 else 0\n", RedTeamSandbox.DoubleTest));
        Assert.True(next.Passed, $"the next run saw what the previous one left, a writable root or foreign processes: {next.Stdout} {next.Reason}");
    }

    [Fact]
    public Task Escaping_through_a_symlink() =>
        sandbox.RunHostile("import os\nos.symlink('/etc/hostname', 'link')\nopen('link', 'w').write('owned')\n");

    [Fact]
    public Task Writing_kernel_settings() =>
        sandbox.RunHostile("open('/proc/sys/kernel/hostname', 'w').write('owned')\n");

    [Fact]
    public Task Mounting_over_the_host() =>
        sandbox.RunHostile("import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\nassert libc.mount(b'none', b'/etc', b'tmpfs', 0, None) == 0\n");

    [Fact]
    public Task Becoming_root() => sandbox.RunHostile("import os\nos.setuid(0)\nos.system('touch /owned')\n");

}

public class RedTeamProcessAndNetworkTests(RedTeamSandboxC sandbox) : IClassFixture<RedTeamSandboxC>
{
    [Fact]
    public async Task Connecting_to_a_tcp_listener_on_loopback()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            await sandbox.RunHostile($"import socket\ns = socket.create_connection(('127.0.0.1', {port}), timeout=1)\ns.sendall(b'hello')\n");
            Assert.False(listener.Pending(), "the sandboxed program reached the host's listener");
        }
        finally
        {
            listener.Stop();
        }
    }

    [Fact]
    public async Task Sending_udp_to_a_loopback_socket()
    {
        using var receiver = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var port = ((IPEndPoint)receiver.Client.LocalEndPoint!).Port;
        await sandbox.RunHostile($"import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\nfor _ in range(10):\n    s.sendto(b'x', ('127.0.0.1', {port}))\nimport sys\nsys.exit(0)\n");
        await Task.Delay(100);
        Assert.Equal(0, receiver.Available);
    }

    [Fact]
    public Task Background_process_that_outlives_the_program() =>
        sandbox.RunHostile("import subprocess, sys\nsubprocess.Popen(['sleep', '300'], start_new_session=True)\nsys.exit(0)\n");

    [Fact]
    public Task Double_forked_daemon() =>
        sandbox.RunHostile("import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        time.sleep(300)\n    os._exit(0)\nos._exit(0)\n");

    [Fact]
    public async Task Killing_the_parent()
    {
        var result = await sandbox.RunHostile("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nos.kill(1, signal.SIGKILL)\nraise SystemExit(0)\n");
        Assert.NotEqual(ExecutionOutcome.Passed, result.Outcome);
    }

    [Fact]
    public Task Killing_every_process_it_can_see() =>
        sandbox.RunHostile("import os, signal\nos.kill(-1, signal.SIGKILL)\n");

    [Fact]
    public Task Killing_its_process_group() =>
        sandbox.RunHostile("import os, signal\nos.killpg(0, signal.SIGKILL)\n");

    [Fact]
    public Task Sys_exit_0_before_the_tests() =>
        sandbox.RunHostile("def double(x):\n    return 3 * x\nimport sys\nsys.exit(0)\nassert double(2) == 4\n");

    [Fact]
    public Task Os_exit_0_before_the_tests() =>
        sandbox.RunHostile("def double(x):\n    return 3 * x\nimport os\nos._exit(0)\nassert double(2) == 4\n");

    [Fact]
    public Task SystemExit_raised_inside_check() =>
        sandbox.RunHostile("def double(x):\n    raise SystemExit(0)\n\ndef check(candidate):\n    assert candidate(2) == 4\n\ncheck(double)\n");

    [Fact]
    public Task Exception_swallowed_by_an_exit_hook() =>
        sandbox.RunHostile("import atexit, os, sys\nsys.excepthook = lambda *args: None\natexit.register(lambda: os._exit(0))\ndef double(x):\n    return 3 * x\nassert double(2) == 4\n");

    [Fact]
    public Task Overriding_builtins_to_hide_failures() =>
        sandbox.RunHostile("import builtins\nbuiltins.AssertionError = type('Quiet', (Exception,), {})\nbuiltins.__import__ = lambda *a, **k: None\ndef double(x):\n    return 3 * x\ntry:\n    assert double(2) == 4\nexcept builtins.AssertionError:\n    pass\n");

    [Fact]
    public Task Forging_a_sentinel_then_leaving() =>
        sandbox.RunHostile("import os\nos.write(1, b'\\n__ancoder_tests_completed_' + b'0' * 32 + b'__\\n')\nos._exit(0)\n");

    [Fact]
    public Task Replacing_stdout_to_swallow_everything() =>
        sandbox.RunHostile("import os, sys\nos.close(1)\nos.close(2)\nsys.stdout = sys.stderr = open(os.devnull, 'w')\ndef double(x):\n    return 3 * x\n");

    [Fact]
    public Task Reading_stdin_gets_nothing() => sandbox.RunHostile("value = input()\nassert value\n");
}
