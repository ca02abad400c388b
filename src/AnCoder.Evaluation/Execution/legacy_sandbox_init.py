# Init process of one AnCoder evaluation sandbox. The host starts it as root inside fresh namespaces:
#   unshare --net --pid --fork --kill-child --mount --mount-proc --ipc --uts -- python3 -I -S sandbox_init.py SPEC
# so it is PID 1 of a new PID namespace with no network but a down loopback device. It hides every world-writable
# directory and the home directories behind small private tmpfs mounts, builds the sandbox directory on its own
# size-limited tmpfs, then forks the program as an unprivileged per-worker uid with resource limits. When this
# process exits (or the host kills `unshare`, which SIGKILLs us through --kill-child) the kernel kills every process
# left in the namespace, so nothing the program started can outlive the run.
# SPEC is a JSON object: python, program_dir, program_source_path, uid, limits{...}, masked_dirs[], keep_paths[].
import ctypes
import json
import os
import resource
import sys

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MNT_DETACH = 2

libc = ctypes.CDLL(None, use_errno=True)


def mount(source, target, fstype, flags, data):
    if libc.mount(source.encode(), target.encode(), fstype.encode() if fstype else None, flags,
                  data.encode() if data else None) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {fstype or 'bind'} {source} -> {target}: {os.strerror(err)}")


def umount(target):
    libc.umount2(target.encode(), MNT_DETACH)


def is_under(path, directory):
    return path == directory or path.startswith(directory.rstrip("/") + "/")


def mask_directories(masked_dirs, keep_paths):
    present = [d for d in masked_dirs if os.path.isdir(d)]
    kept = [k for k in keep_paths if any(is_under(k, d) for d in present)]
    # Paths that must stay visible (e.g. the Python installation under /root/.pyenv) are bind-mounted into the
    # first mask tmpfs before the directories above them are covered, then bound back at their own path.
    staging = next((d for d in present if not any(is_under(k, d) for k in kept)), None)
    if kept and staging is None:
        raise RuntimeError("no masked directory can stage the kept paths")
    ordered = ([staging] if staging else []) + [d for d in present if d != staging]
    for index, d in enumerate(ordered):
        mode = "1777" if os.stat(d).st_mode & 0o002 else "0755"
        mount("ancoder-mask", d, "tmpfs", MS_NOSUID | MS_NODEV, f"size=16m,nr_inodes=1024,mode={mode}")
        if index == 0 and kept:
            for i, keep in enumerate(kept):
                os.mkdir(f"{staging}/.ancoder-keep-{i}", 0o700)
                mount(keep, f"{staging}/.ancoder-keep-{i}", None, MS_BIND | MS_REC, None)
    for i, keep in enumerate(kept):
        os.makedirs(keep, exist_ok=True)
        mount(f"{staging}/.ancoder-keep-{i}", keep, None, MS_BIND | MS_REC, None)
        mount("none", keep, None, MS_REMOUNT | MS_BIND | MS_RDONLY, None)
        umount(f"{staging}/.ancoder-keep-{i}")
        os.rmdir(f"{staging}/.ancoder-keep-{i}")


def main():
    spec = json.loads(sys.argv[1])
    with open(spec["program_source_path"], "rb") as f:
        program = f.read()
    limits = spec["limits"]
    mask_directories(spec["masked_dirs"], spec["keep_paths"])

    work = spec["program_dir"]
    uid = spec["uid"]
    os.makedirs(work, exist_ok=True)
    mount("ancoder-sandbox", work, "tmpfs", MS_NOSUID | MS_NODEV,
          f"size={limits['dir_bytes']},nr_inodes={limits['dir_inodes']},mode=0700,uid={uid},gid={uid}")
    program_path = os.path.join(work, "program.py")
    with open(program_path, "wb") as f:
        f.write(program)
    os.chown(program_path, uid, uid)

    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            null = os.open("/dev/null", os.O_RDONLY)
            os.dup2(null, 0)
            os.close(null)
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            cpu = limits["cpu_seconds"]
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
            resource.setrlimit(resource.RLIMIT_AS, (limits["address_space_bytes"],) * 2)
            resource.setrlimit(resource.RLIMIT_FSIZE, (limits["file_size_bytes"],) * 2)
            resource.setrlimit(resource.RLIMIT_NOFILE, (limits["open_files"],) * 2)
            resource.setrlimit(resource.RLIMIT_NPROC, (limits["processes"],) * 2)
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            os.chdir(work)
            env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": work, "TMPDIR": work,
                   "LANG": "C.UTF-8", "PYTHONHASHSEED": "0"}
            os.execve(spec["python"], [spec["python"], "-I", "program.py"], env)
        except BaseException as e:  # never fall back into the init process's code
            os.write(2, f"ancoder sandbox: cannot start the program: {e!r}\n".encode())
        os._exit(125)

    _, status = os.waitpid(pid, 0)
    if os.WIFEXITED(status):
        code = os.WEXITSTATUS(status)
    else:
        code = 128 + os.WTERMSIG(status)
    os._exit(code)


main()
