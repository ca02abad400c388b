"""Plain reference runner: the verdict openai/human-eval's execution.py gives, one python3 process per program.

openai/human-eval runs each check program with exec() in a fresh process (multiprocessing), inside a temporary
working directory, with stdout/stderr swallowed; "passed" if exec returns, "failed: <exc>" if any BaseException
escapes (so SystemExit counts as failed), "timed out" if the process is still running at the timeout (3 s), and a
process that dies without reporting (os._exit) is not passed. This script does the same with one python3
subprocess per program and no sandboxing at all: run it only on trusted programs.

    python3 reference_runner.py PROGRAMS.jsonl RESULTS.jsonl [--timeout 3.0] [--workers N] [--progress]

--progress writes one line, "done", to stderr as each program finishes (`ancoder eval throughput` moves its bar).

PROGRAMS.jsonl lines: {"id": ..., "program": "..."}; RESULTS.jsonl lines: {"id": ..., "passed": bool, "result": "..."}.
"""
import argparse
import concurrent.futures
import json
import os
import subprocess
import sys
import time

CHILD = r'''
import contextlib, io, os, sys, tempfile
program = sys.stdin.read()
report = os.dup(1)
with tempfile.TemporaryDirectory() as work:
    os.chdir(work)
    try:
        sink = io.StringIO()
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            exec(program, {})
        result = "passed"
    except BaseException as e:
        result = f"failed: {e}"
    os.chdir("/")
os.write(report, result.encode("utf-8", "replace"))
'''


def run_one(program, timeout):
    try:
        completed = subprocess.run([sys.executable, "-c", CHILD], input=program.encode(), capture_output=True,
                                   timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timed out"
    out = completed.stdout.decode("utf-8", "replace")
    return out if out else "failed: process died without reporting"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("programs")
    parser.add_argument("results")
    parser.add_argument("--timeout", type=float, default=3.0)
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--progress", action="store_true", help='write "done" to stderr as each program finishes')
    args = parser.parse_args()
    with open(args.programs, encoding="utf-8") as f:
        items = [json.loads(line) for line in f if line.strip()]
    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.workers) as pool:
        def run(item):
            result = run_one(item["program"], args.timeout)
            if args.progress:
                sys.stderr.write("done\n")
                sys.stderr.flush()
            return result
        results = list(pool.map(run, items))
    elapsed = time.perf_counter() - started
    with open(args.results, "w", encoding="utf-8") as f:
        for item, result in zip(items, results):
            f.write(json.dumps({"id": item["id"], "passed": result == "passed", "result": result}) + "\n")
    print(json.dumps({"programs": len(items), "seconds": elapsed}))


if __name__ == "__main__":
    main()
