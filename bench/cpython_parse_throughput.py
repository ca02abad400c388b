#!/usr/bin/env python3
"""CPython's ast.parse throughput, measured in-process the way `ancoder bench parse` measures ours.

Usage: cpython_parse_throughput.py [--rounds N] [--json] [--small-source-hex HEX] (DIR | --stdin-list)
       cpython_parse_throughput.py --serve
       cpython_parse_throughput.py --peak-rss FILE


Loads every .py file (bytes) into memory, parses all of them once as a warm-up, then `rounds` more times, timing
each round; reports the best and median throughput in MB/s (1 MB = 1e6 bytes of source).
With --stdin-list the files are NUL-separated paths on stdin (so both sides time exactly the same files).
--small-source-hex adds ast.parse calls per second on that one small source (hex of its UTF-8 bytes).
--peak-rss parses FILE once and prints seconds and this process's peak RSS (ru_maxrss) as JSON.
--serve times one round per request, so that `ancoder bench parse` can alternate CPython's rounds with its own (this
VM's speed drifts by tens of percent within minutes, so rounds timed minutes apart compare the machine, not the
parsers). Protocol, one line each way: stdin's first line is a JSON array of the paths; after loading them and one
warm-up round the script answers {"files", "bytes", "rejected"}; then "round" -> {"seconds"}, "small HEX" ->
{"calls_per_s"}; end of input ends it.
"""
import argparse
import ast
import json
import os
import resource
import statistics
import sys
import time
import warnings


def python_files(root):
    found = []
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if d not in ("site-packages", "dist-packages", "__pycache__"))
        found.extend(os.path.join(directory, f) for f in sorted(files) if f.endswith(".py"))
    return found


def parse_all(sources):
    rejected = 0
    for source in sources:
        try:
            ast.parse(source)
        except (SyntaxError, ValueError, MemoryError, RecursionError):
            rejected += 1
    return rejected


def calls_per_second(source, seconds=1.0):
    for _ in range(200):
        ast.parse(source)
    calls = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(100):
            ast.parse(source)
        calls += 100
    return calls / (time.perf_counter() - start)


def peak_rss(path):
    with open(path, "rb") as f:
        source = f.read()
    start = time.perf_counter()
    ast.parse(source)
    seconds = time.perf_counter() - start
    print(json.dumps({"bytes": len(source), "seconds": seconds,
                      "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
    return 0


def serve():
    paths = json.loads(sys.stdin.readline())
    sources = []
    for path in paths:
        with open(path, "rb") as f:
            sources.append(f.read())
    rejected = parse_all(sources)  # warm-up
    answer({"files": len(sources), "bytes": sum(len(s) for s in sources), "rejected": rejected})
    for line in sys.stdin:
        command, _, argument = line.strip().partition(" ")
        if command == "round":
            start = time.perf_counter()
            parse_all(sources)
            answer({"seconds": time.perf_counter() - start})
        elif command == "small":
            answer({"calls_per_s": calls_per_second(bytes.fromhex(argument))})
        else:
            answer({"error": "unknown command %r" % command})
    return 0


def answer(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main():
    parser = argparse.ArgumentParser(description="CPython ast.parse throughput")
    parser.add_argument("dir", nargs="?")
    parser.add_argument("--stdin-list", action="store_true")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.add_argument("--small-source-hex", help="also time ast.parse calls on this source (hex of UTF-8)")
    parser.add_argument("--peak-rss", metavar="FILE", help="parse FILE once; print seconds and peak RSS")
    parser.add_argument("--serve", action="store_true", help="time one round per request on stdin (see above)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    sys.setrecursionlimit(100000)  # as Reference/ast_dump.py, the project's CPython reference
    if args.peak_rss:
        return peak_rss(args.peak_rss)
    if args.serve:
        return serve()

    if args.stdin_list:
        paths = [p for p in sys.stdin.buffer.read().decode("utf-8", "surrogateescape").split("\0") if p]
    elif args.dir:
        paths = python_files(args.dir)
    else:
        parser.error("give a DIR or --stdin-list")
    sources = []
    for path in paths:
        with open(path, "rb") as f:
            sources.append(f.read())
    total_bytes = sum(len(s) for s in sources)

    rejected = parse_all(sources)  # warm-up
    seconds = []
    for _ in range(args.rounds):
        start = time.perf_counter()
        parse_all(sources)
        seconds.append(time.perf_counter() - start)
    best = total_bytes / 1e6 / min(seconds)
    median = total_bytes / 1e6 / statistics.median(seconds)
    small = calls_per_second(bytes.fromhex(args.small_source_hex)) if args.small_source_hex else None
    if args.json:
        print(json.dumps({"files": len(sources), "bytes": total_bytes, "rejected": rejected,
                          "best_mb_per_s": best, "median_mb_per_s": median, "round_seconds": seconds,
                          "small_calls_per_s": small}))
    else:
        print("CPython %s ast.parse: %d files, %.1f MB, %d rejected; best %.2f MB/s, median %.2f MB/s"
              % (sys.version.split()[0], len(sources), total_bytes / 1e6, rejected, best, median))
    return 0


if __name__ == "__main__":
    sys.exit(main())
