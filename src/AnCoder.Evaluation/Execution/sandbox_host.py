# The warm half of the AnCoder evaluation sandbox (PythonSandbox.cs is the host half). Started once per sandbox as
#   python3 -I sandbox_host.py CONFIG_JSON
# by root. It pre-imports the standard modules programs use, then serves one JSON request per line on stdin and
# answers one JSON line per run on stdout. Every run is split in two sandboxes (docs: src/AnCoder.Evaluation/README.md):
#
#   M (this process, root)
#    ├─fork (before any request)──> Z_t (test zygote, root)
#    │                                └─unshare; clone P_t (pid 1); fork T (pid 2); setns back : the benchmark's test code
#    └─fork (before any request)──> Z_k (candidate zygote, root; never sees a test, a source or an output)
#                                     └─unshare; clone P_k (pid 1); fork K (pid 2); setns back : the candidate
#
# P (PidOne) only keeps the namespace alive: it shares its zygote's memory and runs a few machine instructions; its
# exit empties the namespace. The zygote watches its worker (exit status, deadline) and M reads the worker's output.
# K runs the untrusted candidate module and serves calls over a socketpair; T runs the trusted test code with
# `candidate` replaced by a proxy that forwards each call and gets back plain data only (strict decoder, exact
# builtin types). The verdict is what T reports on a pipe only T holds; K's exit status and output decide nothing.
# Each sandbox: fresh PID, mount, network, IPC and UTS namespaces, a minimal root (Python installation and system
# libraries read-only, nothing else), its own memory+pids cgroup, SysV IPC limits, an unprivileged uid, rlimits,
# no_new_privs, a seccomp filter that refuses new namespaces, oom_score_adj 1000, and a deadline kept by its zygote.
import builtins
import ctypes
import gc
import resource
import errno
import json
import os
import select
import signal
import socket
import struct
import sys
import time

# Warm imports: whatever the benchmark programs commonly import is loaded once here, so a forked run finds it in
# sys.modules (the fork gives every run a private copy; random reseeds itself after fork).
import abc, array, ast, bisect, cmath, collections, collections.abc, copy, dataclasses, datetime, decimal, enum  # noqa: E401,F401
import fractions, functools, hashlib, heapq, io, itertools, math, numbers, operator, pickle, random, re  # noqa: E401,F401
import statistics, string, textwrap, types, typing, unicodedata  # noqa: E401,F401

libc = ctypes.CDLL(None, use_errno=True)

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER = 0x00020000, 0x04000000, 0x08000000, 0x10000000
CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP = 0x20000000, 0x40000000, 0x02000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 8, 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, PR_SET_DUMPABLE = 1, 38, 22, 4
SECCOMP_MODE_FILTER = 2
SYS_PIVOT_ROOT = 155
MAX_MESSAGE = 64 << 20
MARKS = []  # (stage, monotonic s, CPU s of this process so far, pid): where a run's time goes, reported with each result


def mark(stage):
    MARKS.append((stage, time.monotonic(), time.process_time(), os.getpid()))


def check(result, what):
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def mount(source, target, fstype, flags, data=None):
    check(libc.mount(source.encode() if source else None, target.encode(), fstype.encode() if fstype else None,
                     ctypes.c_ulong(flags), data.encode() if data else None), f"mount {source} -> {target}")


def prctl(option, value):
    check(libc.prctl(option, ctypes.c_ulong(value), 0, 0, 0), f"prctl {option}")


# ---------------------------------------------------------------------------------------------------- seccomp
# x86_64 only (the filter checks the architecture and kills anything else). Refused with EPERM: unshare, setns,
# clone with any CLONE_NEW* flag (so no user namespace, hence no private tmpfs or mount tricks), keyctl/add_key/
# request_key (the keyring is not namespaced), bpf, perf_event_open, userfaultfd, io_uring_*; clone3 gets ENOSYS
# (its flags sit behind a pointer seccomp cannot read; glibc then falls back to clone); x32 syscalls are killed.
AUDIT_ARCH_X86_64 = 0xC000003E
NR = {"clone": 56, "unshare": 272, "setns": 308, "clone3": 435, "keyctl": 250, "add_key": 248, "request_key": 249,
      "bpf": 321, "perf_event_open": 298, "userfaultfd": 323, "io_uring_setup": 425, "io_uring_enter": 426,
      "io_uring_register": 427, "mount": 165, "umount2": 166, "pivot_root": 155, "ptrace": 101}
NAMESPACE_FLAGS = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP


class SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint)]


class SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(SockFilter))]


def seccomp_program():
    LD, JEQ, JGE, JSET, RET = 0x20, 0x15, 0x35, 0x45, 0x06
    ALLOW, KILL, EPERM, ENOSYS = 0x7FFF0000, 0x80000000, 0x00050000 | errno.EPERM, 0x00050000 | errno.ENOSYS
    denied = ["unshare", "setns", "keyctl", "add_key", "request_key", "bpf", "perf_event_open", "userfaultfd",
              "io_uring_setup", "io_uring_enter", "io_uring_register", "mount", "umount2", "pivot_root", "ptrace"]
    prog = [(LD, 0, 0, 4), (JEQ, 1, 0, AUDIT_ARCH_X86_64), (RET, 0, 0, KILL), (LD, 0, 0, 0),
            (JGE, 0, 1, 0x40000000), (RET, 0, 0, KILL)]
    for name in denied:
        prog += [(JEQ, 0, 1, NR[name]), (RET, 0, 0, EPERM)]
    prog += [(JEQ, 0, 1, NR["clone3"]), (RET, 0, 0, ENOSYS),
             (JEQ, 0, 3, NR["clone"]), (LD, 0, 0, 16), (JSET, 0, 1, NAMESPACE_FLAGS), (RET, 0, 0, EPERM),
             (RET, 0, 0, ALLOW)]
    return prog


def compile_seccomp():
    prog = seccomp_program()
    filters = (SockFilter * len(prog))(*[SockFilter(*f) for f in prog])
    return filters, SockFprog(len(prog), ctypes.cast(filters, ctypes.POINTER(SockFilter)))


SECCOMP_FILTERS, SECCOMP_FPROG = compile_seccomp()  # built once in the host; every sandboxed worker installs this copy


def install_seccomp():
    check(libc.prctl(PR_SET_SECCOMP, ctypes.c_ulong(SECCOMP_MODE_FILTER), ctypes.byref(SECCOMP_FPROG), 0, 0), "seccomp")


# ---------------------------------------------------------------------------------------------------- cgroups
def find_cgroups():
    """The cgroup flavour in force: ('v2', dir) with memory+pids delegated, ('v1', {memory: dir, pids: dir}), or
    ('none', reason). ANCODER_CGROUP (a delegated v2 directory) overrides the v2 search."""
    own = {}
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            for c in controllers.split(","):
                own[c] = path
    override = os.environ.get("ANCODER_CGROUP")
    v2_root = "/sys/fs/cgroup"
    if override or os.path.exists(os.path.join(v2_root, "cgroup.controllers")):
        base = override or (v2_root + own.get("", "/"))
        try:
            with open(os.path.join(base, "cgroup.subtree_control")) as f:
                enabled = f.read().split()
            if not {"memory", "pids"} <= set(enabled):
                with open(os.path.join(base, "cgroup.subtree_control"), "w") as f:
                    f.write("+memory +pids")
            return "v2", {"unified": base}
        except OSError as e:
            return "none", f"cgroup v2 without delegated memory/pids controllers at {base} ({e.strerror}); set ANCODER_CGROUP"
    found = {}
    for controller in ("memory", "pids"):
        root = os.path.join("/sys/fs/cgroup", controller)
        if controller in own and os.path.isdir(root):
            found[controller] = root + own[controller]
    if set(found) == {"memory", "pids"}:
        return "v1", found
    return "none", "no memory and pids cgroup controllers found"


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


class Cgroups:
    def __init__(self):
        self.kind, found = find_cgroups()
        self.reason = found if self.kind == "none" else None
        self.bases = {}
        if self.kind == "none":
            return
        self.sweep(found)
        for controller, parent in found.items():
            base = os.path.join(parent, f"ancoder-{os.getpid()}")
            os.makedirs(base, exist_ok=True)
            if self.kind == "v2":
                write(os.path.join(base, "cgroup.subtree_control"), "+memory +pids")
            self.bases[controller] = base

    @staticmethod
    def sweep(found):
        """Removes the cgroups of sandboxes whose host process died (SIGKILL leaves them behind)."""
        for parent in found.values():
            for name in os.listdir(parent):
                if not name.startswith("ancoder-") or not name[8:].isdigit() or os.path.exists(f"/proc/{name[8:]}"):
                    continue
                try:
                    Cgroups.remove_tree(os.path.join(parent, name))
                except OSError:
                    pass

    @staticmethod
    def remove_tree(base):
        """Removes a cgroup folder and its (empty) child cgroups; a child still busy makes the last rmdir raise."""
        for child in os.listdir(base):
            if os.path.isdir(os.path.join(base, child)):
                try:
                    os.rmdir(os.path.join(base, child))
                except OSError:
                    pass
        os.rmdir(base)

    def paths(self, name, run_id):
        """The cgroup folders of one sandbox, one per controller (the order of self.bases). v1: one folder per slot
        and side, reused run after run (a run's processes are all gone before the next run of its slot starts; the
        peak is reset), since creating memory cgroups costs more than the rest of a run's setup. v2: a fresh folder
        per run."""
        return [os.path.join(base, name) + (f"-{run_id}" if self.kind == "v2" else "") for base in self.bases.values()]

    def create(self, paths, memory_bytes, pids):
        for controller, path in zip(self.bases, paths):
            if self.kind == "v1" and os.path.isdir(path):
                if controller == "memory":
                    write(os.path.join(path, "memory.max_usage_in_bytes"), "0")
                continue
            os.mkdir(path)
            if self.kind == "v2":
                write(os.path.join(path, "memory.max"), str(memory_bytes))
                write(os.path.join(path, "memory.swap.max"), "0")
                write(os.path.join(path, "pids.max"), str(pids))
            elif controller == "memory":
                write(os.path.join(path, "memory.limit_in_bytes"), str(memory_bytes))
                if os.path.exists(os.path.join(path, "memory.memsw.limit_in_bytes")):
                    write(os.path.join(path, "memory.memsw.limit_in_bytes"), str(memory_bytes))
            else:
                write(os.path.join(path, "pids.max"), str(pids))

    @staticmethod
    def enter_self(paths):
        """Moves the calling process (pid 0 = the writer, whatever its PID namespace) into the sandbox's cgroups;
        everything it forks afterwards starts there."""
        for path in paths:
            write(os.path.join(path, "cgroup.procs"), "0")

    def peak_bytes(self, paths):
        for path in paths:
            for name in ("memory.max_usage_in_bytes", "memory.peak"):
                try:
                    with open(os.path.join(path, name)) as f:
                        return int(f.read())
                except (OSError, ValueError):
                    pass
        return None

    def remove(self, paths):
        """After the sandbox's pid 1 has exited (its namespace is empty then): v2 folders are removed, v1 kept for
        the slot's next run."""
        if self.kind != "v2":
            return
        for path in paths:
            for _ in range(200):
                try:
                    os.rmdir(path)
                    break
                except FileNotFoundError:
                    break
                except OSError as e:
                    if e.errno != errno.EBUSY:
                        break
                    time.sleep(0.005)

    def remove_bases(self, wait_seconds):
        deadline = time.monotonic() + wait_seconds
        for base in self.bases.values():
            while True:
                try:
                    self.remove_tree(base)
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.02)


# ---------------------------------------------------------------------------------------------------- framing
def send_message(fd, payload):
    data = struct.pack("<I", len(payload)) + payload
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def read_exact(fd, n):
    chunks, got = [], 0
    while got < n:
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def receive_message(fd):
    (length,) = struct.unpack("<I", read_exact(fd, 4))
    if length > MAX_MESSAGE:
        raise ValueError("message too large")
    return read_exact(fd, length)


# ---------------------------------------------------------------------------------------------------- plain data
# K (untrusted) encodes a value as JSON with tagged containers; T decodes only exact builtin types (plus a few
# collections types) so that no object of the candidate's making, and no __eq__ of its choosing, reaches the tests.
# Anything else becomes an opaque reference that compares by identity and can only be passed back to the candidate.
ITERATOR_CAP = 1_000_000


class Encoder:
    def __init__(self):
        self.objects = {}

    def ref(self, value):
        key = len(self.objects) + 1
        self.objects[key] = value
        return {"$t": "ref", "id": key}

    def enc(self, v):
        t = type(v)
        if v is None or t is bool or t is str:
            return v
        if t is int:
            return v
        if t is float:
            return {"$t": "float", "v": v.hex()} if v != v or v in (float("inf"), float("-inf")) else v
        if t is list:
            return [self.enc(x) for x in v]
        if t in (tuple, set, frozenset):
            return {"$t": t.__name__, "v": [self.enc(x) for x in v]}
        if t is dict:
            return {"$t": "dict", "v": [[self.enc(k), self.enc(x)] for k, x in v.items()]}
        if t is bytes:
            return {"$t": "bytes", "v": v.hex()}
        if t is complex:
            return {"$t": "complex", "v": [self.enc(v.real), self.enc(v.imag)]}
        if t is range:
            return {"$t": "range", "v": [v.start, v.stop, v.step]}
        if t in (collections.Counter, collections.OrderedDict, collections.defaultdict):
            return {"$t": t.__name__, "v": [[self.enc(k), self.enc(x)] for k, x in dict.items(v)]}
        if t is collections.deque:
            return {"$t": "deque", "v": [self.enc(x) for x in v]}
        if t is type({}.keys()):
            return {"$t": "keys", "v": [self.enc(x) for x in v]}
        if t is type({}.values()):
            return {"$t": "values", "v": [self.enc(x) for x in v]}
        if t is type({}.items()):
            return {"$t": "items", "v": [[self.enc(k), self.enc(x)] for k, x in v]}
        if isinstance(v, bool):
            return bool(v)
        if isinstance(v, int):
            return int.__add__(v, 0)
        if isinstance(v, float):
            return self.enc(float.__add__(v, 0.0))
        if isinstance(v, str):
            return str.__add__(v, "")
        if isinstance(v, tuple) and hasattr(v, "_fields"):
            return {"$t": "tuple", "v": [self.enc(x) for x in tuple.__iter__(v)]}
        if isinstance(v, collections.abc.Iterator):
            items = []
            for x in v:
                items.append(self.enc(x))
                if len(items) > ITERATOR_CAP:
                    raise ValueError("iterator too long to return")
            return {"$t": "iter", "v": items}
        return self.ref(v)


class RemoteRef:
    """A candidate object that is not plain data: compares by identity, can be passed back to the candidate."""
    __slots__ = ("ref_id", "type_name")

    def __init__(self, ref_id, type_name):
        self.ref_id, self.type_name = ref_id, type_name

    def __repr__(self):
        return f"<candidate object #{self.ref_id}>"


def decode(j, refs):
    t = type(j)
    if j is None or t in (bool, int, float, str):
        return j
    if t is list:
        return [decode(x, refs) for x in j]
    if t is not dict or set(j) - {"$t", "v", "id"}:
        raise ValueError("malformed value from the candidate")
    tag, v = j.get("$t"), j.get("v")
    if tag == "float" and type(v) is str:
        return float.fromhex(v)
    if tag in ("tuple", "set", "frozenset", "deque", "iter", "keys") and type(v) is list:
        items = [decode(x, refs) for x in v]
        return {"tuple": tuple, "set": set, "frozenset": frozenset, "deque": collections.deque, "iter": iter,
                "keys": lambda xs: dict.fromkeys(xs).keys()}[tag](items)
    if tag == "values" and type(v) is list:
        return {i: decode(x, refs) for i, x in enumerate(v)}.values()
    if tag in ("dict", "Counter", "OrderedDict", "defaultdict", "items") and type(v) is list:
        pairs = []
        for pair in v:
            if type(pair) is not list or len(pair) != 2:
                raise ValueError("malformed mapping from the candidate")
            pairs.append((decode(pair[0], refs), decode(pair[1], refs)))
        if tag == "items":
            return dict(pairs).items()
        if tag == "defaultdict":
            return collections.defaultdict(None, pairs)
        return {"dict": dict, "Counter": collections.Counter, "OrderedDict": collections.OrderedDict}[tag](dict(pairs))
    if tag == "bytes" and type(v) is str:
        return bytes.fromhex(v)
    if tag == "complex" and type(v) is list and len(v) == 2:
        return complex(decode(v[0], refs), decode(v[1], refs))
    if tag == "range" and type(v) is list and len(v) == 3 and all(type(x) is int for x in v):
        return range(*v)
    if tag == "ref" and type(j.get("id")) is int:
        return refs.setdefault(j["id"], RemoteRef(j["id"], "object"))
    raise ValueError("malformed value from the candidate")


# ---------------------------------------------------------------------------------------------------- candidate (K)
def flush_quietly():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:  # noqa: BLE001 - the candidate may have replaced or closed them
            pass


def candidate_main(source, channel, mode):
    """Runs in K as the unprivileged candidate uid. mode 'whole': run the program, exit 0 if it returns. mode
    'serve': run the module, then answer lookups and calls from T until the channel closes."""
    main = types.ModuleType("__main__")
    main.__dict__["__builtins__"] = __builtins__
    sys.modules["__main__"] = main
    sys.argv = ["program.py"]
    try:
        code = compile(source, "program.py", "exec")
        exec(code, main.__dict__)
        loaded = None
    except BaseException as e:  # noqa: BLE001 - any escape (SystemExit too) means the module did not load
        loaded = f"{type(e).__name__}: {e}"
    flush_quietly()  # before anything is reported: M ends this sandbox as soon as the tests are done
    if mode == "whole":
        os._exit(0 if loaded is None else 1)
    encoder = Encoder()
    send_message(channel, json.dumps({"ready": loaded is None, "error": loaded}).encode())
    if loaded is not None:
        os._exit(1)

    class RefUnpickler(pickle.Unpickler):
        def persistent_load(self, pid):
            return encoder.objects[pid]

    while True:
        try:
            request = RefUnpickler(io.BytesIO(receive_message(channel))).load()
        except (EOFError, OSError):
            flush_quietly()
            os._exit(0)
        op = request[0]
        try:
            if op == "get":
                name = request[1]
                if name not in main.__dict__:
                    reply = {"kind": "missing"}
                else:
                    value = main.__dict__[name]
                    if isinstance(value, types.ModuleType):
                        reply = {"kind": "module", "name": value.__name__}
                    elif callable(value):
                        reply = {"kind": "callable"}
                    else:
                        reply = {"kind": "value", "value": encoder.enc(value)}
            else:
                _, target, args, kwargs = request
                function = main.__dict__[target] if isinstance(target, str) else encoder.objects[target]
                reply = {"value": encoder.enc(function(*args, **kwargs))}
        except BaseException as e:  # noqa: BLE001 - the candidate's exception (SystemExit included) goes to T
            try:
                message = str(e)[:200]
            except BaseException:  # noqa: BLE001
                message = ""
            reply = {"raise": [type(e).__name__, message]}
        send_message(channel, json.dumps(reply).encode())


# ---------------------------------------------------------------------------------------------------- tests (T)
class CandidateError(Exception):
    pass


class CandidateGone(BaseException):
    """The candidate stopped answering: the run fails however the test code handles exceptions."""


class Channel:
    def __init__(self, fd):
        self.fd = fd
        self.refs = {}

    def ask(self, request):
        buffer = io.BytesIO()
        pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
        pickler.persistent_id = lambda obj: obj.ref_id if type(obj) is RemoteRef else None
        pickler.dump(request)
        try:
            send_message(self.fd, buffer.getvalue())
            reply = json.loads(receive_message(self.fd))
        except (EOFError, OSError, ValueError) as e:
            raise CandidateGone(f"the candidate process stopped answering ({type(e).__name__})") from None
        if type(reply) is not dict:
            raise CandidateGone("malformed reply from the candidate")
        return reply

    def result(self, reply):
        if "raise" in reply:
            raised = reply["raise"]
            if type(raised) is not list or len(raised) != 2 or not all(type(x) is str for x in raised):
                raise CandidateGone("malformed reply from the candidate")
            name, message = raised
            builtin = getattr(builtins, name, None)
            if isinstance(builtin, type) and issubclass(builtin, Exception):
                raise builtin(message)
            raise CandidateError(f"{name}: {message}")
        try:
            return decode(reply.get("value"), self.refs)
        except (ValueError, TypeError, RecursionError, OverflowError) as e:
            raise CandidateGone(f"the candidate returned something that is not plain data ({e})") from None


def make_proxy(channel, target):
    def proxy(*args, **kwargs):
        return channel.result(channel.ask(("call", target, args, kwargs)))
    proxy.__name__ = proxy.__qualname__ = target if isinstance(target, str) else "candidate_object"
    return proxy


def bound_names(source):
    """Names a module binds at its top level (functions, classes, assignments, imports; not inside functions)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names = set()

    def visit(statements):
        for s in statements:
            if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(s.name)
            elif isinstance(s, (ast.Import, ast.ImportFrom)):
                for a in s.names:
                    names.add((a.asname or a.name).split(".")[0])
            elif isinstance(s, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.For, ast.With)):
                for n in ast.walk(s):
                    if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                        names.add(n.id)
            for field in ("body", "orelse", "finalbody", "handlers"):
                inner = getattr(s, field, None)
                if isinstance(inner, list) and not isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    visit(inner)
    visit(tree.body)
    return names


def import_module_named(name):
    __import__(name)
    return sys.modules[name]


def test_main(test, channel_fd, report_fd):
    """Runs in T as the unprivileged test uid; writes {"passed", "reason"} to report_fd (only T holds it)."""
    channel = Channel(channel_fd)
    main = types.ModuleType("__main__")
    sys.modules["__main__"] = main
    namespace = main.__dict__
    namespace["__builtins__"] = __builtins__

    def report(passed, reason):
        mark("verdict")
        send_message(report_fd, json.dumps({"passed": passed, "reason": reason[:300], "at": time.monotonic(),
                                            "marks": MARKS[-3:]}).encode())
        os._exit(0)

    try:
        if test["kind"] == "check":
            exec(compile(test["prelude"], "prompt.py", "exec"), namespace)
        else:
            exec(compile(test["setup"], "setup.py", "exec"), namespace)
        setup_names = set(namespace)
        mark("test_loaded")
        try:
            hello = json.loads(receive_message(channel_fd))
            mark("candidate_ready")
        except (EOFError, OSError, ValueError):
            report(False, "the candidate process ended before loading")
        if type(hello) is not dict or hello.get("ready") is not True:
            error = hello.get("error") if type(hello) is dict and type(hello.get("error")) is str else "?"
            report(False, "the candidate did not load: " + error)
        if test["kind"] == "check":
            entry = test["entry_point"]
            reply = channel.ask(("get", entry))
            if reply.get("kind") != "callable":
                report(False, f"NameError: the candidate defines no function {entry!r}")
            namespace[entry] = make_proxy(channel, entry)
            exec(compile(test["test"], "test.py", "exec"), namespace)
            code = compile(f"check({entry})", "test.py", "exec")
        else:
            source = "\n".join(test["asserts"])
            code = compile(source, "test.py", "exec")
            loaded = {n.id for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Name)}
            builtin_names = set(dir(builtins))
            from_solution = bound_names(test["canonical"])
            for name in sorted(loaded):
                if name in setup_names or (name in builtin_names and name not in from_solution):
                    continue
                reply = channel.ask(("get", name))
                kind = reply.get("kind")
                if kind == "callable":
                    namespace[name] = make_proxy(channel, name)
                elif kind == "module" and reply.get("name") == name:
                    namespace[name] = import_module_named(name)
                elif kind == "value":
                    namespace[name] = channel.result(reply)
        exec(code, namespace)
    except CandidateGone as e:
        report(False, str(e))
    except BaseException as e:  # noqa: BLE001 - anything escaping the tests (SystemExit too) fails the run
        report(False, f"{type(e).__name__}: {e}" if str(e) else type(e).__name__)
    report(True, "passed")


# ---------------------------------------------------------------------------------------------------- one sandbox
def build_template_root(config):
    """Once, in the host's own private mount namespace (M unshares it at start, so nothing of this ever appears in
    the machine's namespace and all of it vanishes with the host): a tmpfs holding read-only binds of the Python
    installation and system libraries, /dev/{null,zero,random,urandom}, and the empty mount points /proc and
    /sandbox, then made read-only. Every sandbox's pid 1 copies it with its fresh mount namespace, and the worker
    adds only its own /proc and /sandbox (build_root): the same tree the init used to build from scratch (about 30 mount calls)
    per sandbox."""
    check(libc.unshare(CLONE_NEWNS), "unshare the host's mount namespace")
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    old_umask = os.umask(0o022)  # the directories leading to the read-only binds must be traversable by the run's uid
    root = config["root_dir"]
    mount("ancoder-root", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,nr_inodes=512,mode=0755")
    for path in config["read_only"]:
        target = root + path
        if os.path.islink(path):
            os.makedirs(os.path.dirname(target), exist_ok=True)
            os.symlink(os.readlink(path), target)
            continue
        if os.path.isdir(path):
            os.makedirs(target, exist_ok=True)
        elif os.path.isfile(path):
            os.makedirs(os.path.dirname(target), exist_ok=True)
            open(target, "w").close()
        else:
            continue
        mount(path, target, None, MS_BIND | MS_REC)
        mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
    os.makedirs(root + "/dev")
    for device in ("null", "zero", "random", "urandom"):
        open(f"{root}/dev/{device}", "w").close()
        mount(f"/dev/{device}", f"{root}/dev/{device}", None, MS_BIND)
        mount(None, f"{root}/dev/{device}", None, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NOEXEC)
    os.makedirs(root + "/proc")
    os.makedirs(root + "/sandbox")
    os.symlink("/sandbox", root + "/tmp")
    mount(None, root, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
    os.umask(old_umask)


def build_root(config, spec, work_uid):
    """Inside fresh mount + PID namespaces (as their pid 1): the host's template root (build_template_root; read-only)
    plus a fresh /proc and /sandbox (the only writable place, a size-limited tmpfs owned by the run's uid) becomes
    the root; the host's file system is detached."""
    root = config["root_dir"]
    mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    limits = spec["limits"]
    mount("ancoder-sandbox", root + "/sandbox", "tmpfs", MS_NOSUID | MS_NODEV,
          f"size={limits['dir_bytes']},nr_inodes={limits['dir_inodes']},mode=0700,uid={work_uid},gid={work_uid}")
    os.chdir(root)
    check(libc.syscall(SYS_PIVOT_ROOT, b".", b"."), "pivot_root")
    check(libc.umount2(b".", MNT_DETACH), "umount old root")
    os.chdir("/")


def close_all_but(keep):
    previous = 2
    for fd in sorted(keep) + [1 << 16]:
        os.closerange(previous + 1, fd)
        previous = fd


def to_dev_null(*fds):
    null = os.open("/dev/null", os.O_RDWR)
    for fd in fds:
        os.dup2(null, fd)
    os.close(null)


def limit_ipc():
    """Small SysV IPC limits in this (fresh) IPC namespace: shared memory is not bounded by RLIMIT_AS."""
    for name, value in (("shmmax", 8 << 20), ("shmall", (8 << 20) // 4096), ("shmmni", 16), ("msgmnb", 65536),
                        ("msgmni", 16), ("sem", "32 256 32 16")):
        write(f"/proc/sys/kernel/{name}", str(value))


def drop_privileges(uid, limits):
    write("/proc/self/oom_score_adj", "1000")
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    cpu = limits["cpu_seconds"]
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_AS, (limits["address_space_bytes"],) * 2)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits["file_size_bytes"],) * 2)
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits["open_files"],) * 2)
    resource.setrlimit(resource.RLIMIT_NPROC, (limits["processes"],) * 2)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_MEMLOCK, (0, 0))
    resource.setrlimit(resource.RLIMIT_MSGQUEUE, (0, 0))
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    install_seccomp()
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    os.umask(0o077)
    os.chdir("/sandbox")
    os.environ.clear()
    os.environ.update({"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/sandbox", "TMPDIR": "/sandbox",
                       "LANG": "C.UTF-8", "PYTHONHASHSEED": "0"})


SANDBOX_NAMESPACES = CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS
HOST_NAMESPACES = []  # (CLONE_* flag, fd) of the host's own namespaces, opened once by M (Z inherits them)


def open_host_namespaces():
    for flag, name in ((CLONE_NEWPID, "pid"), (CLONE_NEWNET, "net"), (CLONE_NEWIPC, "ipc"), (CLONE_NEWUTS, "uts")):
        HOST_NAMESPACES.append((flag, os.open(f"/proc/self/ns/{name}", os.O_RDONLY | os.O_CLOEXEC)))


# ---------------------------------------------------------------------------------------------------- pid 1
# A PID namespace lives as long as its first process, and that process's exit makes the kernel kill and reap
# everything else in it. Beyond that, the first process has nothing to do: the zygote that starts the sandbox watches
# the worker, drains its output and keeps the deadline. A fork of the warm interpreter as pid 1 cost a copy of its
# page tables, its copy-on-write faults and the unmapping at its exit, about a quarter of a run's CPU
# (docs/evaluation-speed.md, "Pid 1 without a fork"). So pid 1 is a clone that shares the zygote's memory (CLONE_VM:
# nothing copied, nothing torn down when it exits) and runs these 26 bytes, which touch no memory at all:
PID1_CODE = bytes.fromhex(
    "bf01000000"   # mov edi, 1    PR_SET_PDEATHSIG: die with the zygote (which dies with M)
    "be09000000"   # mov esi, 9    SIGKILL
    "b89d000000"   # mov eax, 157  prctl
    "0f05"         # syscall
    "b822000000"   # wait: mov eax, 34  pause. No handler is installed (zygote_main resets them), and the kernel gives
    "0f05"         # syscall            a namespace's pid 1 no signal with the default action from inside the
    "ebf7")        # jmp wait           namespace: only a SIGKILL from the zygote or M (outside) ends it
CLONE_VM, CLONE_FILES = 0x100, 0x400
PROT_READ, PROT_WRITE, PROT_EXEC, MAP_PRIVATE, MAP_ANONYMOUS = 1, 2, 4, 0x02, 0x20


class PidOne:
    """Starts a zygote's pid 1 processes (PID1_CODE), one sandbox at a time: the stack page is reused, so a zygote
    starts the next one only after it has reaped the previous one (supervise)."""
    STACK_BYTES = 16384

    def __init__(self):
        mmap = libc.mmap
        mmap.restype, mmap.argtypes = ctypes.c_void_p, [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                                                       ctypes.c_int, ctypes.c_long]
        libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        libc.clone.restype, libc.clone.argtypes = ctypes.c_int, [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int,
                                                                  ctypes.c_void_p]
        pages = [mmap(None, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
                 for size in (4096, self.STACK_BYTES)]
        if any(page in (None, ctypes.c_void_p(-1).value) for page in pages):
            raise OSError(ctypes.get_errno(), "mmap for pid 1")
        self.code, stack = pages
        ctypes.memmove(self.code, PID1_CODE, len(PID1_CODE))
        check(libc.mprotect(self.code, 4096, PROT_READ | PROT_EXEC), "mprotect pid 1's code")
        self.stack_top = stack + self.STACK_BYTES

    def start(self):
        """pid 1 of the namespaces this zygote has just unshared: shares the zygote's memory and descriptor table
        (so it holds no descriptor of its own), has its own mount namespace (a copy of M's, which the worker enters
        and turns into the sandbox's root: pid 1 shows nothing else), and its exit reaches the zygote as SIGCHLD."""
        pid = libc.clone(self.code, self.stack_top, CLONE_VM | CLONE_FILES | CLONE_NEWNS | signal.SIGCHLD, None)
        if pid < 0:
            raise OSError(ctypes.get_errno(), f"clone pid 1: {os.strerror(ctypes.get_errno())}")
        return pid


def start_sandbox(pid_one, worker_main):
    """A zygote starts one sandbox: unshares fresh PID, network, IPC and UTS namespaces, starts their pid 1
    (PidOne.start), forks the worker into them (pid 2; it enters pid 1's mount namespace itself, worker_main gets the
    descriptor of that namespace) and returns to its own namespaces at once (setns to the descriptors opened at
    start). Returns (pid 1, its pidfd, the worker's pid)."""
    check(libc.unshare(SANDBOX_NAMESPACES), "unshare")
    worker = -1
    try:
        first = pid_one.start()
        first_fd = os.pidfd_open(first)
        try:
            mount_ns = os.open(f"/proc/{first}/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
            worker = os.fork()
            if worker == 0:
                try:
                    worker_main(mount_ns)
                finally:
                    os._exit(125)
            os.close(mount_ns)
        except BaseException:
            end_pid_one(first, first_fd)
            raise
    finally:
        if worker != 0:
            for flag, fd in HOST_NAMESPACES:
                check(libc.setns(fd, flag), "setns back to the host's namespaces")
    return first, first_fd, worker


def end_pid_one(first, first_fd, worker=None):
    """Kills pid 1 (the kernel then kills everything left in its namespace) and reaps it; a worker not yet reaped
    is reaped first, since pid 1's exit waits until every process of its namespace has been reaped."""
    try:
        signal.pidfd_send_signal(first_fd, signal.SIGKILL)
    except OSError:
        pass
    if worker is not None:
        os.waitpid(worker, 0)
    os.waitpid(first, 0)
    os.close(first_fd)


SETUP_FAILED = "ancoder sandbox setup: "  # how a worker's setup failure starts its stderr (with exit status 125)


def worker_setup(config, cgroups, spec, role, uid, keep_fds, mount_ns, cgroup_paths, out_w, err_w, body):
    """pid 2 of the run's namespaces, forked by the zygote (start_sandbox), still root: enters pid 1's mount
    namespace and the run's cgroups (v2), sets the IPC limits, builds the root, drops to the run's uid and runs
    body(). A setup failure goes to its stderr, prefixed SETUP_FAILED, with exit status 125 (finish_run in M makes it
    the side's error); body() failing to start is only its stderr."""
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    failure = f"{SETUP_FAILED}{role} sandbox setup failed"
    try:
        null = os.open("/dev/null", os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(out_w, 1)
        os.dup2(err_w, 2)
        check(libc.setns(mount_ns, CLONE_NEWNS), "setns into pid 1's mount namespace")
        if cgroups.kind == "v2":  # a fresh folder per run (v1: the slot's folder, which the zygote is already in)
            limits = spec["limits"]
            cgroups.create(cgroup_paths, limits["memory_bytes"], limits["processes"] + 8)
            cgroups.enter_self(cgroup_paths)
        limit_ipc()
        build_root(config, spec, uid)
        close_all_but(keep_fds)
        os.setsid()
        drop_privileges(uid, spec["limits"])
        failure = f"ancoder sandbox: {role} failed to start"
        body()
    except BaseException as e:  # noqa: BLE001
        try:
            os.write(2, f"{failure}: {e!r}\n".encode())
        except OSError:
            pass
    os._exit(125)


def supervise(first, first_fd, worker, deadline, result_fd, cancel_fd):
    """The zygote, while its sandbox runs: ends the sandbox when the worker exits, at the deadline, or when M closes
    cancel_fd (the tests have reported, the candidate is no longer needed); then reports the worker's exit status on
    result_fd and kills and reaps pid 1, which empties the namespace (M learns of it from pid 1's pidfd). The
    worker's output goes to M directly (CapturedOutput): a candidate zygote never holds anything a run printed, so the
    next candidate forked from it cannot find it in the memory it inherits."""
    worker_fd = os.pidfd_open(worker)
    status = None
    timed_out = False
    cancelled = False
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            timed_out = True
            break
        ready, _, _ = select.select([worker_fd] + ([cancel_fd] if cancel_fd is not None else []), [], [], remaining)
        if worker_fd in ready:
            _, status = os.waitpid(worker, 0)
            break
        if ready:
            cancelled = True
            break
    os.close(worker_fd)
    mark("worker_exit")
    end_pid_one(first, first_fd, worker if status is None else None)
    code = None
    if status is not None:
        code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)
    send_message(result_fd, json.dumps({"timed_out": timed_out, "cancelled": cancelled, "exit_code": code,
                                        "marks": MARKS}).encode())


# ---------------------------------------------------------------------------------------------------- zygotes and M
def zygote_main(config, cgroups, control, slot, role):
    """A zygote: starts and watches the sandboxes of one side (candidate or test) of one worker slot, one at a time.
    Forked by M at start, before any request, so a candidate zygote holds no test: it only ever receives file
    descriptors and limits (the candidate's source arrives on a pipe that only the forked worker reads), and a forked
    candidate finds no answer key in the memory it inherits. With cgroup v1 it lives in its slot's cgroup (entered
    once, at the first run), so every process it starts is there from the start: moving a process between cgroups
    waits for an RCU grace period (about 10 ms on this machine), which was the largest single wait of a run
    (docs/evaluation-speed.md). Sends M each sandbox's pid 1 pidfd, which tells M when the sandbox is gone, then
    watches the sandbox until its worker is done (supervise)."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # supervise reaps both children of every run, the worker with its status
    for number in signal.valid_signals():  # pid 1 copies these handlers: none may run there (see PID1_CODE)
        if number not in (signal.SIGKILL, signal.SIGSTOP) and signal.getsignal(number) not in (signal.SIG_DFL, signal.SIG_IGN):
            signal.signal(number, signal.SIG_DFL)
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    name = f"slot{slot}-{'k' if role == 'candidate' else 't'}"
    pid_one = PidOne()
    entered = False
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(control, 65536, 4)
        except OSError:
            os._exit(0)
        if not message:
            os._exit(0)
        MARKS.clear()
        mark("request")  # the zygote's CPU so far: its later marks count from here (bench/sandbox_stages.py)
        spec = json.loads(message)
        channel_fd, payload_fd, result_fd, last_fd = fds
        paths = cgroups.paths(name, spec["id"])
        reply = {"id": spec["id"]}
        started = None
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        keep_fds = [channel_fd] if role == "candidate" else [channel_fd, last_fd]
        try:
            if cgroups.kind == "v1":
                limits = spec["limits"]
                cgroups.create(paths, limits["memory_bytes"], limits["processes"] + 8)  # first run: made; later: peak reset
                if not entered:
                    cgroups.enter_self(paths)
                    entered = True

            def worker_main(mount_ns):
                os.close(out_r)
                os.close(err_r)
                os.close(result_fd)
                if role == "candidate":
                    os.close(last_fd)
                payload = read_all(payload_fd).decode("utf-8")
                os.close(payload_fd)
                if role == "candidate":
                    mode = spec["mode"]
                    body = lambda: candidate_main(payload, channel_fd, mode)  # noqa: E731
                else:
                    test = json.loads(payload)
                    body = lambda: test_main(test, channel_fd, last_fd)  # noqa: E731
                worker_setup(config, cgroups, spec, role, spec["uid"], keep_fds, mount_ns, paths, out_w, err_w, body)
            started = start_sandbox(pid_one, worker_main)
            mark("started")
        except OSError as e:
            reply["error"] = f"{role} sandbox could not start: {e!r}"
        for fd in [out_w, err_w, channel_fd, payload_fd] + ([last_fd] if role == "test" else []):
            os.close(fd)
        try:
            socket.send_fds(control, [json.dumps(reply).encode()], [started[1], out_r, err_r] if started is not None else [])
        except OSError:
            os._exit(0)
        os.close(out_r)
        os.close(err_r)
        if started is not None:
            first, first_fd, worker = started
            try:
                supervise(first, first_fd, worker, spec["deadline"], result_fd, last_fd if role == "candidate" else None)
            except Exception as e:  # noqa: BLE001 - the zygote serves the slot's next run whatever happened here
                try:
                    end_pid_one(first, first_fd, worker)
                except OSError:
                    pass
                try:
                    send_message(result_fd, json.dumps({"error": f"{role} sandbox: {e!r}"}).encode())
                except OSError:
                    pass
        os.close(result_fd)
        if role == "candidate":
            os.close(last_fd)


def read_all(fd):
    chunks = []
    while True:
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def main():
    config = json.loads(sys.argv[1])
    os.umask(0o077)
    cgroups = Cgroups()
    build_template_root(config)
    open_host_namespaces()
    # Everything imported so far is shared by every fork; frozen, the collector of a forked process never walks
    # (and so never copies) those pages.
    gc.freeze()
    parent = os.getppid()
    zygotes = {}  # (slot, role) -> M's end of the zygote's socket
    zygote_pidfds = []
    for slot in range(int(config.get("slots", 1))):
        for role in ("candidate", "test"):
            control, zygote_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
            pid = os.fork()
            if pid == 0:
                close_all_but([zygote_end.fileno()] + [fd for _, fd in HOST_NAMESPACES])
                to_dev_null(0, 1)
                zygote_main(config, cgroups, zygote_end, slot, role)
            zygote_end.close()
            zygotes[(slot, role)] = control
            zygote_pidfds.append(os.pidfd_open(pid))
    roles = {control.fileno(): role for (_, role), control in zygotes.items()}
    controls = {control.fileno(): control for control in zygotes.values()}
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    hello = {"ready": True, "cgroup": cgroups.kind, "cgroup_detail": cgroups.reason or ", ".join(cgroups.bases.values()),
             "python": sys.version.split()[0]}
    out = sys.stdout.buffer
    out.write((json.dumps(hello) + "\n").encode())
    out.flush()
    runs = {}          # id -> state
    by_fd = {}         # report fd, pid 1's pidfd or an output pipe -> (id, side)
    pending = b""
    stdin_open = True
    while stdin_open or runs:
        if os.getppid() != parent:
            break
        watch = ([0] if stdin_open else []) + list(controls) + zygote_pidfds + list(by_fd)
        ready, _, _ = select.select(watch, [], [], 0.5)
        now = time.monotonic()
        if any(fd in ready for fd in zygote_pidfds):
            sys.stderr.write("sandbox host: a zygote exited\n")
            break
        for fd in ready:
            if fd == 0:
                chunk = os.read(0, 1 << 20)
                if not chunk:
                    stdin_open = False
                    continue
                pending += chunk
                while b"\n" in pending:
                    line, pending = pending.split(b"\n", 1)
                    if line.strip():
                        start_run(cgroups, zygotes, json.loads(line), runs, by_fd)
                continue
            if fd in controls:
                receive_init(controls[fd], roles[fd], runs, by_fd)
                continue
            if fd not in by_fd:
                continue
            run_id, side_name = by_fd[fd]
            side = runs[run_id]["sides"][side_name]
            if fd == side["pidfd"]:
                init_gone(cgroups, runs[run_id], side_name, by_fd)
            elif (stream := output_on(side, fd)) is not None:
                if not stream.read():
                    by_fd.pop(fd)
            else:
                by_fd.pop(fd)
                try:
                    side["report"] = json.loads(receive_message(fd))
                except (EOFError, OSError, ValueError):
                    side["report"] = side["report"] or {
                        "timed_out": now >= runs[run_id]["deadline"], "exit_code": None,
                        "error": None if now >= runs[run_id]["deadline"] else f"the {side_name} zygote died"}
                os.close(fd)
                side["report_fd"] = None
                if side_name == "test":
                    release_candidate(runs[run_id])
        for run_id, state in list(runs.items()):
            if now > state["deadline"] + 3:
                overdue(state, by_fd)
            if all(side["report"] is not None and side["gone"] for side in state["sides"].values()):
                release_candidate(state)
                for side in state["sides"].values():  # finish_run reads and closes the pipes still open
                    for stream in side["output"].values():
                        if stream.fd is not None:
                            by_fd.pop(stream.fd, None)
                finish_run(state, out)
                del runs[run_id]
    # The zygotes wait on datagram sockets, which never see an end of file: stop them, and wait until they are gone
    # (with cgroup v1 they are in their slots' cgroups) before removing the cgroups.
    for control in zygotes.values():
        control.close()
    for pidfd in zygote_pidfds:
        try:
            signal.pidfd_send_signal(pidfd, signal.SIGKILL)
        except OSError:
            pass
    deadline = time.monotonic() + 5
    while zygote_pidfds and time.monotonic() < deadline:
        ready, _, _ = select.select(zygote_pidfds, [], [], max(0.0, deadline - time.monotonic()))
        zygote_pidfds = [fd for fd in zygote_pidfds if fd not in ready]
    cgroups.remove_bases(wait_seconds=5)


def new_side(cgroup_paths, output_cap):
    return {"report": None, "report_fd": None, "pidfd": None, "gone": False, "killed": False, "paths": cgroup_paths,
            "peak": None, "marks": [], "output": {}, "output_cap": output_cap}  # output: "stdout"/"stderr" -> CapturedOutput


def output_on(side, fd):
    """The side's output stream read through fd, or None (fd is its report pipe or pid 1's pidfd)."""
    return next((stream for stream in side["output"].values() if stream.fd == fd), None)


class CapturedOutput:
    """The read end of a worker's stdout or stderr, drained by M as it is written: the first `cap` bytes are kept,
    the rest counted."""

    def __init__(self, fd, cap):
        self.fd, self.cap, self.kept, self.total = fd, cap, bytearray(), 0

    def read(self):
        """One read of a readable pipe; False (and the pipe closed) at end of file."""
        chunk = os.read(self.fd, 65536)
        if not chunk:
            self.close()
            return False
        self.total += len(chunk)
        if len(self.kept) < self.cap:
            self.kept += chunk[:self.cap - len(self.kept)]
        return True

    def finish(self):
        """Once the sandbox is gone (every writer has exited): what is still in the pipe (a bounded number of reads,
        without waiting), then the pipe is closed."""
        for _ in range(64):
            if self.fd is None or not select.select([self.fd], [], [], 0)[0] or not self.read():
                break
        self.close()
        s = self.kept.decode("utf-8", "replace")
        return s + (f"\n[… {self.total - len(self.kept)} more bytes not kept]" if self.total > len(self.kept) else "")

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def watch_init(state, side_name, pidfd, by_fd):
    side = state["sides"][side_name]
    if pidfd is None:
        side["gone"] = True
        return
    side["pidfd"] = pidfd
    by_fd[pidfd] = (state["id"], side_name)
    if side["killed"]:
        signal.pidfd_send_signal(pidfd, signal.SIGKILL)


def init_gone(cgroups, state, side_name, by_fd):
    """The sandbox's pid 1 has exited, so its namespace is empty: read the memory peak, release the cgroups."""
    side = state["sides"][side_name]
    by_fd.pop(side["pidfd"], None)
    os.close(side["pidfd"])
    side["pidfd"] = None
    side["gone"] = True
    side["marks"].append(("init_exit", time.monotonic(), 0.0, os.getpid()))
    side["peak"] = cgroups.peak_bytes(side["paths"])
    cgroups.remove(side["paths"])
    side["marks"].append(("cgroup_read", time.monotonic(), 0.0, os.getpid()))


def overdue(state, by_fd):
    """Past the deadline and a grace period: kill what is left of the run (each zygote keeps its own deadline, so this
    is a second line) and take the missing reports as timeouts."""
    for side in state["sides"].values():
        if side["report_fd"] is not None:
            by_fd.pop(side["report_fd"], None)
            os.close(side["report_fd"])
            side["report_fd"] = None
            side["report"] = side["report"] or {"timed_out": True}
        if not side["killed"]:
            side["killed"] = True
            if side["pidfd"] is not None:
                try:
                    signal.pidfd_send_signal(side["pidfd"], signal.SIGKILL)
                except OSError:
                    pass


def receive_init(control, role, runs, by_fd):
    """A zygote's answer to a request: pid 1's pidfd and the read ends of the worker's stdout and stderr, or why the
    sandbox did not start."""
    try:
        message, fds, _, _ = socket.recv_fds(control, 65536, 3)
    except OSError:
        message, fds = b"", []
    if not message:
        sys.stderr.write(f"sandbox host: the {role} zygote exited\n")
        sys.exit(1)
    reply = json.loads(message)
    state = runs.get(reply.get("id"))
    if state is None:
        for fd in fds:
            os.close(fd)
        return
    side_name = "candidate" if role == "candidate" and state["mode"] != "whole" else "test"
    side = state["sides"][side_name]
    if reply.get("error"):
        side["report"] = side["report"] or {"error": reply["error"]}
    for name, fd in zip(("stdout", "stderr"), fds[1:]):
        side["output"][name] = CapturedOutput(fd, side["output_cap"])
        by_fd[fd] = (state["id"], side_name)
    watch_init(state, side_name, fds[0] if fds else None, by_fd)


def start_run(cgroups, zygotes, request, runs, by_fd):
    run_id = request["id"]
    limits = request["limits"]
    deadline = time.monotonic() + limits["wall_seconds"]
    mode = request["mode"]
    slot = request["slot"]
    state = {"id": run_id, "mode": mode, "deadline": deadline, "started": time.monotonic(), "sides": {}}
    if (slot, "test") not in zygotes:
        raise SystemExit(f"sandbox host: slot {slot} requested, but the host was started with {len(zygotes) // 2} slots")
    runs[run_id] = state
    uid_candidate = request["uid"]
    # The test side's deadline decides timeouts; the candidate side gets a second more so that it never dies first
    # (a test waiting on a candidate that the deadline killed would report a failure, not a timeout). M ends the
    # candidate side as soon as the tests have reported.
    spec = {"id": run_id, "mode": "whole" if mode == "whole" else "serve", "limits": limits,
            "deadline": deadline + (0 if mode == "whole" else 1.0), "uid": uid_candidate, "slot": slot}
    k_channel, t_channel = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    k_side = "candidate" if mode != "whole" else "test"
    state["sides"][k_side] = new_side(cgroups.paths(f"slot{slot}-k", run_id), limits["output_bytes"])
    cancel_r, cancel_w = os.pipe()
    state["cancel_fd"] = cancel_w
    k_result_r = send_to_zygote(zygotes[(slot, "candidate")], spec, k_channel.fileno(), request["candidate"], cancel_r)
    k_channel.close()
    os.close(cancel_r)
    state["sides"][k_side]["report_fd"] = k_result_r
    by_fd[k_result_r] = (run_id, k_side)
    if mode == "whole":
        t_channel.close()
        return
    report_r, report_w = os.pipe()
    state["sides"]["test"] = new_side(cgroups.paths(f"slot{slot}-t", run_id), limits["output_bytes"])
    t_spec = dict(spec, mode="test", uid=uid_candidate + 1, deadline=deadline)
    t_result_r = send_to_zygote(zygotes[(slot, "test")], t_spec, t_channel.fileno(), json.dumps(request["test"]), report_w)
    t_channel.close()
    os.close(report_w)
    state["report_fd"] = report_r
    state["sides"]["test"]["report_fd"] = t_result_r
    by_fd[t_result_r] = (run_id, "test")


def send_to_zygote(control, spec, channel_fd, payload, last_fd):
    """Asks a zygote for one sandbox: the spec and the channel, a pipe carrying the payload (source or test), the
    write end of the zygote's report pipe, and the cancel pipe (candidate) or the verdict pipe (test). Returns the
    read end of the report pipe."""
    payload_r, payload_w = os.pipe()
    result_r, result_w = os.pipe()
    socket.send_fds(control, [json.dumps(spec).encode()], [channel_fd, payload_r, result_w, last_fd])
    os.close(payload_r)
    os.close(result_w)
    view = memoryview(payload.encode("utf-8"))
    while view:
        view = view[os.write(payload_w, view):]
    os.close(payload_w)
    return result_r


def release_candidate(state):
    fd = state.pop("cancel_fd", None)
    if fd is not None:
        os.close(fd)


def finish_run(state, out):
    for side in state["sides"].values():
        report = side["report"]
        for name in ("stdout", "stderr"):
            report[name] = side["output"][name].finish() if name in side["output"] else ""
        if report.get("exit_code") == 125 and report["stderr"].startswith(SETUP_FAILED) and not report.get("error"):
            report["error"] = report["stderr"][len(SETUP_FAILED):].strip()
        side["report"]["memory_peak_bytes"] = side["peak"]
        side["report"]["marks"] = side["report"].get("marks", []) + side["marks"]
    test = state["sides"]["test"]["report"]
    candidate = state["sides"]["candidate"]["report"] if state["mode"] != "whole" else test
    elapsed = time.monotonic() - state["started"]
    verdict = None
    if state["mode"] != "whole":
        fd = state["report_fd"]
        r, _, _ = select.select([fd], [], [], 0)
        if r:
            try:
                verdict = json.loads(receive_message(fd))
            except (EOFError, OSError, ValueError):
                verdict = None
        os.close(fd)
    # A verdict written at or after the deadline does not count: once the test zygote has reported its timeout, M
    # releases the candidate, and a test process that pid 1's exit has not killed yet (a busy machine) can still
    # see the candidate's channel close and write "the candidate process ended" (a clean-clone CI run on a loaded
    # machine reported a program sleeping forever as failed, not timed out).
    if verdict is not None and not (type(verdict.get("at")) is float and verdict["at"] < state["deadline"]):
        verdict = None
    if verdict is not None and type(verdict.get("passed")) is bool:
        outcome = "passed" if verdict["passed"] else "failed"
        reason = verdict.get("reason") or ""
    elif test.get("timed_out") or elapsed >= state["deadline"] - state["started"]:
        outcome, reason = "timeout", ""
    elif state["mode"] == "whole":
        outcome = "passed" if test.get("exit_code") == 0 else "failed"
        reason = "exit status 0" if outcome == "passed" else f"exit status {test.get('exit_code')}"
    else:
        outcome, reason = "failed", test.get("error") or "the test process ended without a verdict"
    if test.get("error") and outcome != "passed":
        reason = reason or test["error"]
    if candidate.get("error") and outcome == "failed" and not reason:
        reason = candidate["error"]
    if os.environ.get("ANCODER_SANDBOX_TRACE") == "1":
        started = state["started"]
        for side, report in (("t", test), ("k", candidate), ("v", verdict or {})):
            for stage, at, cpu, pid in report.get("marks", []):
                sys.stderr.write(f"{state['id']} {side}.{stage} {1000 * (at - started):.1f} {1000 * cpu:.1f} {pid}\n")
        sys.stderr.write(f"{state['id']} done {1000 * elapsed:.1f}\n")
    line = {"id": state["id"], "outcome": outcome, "reason": reason, "exit_code": candidate.get("exit_code"),
            "stdout": candidate.get("stdout", ""), "stderr": candidate.get("stderr", ""),
            "seconds": elapsed, "memory_peak_bytes": candidate.get("memory_peak_bytes")}
    out.write((json.dumps(line) + "\n").encode())
    out.flush()


if __name__ == "__main__":
    main()
