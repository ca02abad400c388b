"""`python3 -m ancoder_torch.bench_ddp --data data/prepared`: CPU DDP speed-up of the torch engine (README "Scaling out").

Trains the same model on the same global batch (same data order, same draws) as 1 process × 1 thread, 1 process × T
threads and T processes × 1 thread (DDP over gloo), alternating the three for --rounds rounds so that a change in the
machine's load hits them alike, and prints the median tokens/s of each (steps after --warmup, from metrics.jsonl:
each line is one step's valid tokens over that step's own time) and the ratios. It measures, it asserts nothing: run it
on a quiet machine (`uptime` before and after is printed) and keep the machine's state beside the figures.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def one_run(args, processes, threads, folder):
    config = {"data": os.path.abspath(args.data), "output": folder, "model": args.model, "strategy": args.strategy,
              "max_steps": args.steps, "micro_batch": args.micro_batch, "context_length": args.context_length,
              "threads": threads, "log_interval": 1, "validation_batches": 0, "checkpoint_interval": 0, "keep_last": 1,
              "seed": 0}
    os.makedirs(folder)
    path = os.path.join(folder, "bench-config.json")
    with open(path, "w") as f:
        json.dump(config, f)
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=package_root, OMP_NUM_THREADS=str(threads))
    subprocess.run([sys.executable, "-m", "ancoder_torch.launch", "--nproc", str(processes), "--config", path, "--out", folder,
                    "--quiet", "--fsdp", "off"], env=env, check=True)
    with open(os.path.join(folder, "metrics.jsonl")) as f:
        rates = [r["tokens_per_second"] for r in map(json.loads, f) if r["step"] > args.warmup]
    return statistics.median(rates)


def load():
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def main(argv=None):
    p = argparse.ArgumentParser(prog="python3 -m ancoder_torch.bench_ddp", description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, help="a folder written by `ancoder prepare` (its vocabulary must fit the model)")
    p.add_argument("--model", default="tiny")
    p.add_argument("--strategy", default="anchortree")
    p.add_argument("--processes", type=int, default=2, help="T: processes of the DDP run and threads of the threaded run")
    p.add_argument("--steps", type=int, default=12)
    p.add_argument("--warmup", type=int, default=4, help="steps left out of the median")
    p.add_argument("--micro-batch", type=int, default=8, help="global micro-batch (the same rows in every configuration)")
    p.add_argument("--context-length", type=int, default=128)
    p.add_argument("--rounds", type=int, default=2)
    args = p.parse_args(argv)
    t = args.processes
    shapes = [(1, 1), (1, t), (t, 1)]
    results = {shape: [] for shape in shapes}
    print(f"load average before: {load()} ({os.cpu_count()} cores); model {args.model}, context {args.context_length}, "
          f"global micro-batch {args.micro_batch}, {args.steps} steps (median of steps > {args.warmup})", flush=True)
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="ancoder-bench-ddp-") as root:
        for k in range(args.rounds):
            for processes, threads in shapes:
                rate = one_run(args, processes, threads, os.path.join(root, f"r{k}-{processes}x{threads}"))
                results[(processes, threads)].append(rate)
                print(f"round {k + 1}: {processes} process(es) × {threads} thread(s): {rate:,.1f} tokens/s", flush=True)
    best = {shape: statistics.median(v) for shape, v in results.items()}
    base = best[(1, 1)]
    print(f"load average after: {load()}; {time.time() - started:.0f} s")
    for (processes, threads), rate in best.items():
        print(f"{processes} process(es) × {threads} thread(s): {rate:,.1f} tokens/s ({rate / base:.2f}× 1 × 1)")
    print(f"DDP speed-up, {t} processes vs 1 process × 1 thread: {best[(t, 1)] / base:.2f}×; "
          f"vs 1 process × {t} threads: {best[(t, 1)] / best[(1, t)]:.2f}×")
    return 0


if __name__ == "__main__":
    sys.exit(main())
