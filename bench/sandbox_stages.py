"""Where a sandboxed run's time goes: drives src/AnCoder.Evaluation/Execution/sandbox_host.py directly (as root, no
.NET) over HumanEval canonical solutions and prints, per stage, the median wall time since the run started and the
CPU the process that marks it spent since its previous mark (each process's own CPU: os.fork starts it at zero).

    sudo python3 bench/sandbox_stages.py [--runs 20] [--parallel 1] [--mode split|whole] [--data ../shared/datasets]
    perf stat -e task-clock python3 bench/sandbox_stages.py --runs 20     # + CPU of the whole process tree
    perf stat -e task-clock python3 bench/sandbox_stages.py --runs 0      # the fixed cost (host start) to subtract

Stages: the test side (t.*) and the candidate side (k.*) each: request (the side's zygote received it), started
(the zygote has unshared pid/net/ipc/uts, cloned pid 1, forked the worker and returned to its namespaces),
worker_exit (the zygote saw the worker exit, or the deadline, or the cancel, and has ended pid 1), then init_exit and
cgroup_read, the host's marks (pid 1's pidfd became readable; the memory peak read); v.* are the test worker's own
marks (test code loaded, candidate ready, verdict). (Hosts before 8 Dec had a forked init per sandbox, marked init,
cgroup, root, worker_exit; hosts before the zygotes a supervisor per side, marked supervisor, cgroup, unshare,
init_exit, cgroup_removed.) Not in the marks: the candidate worker's CPU, and the kernel's work at process exit and
namespace teardown (perf stat's total has the former, neither has kworkers').
"""
import argparse, collections, gzip, json, os, statistics, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))


def cpu_ms(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--parallel", type=int, default=1)
    parser.add_argument("--mode", choices=["split", "whole"], default="split",
                        help="split: candidate and tests in two sandboxes (as eval scores); whole: the whole program in one "
                             "sandbox (eval throughput's 'no proxy' row), to price the proxy")
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--data", default=os.path.join(HERE, "..", "..", "shared", "datasets"))
    parser.add_argument("--host", default=os.path.join(HERE, "..", "src", "AnCoder.Evaluation", "Execution", "sandbox_host.py"),
                        help="the sandbox host script (e.g. an older version from git show, to compare)")
    args = parser.parse_args()
    host = args.host
    problems = [json.loads(line) for line in gzip.open(os.path.join(args.data, "humaneval", "HumanEval.jsonl.gz"))]
    base = tempfile.mkdtemp(prefix="ancoder-stages-")
    os.makedirs(base + "/root")
    read_only = [os.path.realpath(sys.base_prefix)] + [p for p in ["/usr", "/lib", "/lib64", "/lib32", "/libx32", "/bin", "/sbin", "/etc/ld.so.cache"] if os.path.lexists(p)]
    env = dict(os.environ, PYTHONHASHSEED="0", ANCODER_SANDBOX_TRACE="1")
    env.pop("LD_PRELOAD", None)
    trace = open(base + "/trace", "w")
    process = subprocess.Popen([os.path.realpath(sys.executable), "-I", host, json.dumps({"root_dir": base + "/root", "read_only": read_only, "slots": args.parallel})],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=trace, env=env)
    print(process.stdout.readline().decode().strip())
    limits = {"wall_seconds": args.timeout, "cpu_seconds": int(args.timeout) + 1, "address_space_bytes": 2 << 30, "memory_bytes": 1 << 30,
              "file_size_bytes": 16 << 20, "open_files": 128, "processes": 64, "dir_bytes": 32 << 20, "dir_inodes": 2048, "output_bytes": 65536}

    def request(i, slot):
        p = problems[i % len(problems)]
        candidate = p["prompt"] + p["canonical_solution"]
        if args.mode == "whole":  # the program the reference runner runs
            candidate += "\n" + p["test"] + "\n" + f"check({p['entry_point']})"
        return {"id": i, "uid": 61000 + 2 * slot, "slot": slot, "mode": args.mode, "candidate": candidate, "limits": limits,
                "test": {"kind": "check", "prelude": p["prompt"], "test": p["test"], "entry_point": p["entry_point"]}}
    started = time.monotonic()
    host_cpu = cpu_ms(process.pid)
    free, in_flight, sent, done, passed = list(range(args.parallel)), {}, 0, 0, 0
    while done < args.runs:
        while free and sent < args.runs:
            slot = free.pop()
            in_flight[sent] = slot
            process.stdin.write((json.dumps(request(sent, slot)) + "\n").encode())
            process.stdin.flush()
            sent += 1
        result = json.loads(process.stdout.readline())
        free.append(in_flight.pop(result["id"]))
        done += 1
        passed += result["outcome"] == "passed"
    elapsed = time.monotonic() - started
    runs = max(1, args.runs)
    host_cpu = (cpu_ms(process.pid) - host_cpu) / runs
    zygotes = [int(x) for x in open(f"/proc/{process.pid}/task/{process.pid}/children").read().split()]
    zygote_cpu = sum(cpu_ms(z) for z in zygotes) / runs
    process.stdin.close()
    process.wait()
    trace.close()
    print(f"{args.runs} runs, {args.parallel} at once: {elapsed:.1f} s wall, {args.runs / max(elapsed, 1e-9):.2f} runs/s, passed {passed}; "
          f"CPU per run: host M {host_cpu:.1f} ms (reads requests, answers), children of M {zygote_cpu:.1f} ms (the zygotes, which start and watch the sandboxes)")
    by_run = collections.defaultdict(list)
    for line in open(base + "/trace"):
        parts = line.split()
        if parts and parts[0].isdigit():
            by_run[parts[0]].append(parts[1:])
    wall, cpu = collections.defaultdict(list), collections.defaultdict(list)
    for rows in by_run.values():
        previous = {}  # (side, pid) -> CPU ms at its previous mark
        seen = set()
        for row in rows:
            if row[0] == "done":
                wall["done"].append(float(row[1]))
                continue
            if len(row) < 4:  # a host before the CPU marks: wall only
                row = row + ["nan", "?"]
            stage, at, spent = row[0], float(row[1]), float(row[2])
            pid = (stage[0], row[3])  # pids repeat across the two sides' namespaces (each worker is pid 2)
            if (stage, pid) in seen:  # a mark inherited through fork and reported again
                continue
            seen.add((stage, pid))
            wall[stage].append(at)
            if stage.endswith(".request"):  # a zygote's CPU before this run: where its stages count from
                previous[pid] = spent
                continue
            cpu[stage].append(spent - previous.get(pid, 0.0))
            previous[pid] = spent
    print(f"{'stage':22s} {'wall since start':>17s} {'CPU of the stage':>17s}")
    for stage, values in sorted(wall.items(), key=lambda kv: statistics.median(kv[1])):
        c = f"{statistics.median(cpu[stage]):14.1f} ms" if stage in cpu else ""
        print(f"{stage:22s} {statistics.median(values):14.1f} ms {c}")
    print(f"sum of the marked CPU medians: {sum(statistics.median(v) for v in cpu.values()):.1f} ms per run (+ M and its children above)")


if __name__ == "__main__":
    main()
