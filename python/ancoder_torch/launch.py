"""`python -m ancoder_torch.launch --nproc N [train options]`: N local processes of ancoder_torch.train, as torchrun.

torchrun does the same on torch 2.x (`torchrun --nproc_per_node N -m ancoder_torch.train ...`); Debian's torch 1.13
under Python 3.11 cannot start torchrun (its Std.from_str fails), so CI and `ancoder train --engine torch --nproc N`
use this small launcher: it sets the env:// rendezvous variables (MASTER_ADDR/PORT, WORLD_SIZE, RANK, LOCAL_RANK),
waits for every rank, and stops the others as soon as one fails.
"""
import os
import socket
import subprocess
import sys
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    nproc = 1
    if argv[:1] == ["--nproc"]:
        nproc, argv = int(argv[1]), argv[2:]
    elif argv and argv[0].startswith("--nproc="):
        nproc, argv = int(argv[0].split("=", 1)[1]), argv[1:]
    if nproc < 1:
        print("error: --nproc must be at least 1", file=sys.stderr)
        return 2
    env = dict(os.environ, MASTER_ADDR="127.0.0.1", MASTER_PORT=str(free_port()), WORLD_SIZE=str(nproc),
               LOCAL_WORLD_SIZE=str(nproc))
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = package_root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    processes = [subprocess.Popen([sys.executable, "-m", "ancoder_torch.train", *argv],
                                  env=dict(env, RANK=str(r), LOCAL_RANK=str(r))) for r in range(nproc)]
    try:
        while True:
            codes = [p.poll() for p in processes]
            failed = [c for c in codes if c not in (None, 0)]
            if failed:
                for p in processes:
                    if p.poll() is None:
                        p.terminate()
                for p in processes:
                    p.wait()
                return failed[0]
            if all(c == 0 for c in codes):
                return 0
            time.sleep(0.05)
    except KeyboardInterrupt:
        for p in processes:
            p.send_signal(2)
        return max(p.wait() for p in processes) or 130


if __name__ == "__main__":
    sys.exit(main())
