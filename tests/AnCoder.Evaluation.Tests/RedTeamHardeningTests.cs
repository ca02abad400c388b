using System.Diagnostics;
using AnCoder.Evaluation.Execution;

namespace AnCoder.Evaluation.Tests;

public sealed class RedTeamSandboxD() : RedTeamSandbox(62300);
public sealed class RedTeamSandboxE() : RedTeamSandbox(62400);
public sealed class RedTeamSandboxF() : RedTeamSandbox(62800);

/// <summary>
/// Attacks on the verdict (issue 19): each one passes the plain openai/human-eval style runner, or would have passed
/// the single-process sandbox, without solving the task. Here the tests run in another process and see only plain data.
/// </summary>
public class RedTeamVerdictTests(RedTeamSandboxD sandbox) : IClassFixture<RedTeamSandboxD>
{
    [Fact]
    public async Task A_settrace_hook_that_skips_the_check_lines()
    {
        // In one interpreter this jumps over every assert of check(); here check() is not in the candidate's process.
        var result = await sandbox.RunHostile(
            "import sys, threading\n" +
            "def tracer(frame, event, arg):\n" +
            "    if frame.f_code.co_name != 'check':\n" +
            "        return None\n" +
            "    last = max(line for _, _, line in frame.f_code.co_lines() if line)\n" +
            "    def skip(f, e, a):\n" +
            "        if e == 'line' and f.f_lineno < last:\n" +
            "            try:\n" +
            "                f.f_lineno = last + 1\n" +
            "            except ValueError:\n" +
            "                pass\n" +
            "        return skip\n" +
            "    return skip\n" +
            "sys.settrace(tracer)\n" +
            "threading.settrace(tracer)\n" +
            "def double(x):\n" +
            "    return 0\n");
        Assert.Equal(ExecutionOutcome.Failed, result.Outcome);
    }

    [Fact]
    public async Task Searching_its_own_memory_for_the_expected_values()
    {
        // The expected values live only in the test process; the candidate's heap (gc objects, frames, constants of
        // every code object, module globals) never held a test.
        var result = await sandbox.RunHostile(
            "import gc, sys, re\n" +
            "def double(x):\n" +
            "    texts = []\n" +
            "    for o in gc.get_objects():\n" +
            "        if isinstance(o, str): texts.append(o)\n" +
            "        elif hasattr(o, 'co_consts'): texts += [c for c in o.co_consts if isinstance(c, str)]\n" +
            "    f = sys._getframe()\n" +
            "    while f is not None:\n" +
            "        texts += [v for v in f.f_globals.values() if isinstance(v, str)]\n" +
            "        f = f.f_back\n" +
            "    for t in texts:\n" +
            "        m = re.search(r'candidate\\(' + str(x) + r'\\) == (-?\\d+)', t)\n" +
            "        if m: return int(m.group(1))\n" +
            "    return None\n");
        Assert.Equal(ExecutionOutcome.Failed, result.Outcome);
    }

    [Fact]
    public async Task Reading_its_own_program_file()
    {
        var result = await sandbox.RunHostile(
            "import sys, os, re\n" +
            "def double(x):\n" +
            "    for path in [globals().get('__file__'), sys.argv[0], 'program.py', '/sandbox/program.py', '/proc/self/cmdline']:\n" +
            "        try:\n" +
            "            text = open(path).read()\n" +
            "        except Exception:\n" +
            "            continue\n" +
            "        m = re.search(r'candidate\\(' + str(x) + r'\\) == (-?\\d+)', text)\n" +
            "        if m: return int(m.group(1))\n" +
            "    return None\n");
        Assert.Equal(ExecutionOutcome.Failed, result.Outcome);
    }

    [Fact]
    public async Task Printing_a_pass_and_exiting_zero()
    {
        var result = await sandbox.RunHostile(
            "import os\nfor fd in (1, 2):\n    os.write(fd, b'passed\\n__ancoder_tests_completed_' + b'0' * 32 + b'__\\n')\n" +
            "def double(x):\n    os._exit(0)\n");
        Assert.Equal(ExecutionOutcome.Failed, result.Outcome);
    }

    [Fact]
    public async Task Printing_fake_protocol_results_for_every_run_id()
    {
        var result = await sandbox.RunHostile(
            "import json, os\nfor i in range(200):\n" +
            "    os.write(1, (json.dumps({'id': i, 'outcome': 'passed', 'reason': 'passed'}) + '\\n').encode())\n" +
            "def double(x):\n    return None\n");
        Assert.Equal(ExecutionOutcome.Failed, result.Outcome);
    }

    [Fact]
    public async Task A_fork_oracle()
    {
        // Child answers, parent waits and claims success if the child did not die: no verdict is visible to either.
        var result = await sandbox.RunHostile(
            "import os\n" +
            "def double(x):\n" +
            "    pid = os.fork()\n" +
            "    if pid == 0:\n" +
            "        os._exit(0)\n" +
            "    _, status = os.waitpid(pid, 0)\n" +
            "    if status == 0:\n" +
            "        os._exit(0)\n" +
            "    return x\n");
        Assert.Equal(ExecutionOutcome.Failed, result.Outcome);
    }

    [Fact]
    public async Task Returning_an_object_that_equals_everything()
    {
        var result = await sandbox.RunHostile(
            "class Anything:\n    def __eq__(self, other):\n        return True\n    __ne__ = lambda self, other: False\n    __hash__ = object.__hash__\n" +
            "def double(x):\n    return Anything()\n");
        Assert.Equal(ExecutionOutcome.Failed, result.Outcome);
    }

    [Fact]
    public async Task Returning_an_int_subclass_that_equals_everything()
    {
        var result = await sandbox.RunHostile(
            "class Evil(int):\n    def __eq__(self, other):\n        return True\n    __hash__ = int.__hash__\n" +
            "def double(x):\n    return Evil(7)\n");
        Assert.Equal(ExecutionOutcome.Failed, result.Outcome);
    }

    [Fact]
    public async Task Shadowing_a_builtin_that_the_tests_use()
    {
        // MBPP's form: the asserts call abs(); the candidate redefines it module-wide and in builtins.
        var job = new SandboxJob(
            "import builtins\nabs = lambda x: 0\nbuiltins.abs = lambda x: 0\nbuiltins.round = lambda *a: 0\ndef half(x):\n    return 123\n",
            new AssertsTest("", ["assert abs(half(3) - 1.5) < 1e-9", "assert round(half(5), 1) == 2.5"], "def half(x):\n    return x / 2\n"));
        var result = await sandbox.RunHostile(job);
        Assert.Equal(ExecutionOutcome.Failed, result.Outcome);
    }

    [Fact]
    public async Task Shadowing_the_assertion_machinery_of_the_tests()
    {
        var result = await sandbox.RunHostile(
            "import builtins\nbuiltins.AssertionError = type('Quiet', (BaseException,), {})\nbuiltins.isinstance = lambda *a: True\n" +
            "def double(x):\n    return x\n");
        Assert.Equal(ExecutionOutcome.Failed, result.Outcome);
    }

    [Fact]
    public async Task Writing_forged_verdicts_into_every_file_descriptor()
    {
        var result = await sandbox.RunHostile(
            "import os, json, struct\n" +
            "payload = json.dumps({'passed': True, 'reason': 'passed', 'ready': True, 'value': 42}).encode()\n" +
            "for fd in range(0, 256):\n" +
            "    try:\n" +
            "        os.write(fd, struct.pack('<I', len(payload)) + payload)\n" +
            "    except OSError:\n" +
            "        pass\n" +
            "def double(x):\n    return None\n");
        Assert.Equal(ExecutionOutcome.Failed, result.Outcome);
    }

    [Fact]
    public async Task Sending_a_malformed_value_instead_of_plain_data()
    {
        // The candidate owns its process, so it can bypass the encoder and write raw frames; the decoder refuses.
        var result = await sandbox.RunHostile(
            "import gc, json, struct, os, socket\n" +
            "def double(x):\n" +
            "    fds = [int(n) for n in os.listdir('/proc/self/fd')]\n" +
            "    bad = json.dumps({'value': {'$t': 'pickle', 'v': 'cos\\nsystem\\n'}}).encode()\n" +
            "    for fd in fds:\n" +
            "        try:\n" +
            "            if socket.socket(fileno=os.dup(fd)).type == socket.SOCK_STREAM:\n" +
            "                os.write(fd, struct.pack('<I', len(bad)) + bad)\n" +
            "        except OSError:\n" +
            "            pass\n" +
            "    os._exit(0)\n");
        Assert.Equal(ExecutionOutcome.Failed, result.Outcome);
    }

    [Fact]
    public async Task Looking_for_the_test_process()
    {
        // The test process is in another PID namespace under another uid: not visible, not signallable, not traceable.
        var result = await sandbox.RunHostile(
            "import os, signal\n" +
            "pids = [int(p) for p in os.listdir('/proc') if p.isdigit()]\n" +
            "print('visible', sorted(pids))\n" +
            "for p in range(1, 4096):\n" +
            "    try:\n" +
            "        os.kill(p, signal.SIGKILL)\n" +
            "    except OSError:\n" +
            "        pass\n" +
            "def double(x):\n    return 0\n");
        Assert.Equal(ExecutionOutcome.Failed, result.Outcome);
    }

    [Fact]
    public async Task Reading_the_benchmark_dataset()
    {
        var dataset = TestData.Directory_;
        var result = await sandbox.RunHostile(
            $"import os\nassert os.path.exists({Python.Literal(dataset)}), 'dataset not visible'\ndef double(x):\n    return 2 * x\n");
        Assert.Contains("dataset not visible", result.Reason);
    }

    [Fact]
    public async Task Reading_the_repository_and_earlier_results()
    {
        var results = Path.Combine(AppContext.BaseDirectory, "eval-results-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(results);
        File.WriteAllText(Path.Combine(results, "results.jsonl"), "{\"completion\": \"    return 2 * x\"}\n");
        try
        {
            var result = await sandbox.RunHostile(
                $"import os\nseen = [p for p in ({Python.Literal(results)}, {Python.Literal(AppContext.BaseDirectory)}, '/work', '/home', '/etc/passwd', '/root/.bashrc') if os.path.exists(p)]\n" +
                "assert not seen, 'visible: ' + repr(seen)\nprint('root:', sorted(os.listdir('/')))\ndef double(x):\n    return 0\n");
            Assert.DoesNotContain("visible:", result.Reason);
            Assert.Contains("root:", result.Stdout);
            var listed = result.Stdout[(result.Stdout.IndexOf("root:", StringComparison.Ordinal) + 5)..];
            Assert.DoesNotContain("'work'", listed);
            Assert.DoesNotContain("'home'", listed);
        }
        finally
        {
            Directory.Delete(results, recursive: true);
        }
    }

    [Fact]
    public async Task The_root_file_system_is_read_only_except_the_working_directory()
    {
        var result = await sandbox.RunHostile(
            "import os\nwritable = []\nfor d in ['/', '/usr', '/dev', '/proc', '/tmp/..', '/usr/lib']:\n" +
            "    try:\n        open(os.path.join(d, 'x'), 'w').close()\n        writable.append(d)\n    except OSError:\n        pass\n" +
            "open('/sandbox/ok', 'w').write('fine')\nprint('writable', writable)\ndef double(x):\n    return 0\n");
        Assert.Contains("writable []", result.Stdout);
    }

}

/// <summary>
/// Attacks on the host's memory and privileges (issue 19): the host-side observation is the candidate sandbox's memory
/// cgroup peak, read by the host outside the namespaces, which must stay within the limit.
/// </summary>
public class RedTeamHostHarmTests(RedTeamSandboxE sandbox) : IClassFixture<RedTeamSandboxE>
{
    private const long Slack = 16L << 20;

    private static void AssertCapHeld(ExecutionResult result)
    {
        Assert.NotNull(result.MemoryPeakBytes);
        Assert.True(result.MemoryPeakBytes <= RedTeamSandbox.RedTeamMemoryBytes + Slack,
            $"the sandbox's memory peaked at {result.MemoryPeakBytes >> 20} MiB, above the {RedTeamSandbox.RedTeamMemoryBytes >> 20} MiB cap");
    }

    [Fact]
    public async Task SysV_shared_memory_beyond_the_cap()
    {
        var result = await sandbox.RunHostile(
            "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\nlibc.shmat.restype = ctypes.c_void_p\n" +
            "got = 0\nfor _ in range(64):\n" +
            "    sid = libc.shmget(0, 64 << 20, 0o1600)\n" +
            "    if sid < 0:\n        print('shmget refused', ctypes.get_errno())\n        break\n" +
            "    addr = libc.shmat(sid, None, 0)\n    ctypes.memset(addr, 1, 64 << 20)\n    got += 64\n" +
            "print('got MiB', got)\ndef double(x):\n    return 2 * x\nraise SystemExit(0)\n");
        Assert.Contains("shmget refused", result.Stdout);
        AssertCapHeld(result);
    }

    [Fact]
    public async Task Memfd_memory_beyond_the_cap()
    {
        var result = await sandbox.RunHostile(
            "import os\nfd = os.memfd_create('x')\nchunk = b'1' * (16 << 20)\nfor _ in range(256):\n    os.write(fd, chunk)\n" +
            "def double(x):\n    return 2 * x\n");
        AssertCapHeld(result);
    }

    [Fact]
    public async Task Tmpfs_memory_in_the_working_directory_beyond_the_cap()
    {
        var result = await sandbox.RunHostile(
            "chunk = b'1' * (1 << 20)\nfor i in range(20):\n    with open(f'/sandbox/f{i}', 'wb') as f:\n        for _ in range(64):\n            f.write(chunk)\n" +
            "def double(x):\n    return 2 * x\n");
        AssertCapHeld(result);
    }

    [Fact]
    public async Task Many_processes_each_below_the_address_space_limit()
    {
        // 40 processes x 200 MB stays under RLIMIT_AS per process; the cgroup bounds their sum. The candidate defines
        // double only if all 40 were alive at once (8 GB): with the cap the OOM killer ends most children while the small
        // parent lives on, so the verdict must not depend on whether the parent also ran out of time (a fast machine
        // finishes within the wall limit, a busy one does not).
        var result = await sandbox.RunHostile(
            "import os, time\npids = []\nfor _ in range(40):\n    pid = os.fork()\n    if pid == 0:\n        x = b'1' * (200 << 20)\n        time.sleep(10)\n        os._exit(0)\n" +
            "    pids.append(pid)\ntime.sleep(5)\nalive = sum(1 for p in pids if os.waitpid(p, os.WNOHANG) == (0, 0))\n" +
            "if alive == 40:\n    def double(x):\n        return 2 * x\n");
        AssertCapHeld(result);
    }

    [Fact]
    public async Task A_user_namespace_for_a_private_tmpfs()
    {
        var result = await sandbox.RunHostile(
            "import ctypes, subprocess\nlibc = ctypes.CDLL(None, use_errno=True)\n" +
            "print('unshare', libc.unshare(0x10000000), ctypes.get_errno())\n" +
            "p = subprocess.run(['unshare', '-Urm', 'sh', '-c', 'mount -t tmpfs none /sandbox && head -c 300000000 /dev/zero > /sandbox/x'], capture_output=True)\n" +
            "print('unshare-cli', p.returncode)\n" +
            "def double(x):\n    return 2 * x\nraise SystemExit(1)\n");
        Assert.Contains("unshare -1 1", result.Stdout);   // EPERM from the seccomp filter
        Assert.DoesNotContain("unshare-cli 0", result.Stdout);
        AssertCapHeld(result);
    }

    [Fact]
    public async Task Setuid_binaries_give_nothing()
    {
        var result = await sandbox.RunHostile(
            "import subprocess\nstatus = open('/proc/self/status').read()\n" +
            "print('nnp', [l for l in status.splitlines() if l.startswith('NoNewPrivs')])\n" +
            "for cmd in (['su', '-c', 'id -u'], ['mount', '-t', 'tmpfs', 'none', '/usr'], ['sudo', 'id']):\n" +
            "    try:\n        p = subprocess.run(cmd, capture_output=True, timeout=1)\n        print('ran', cmd[0], p.returncode, p.stdout)\n" +
            "    except Exception as e:\n        print('ran', cmd[0], type(e).__name__)\n" +
            "import os\nprint('uid', os.getuid(), os.geteuid())\ndef double(x):\n    return 0\n");
        Assert.Contains("'NoNewPrivs:\\t1'", result.Stdout);
        Assert.DoesNotContain("uid 0", result.Stdout);
        Assert.DoesNotContain("b'0\\n'", result.Stdout);
    }

    [Fact]
    public async Task The_oom_killer_prefers_sandboxed_processes()
    {
        var result = await sandbox.RunHostile("print('adj', open('/proc/self/oom_score_adj').read().strip())\ndef double(x):\n    return 0\n");
        Assert.Contains("adj 1000", result.Stdout);
    }

    [Fact]
    public async Task SysV_limits_are_small_inside()
    {
        var result = await sandbox.RunHostile(
            "print('shmmax', open('/proc/sys/kernel/shmmax').read().strip(), 'shmall', open('/proc/sys/kernel/shmall').read().strip())\n" +
            "open('/proc/sys/kernel/shmmax', 'w').write('18446744073709551615')\ndef double(x):\n    return 2 * x\n");
        Assert.Contains($"shmmax {8 << 20} ", result.Stdout);
    }

    [Fact]
    public async Task A_program_that_holds_its_pipes_open_and_never_finishes()
    {
        // The old harness threw out of the whole evaluation after 5 s; here the run times out and the next one runs.
        var result = await sandbox.RunHostile(
            "import os, time, subprocess\nsubprocess.Popen(['sleep', '300'], start_new_session=True)\n" +
            "if os.fork() == 0:\n    os.setsid()\n    time.sleep(300)\ntime.sleep(300)\n");
        Assert.Equal(ExecutionOutcome.Timeout, result.Outcome);
    }

    [Fact]
    public async Task A_result_arrives_only_after_every_process_of_the_run_is_gone()
    {
        // The host answers once both inits' pidfds say they have exited, and an init's exit empties its PID namespace:
        // the daemon this candidate leaves behind, and both workers, are gone by then (not merely being killed), so
        // the slot's next run never meets them.
        var result = await sandbox.Sandbox.RunAsync(new SandboxJob(
            "import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(300)\n    os._exit(0)\ndef double(x):\n    return 2 * x\n",
            RedTeamSandbox.DoubleTest));
        Assert.True(result.Passed, result.Reason);
        Assert.Empty(sandbox.ProcessesOfSandboxUids());
    }

    [Fact]
    public async Task A_program_that_leaves_a_daemon_holding_its_pipes()
    {
        var clock = Stopwatch.StartNew();
        var result = await sandbox.RunHostile(
            "import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(300)\n    os._exit(0)\ndef double(x):\n    return x\n");
        Assert.Equal(ExecutionOutcome.Failed, result.Outcome);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), "the run waited for the daemon");
    }
}

/// <summary>
/// A sandbox's pid 1 is a clone that shares its zygote's memory (sandbox_host.py, PidOne), and the zygote starts the
/// worker and keeps its deadline; the worker's output goes to the host, never through the zygote.
/// </summary>
public class SandboxPidOneTests(RedTeamSandboxF sandbox) : IClassFixture<RedTeamSandboxF>
{
    [Fact]
    public async Task Pid_1_is_root_in_the_sandboxs_own_mounts_and_takes_no_signal_from_it()
    {
        // Module-level asserts: a failed one means the module did not load, so the run fails.
        var result = await sandbox.Sandbox.RunAsync(new SandboxJob(
            "import os, signal\n" +
            "assert open('/proc/1/mountinfo').read() == open('/proc/self/mountinfo').read(), 'pid 1 sees other mounts'\n" +
            "assert '\\nUid:\\t0\\t' in open('/proc/1/status').read(), 'pid 1 is not root'\n" +
            "assert os.getpid() == 2 and os.getppid() == 0, (os.getpid(), os.getppid())\n" +
            "refused = 0\n" +
            "for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGKILL):\n" +
            "    try:\n" +
            "        os.kill(1, s)\n" +
            "    except PermissionError:\n" +
            "        refused += 1\n" +
            "assert refused == 5, refused\n" +
            "assert os.path.exists('/proc/1/status'), 'pid 1 is gone'\n" +
            "def double(x):\n    return 2 * x\n",
            RedTeamSandbox.DoubleTest));
        Assert.True(result.Passed, $"{result.Reason} {result.Stderr}");
    }

    [Fact]
    public async Task A_run_finds_nothing_the_previous_run_printed_in_the_memory_it_inherits()
    {
        // Run 1 prints a marker (47 KB of it, below the output cap); run 2 (same slot, so forked from the same candidate
        // zygote) searches its own heap, stack and anonymous memory for it. The search itself is checked: it must find
        // the needle and exactly the one copy run 2 makes. A zygote that drains the output itself (tried while writing
        // this) leaves copies there that this search finds (2 besides the probe).
        var marker = "ancoder-marker-" + Guid.NewGuid().ToString("N");
        var printed = await sandbox.Sandbox.RunAsync(new SandboxJob(
            $"print({Python.Literal(marker)} * 1000)\ndef double(x):\n    return 2 * x\n", RedTeamSandbox.DoubleTest));
        Assert.True(printed.Passed, printed.Reason);
        Assert.Contains(marker, printed.Stdout);
        var masked = string.Join(", ", System.Text.Encoding.ASCII.GetBytes(marker).Select(b => (b ^ 0x5A).ToString()));
        var searched = await sandbox.Sandbox.RunAsync(new SandboxJob(
            "import ctypes, re\n" +
            $"needle = bytes([b ^ 0x5A for b in [{masked}]])\n" +  // the marker never appears in this source
            "probe = bytearray(needle)\n" +
            "own = id(needle) + bytes.__basicsize__ - 1\n" +  // where the needle's own bytes are
            "pattern = re.compile(re.escape(needle))\n" +
            "found = []\n" +
            "for line in open('/proc/self/maps').read().splitlines():\n" +  // anonymous memory, heap and stack, read in place
            "    fields = line.split()\n" +
            "    if fields[1][0] != 'r' or (len(fields) > 5 and fields[5] not in ('[heap]', '[stack]')):\n" +
            "        continue\n" +
            "    start, end = (int(a, 16) for a in fields[0].split('-'))\n" +
            "    found += [start + m.start() for m in pattern.finditer((ctypes.c_char * (end - start)).from_address(start))]\n" +
            "assert own in found, 'the search missed the needle itself'\n" +
            "others = [a for a in found if a != own]\n" +
            "assert others == [ctypes.addressof(ctypes.c_char.from_buffer(probe))], f'{len(others)} copies besides the needle'\n" +
            "def double(x):\n    return 2 * x\n",
            RedTeamSandbox.DoubleTest));
        Assert.True(searched.Passed, $"{searched.Reason} {searched.Stderr}");
    }

    [Fact]
    public async Task Output_still_pouring_in_when_the_sandbox_ends_leaves_the_host_serving()
    {
        // A daemon floods stdout until the namespace dies (the host reads the pipes itself now, not the sandbox's
        // pid 1): the host keeps the cap, counts the rest, closes the pipes and serves the next runs (RunHostile runs
        // a benign one; three more runs each write past the cap and leave a child flooding stdout when the candidate
        // is released).
        var result = await sandbox.RunHostile(
            "import os, sys\n" +
            "if os.fork() == 0:\n" +
            "    os.setsid()\n" +
            "    while True:\n" +
            "        os.write(1, b'x' * 65536)\n" +
            "def double(x):\n    return x\n");
        Assert.Equal(ExecutionOutcome.Failed, result.Outcome);
        for (int i = 0; i < 3; i++)
        {
            var again = await sandbox.Sandbox.RunAsync(new SandboxJob(
                "import os\nif os.fork() == 0:\n    while True:\n        os.write(1, b'y' * 65536)\n" +
                "os.write(1, b'z' * 100_000)\ndef double(x):\n    return 2 * x\n",  // past the 64 KiB cap whatever the child wrote
                RedTeamSandbox.DoubleTest));
            Assert.True(again.Passed, $"{again.Reason} {again.Stderr}");
            Assert.Contains("more bytes not kept", again.Stdout);
        }
    }

}

/// <summary>The sandbox dies within its deadline when its host (ancoder) dies, and leaves no cgroup behind.</summary>
public class OrphanTests
{
    private const string Sleeper = "import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(300)\ntime.sleep(300)\ndef double(x):\n    return 2 * x\n";

    private static PythonSandbox NewSandbox(int uidBase) => PythonSandbox.Create(new SandboxOptions
    {
        UidBase = uidBase, Workers = 1, Limits = new SandboxLimits { WallTime = TimeSpan.FromSeconds(4) },
    });

    private static async Task AssertNoProcessesOf(int uidBase, TimeSpan within)
    {
        var fixture = new UidWatcher(uidBase, 2);
        var deadline = DateTime.UtcNow + within;
        while (fixture.Processes().Count > 0 && DateTime.UtcNow < deadline)
            await Task.Delay(50);
        Assert.Empty(fixture.Processes());
    }

    private static List<string> CgroupsOfHost(int hostPid) =>
        Directory.EnumerateDirectories("/sys/fs/cgroup", $"ancoder-{hostPid}", SearchOption.AllDirectories).ToList();

    [Fact]
    public async Task SIGKILL_of_the_sandbox_host_kills_every_sandboxed_process()
    {
        var sandbox = NewSandbox(62500);
        var hostPid = sandbox.HostProcessId;
        var run = sandbox.RunAsync(new SandboxJob(Sleeper, RedTeamSandbox.DoubleTest));
        await Task.Delay(700);
        Process.GetProcessById(hostPid).Kill();   // SIGKILL: no cleanup code of the host runs
        await Assert.ThrowsAnyAsync<Exception>(() => run);
        await AssertNoProcessesOf(62500, TimeSpan.FromSeconds(20));
        sandbox.Dispose();
        // The dead host's run cgroups stay behind (nothing of it runs any more); the next sandbox sweeps its folder.
        var wait = DateTime.UtcNow.AddSeconds(5);
        while (CgroupsOfHost(hostPid).Any(d => Directory.EnumerateDirectories(d).Any()) && DateTime.UtcNow < wait)
            await Task.Delay(50);
        using var next = NewSandbox(62500);
        Assert.Empty(CgroupsOfHost(hostPid));
    }

    [Fact]
    public async Task Closing_the_hosts_input_ends_the_runs_and_removes_the_cgroups()
    {
        // What the host sees when ancoder is SIGKILLed: its stdin reaches end of file.
        var sandbox = NewSandbox(62600);
        var hostPid = sandbox.HostProcessId;
        var run = sandbox.RunAsync(new SandboxJob(Sleeper, RedTeamSandbox.DoubleTest));
        await Task.Delay(700);
        sandbox.Dispose();
        await AssertNoProcessesOf(62600, TimeSpan.FromSeconds(20));
        Assert.Empty(CgroupsOfHost(hostPid));
        Assert.False((await run).Passed);
    }
}

internal sealed class UidWatcher(int uidBase, int count)
{
    public List<int> Processes()
    {
        var found = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
                continue;
            try
            {
                var uidLine = File.ReadLines(Path.Combine(dir, "status")).FirstOrDefault(l => l.StartsWith("Uid:", StringComparison.Ordinal));
                if (uidLine is null)
                    continue;
                var realUid = int.Parse(uidLine.Split('\t', StringSplitOptions.RemoveEmptyEntries)[1]);
                if (realUid >= uidBase && realUid < uidBase + count)
                    found.Add(pid);
            }
            catch (IOException)
            {
            }
        }
        return found;
    }
}
