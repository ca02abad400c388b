#!/usr/bin/env python3
"""Token-level mutants of stdlib files with CPython's verdict on each (the oracle of the mutant test suite).

Usage: mutants.py [--seed N] [--files N] [--per-file N] [--max-bytes N]

Takes a seeded sample of the machine's stdlib .py files (UTF-8, accepted by CPython), tokenizes each with
`tokenize`, and derives mutants by deleting, duplicating or swapping one token; the mutant is the original bytes
with bytes [start, end) replaced by `insert`. Prints one tab-separated line per mutant:

    path  operation  token_index  start  end  insert_hex  verdict

where verdict is `ok` or the `!SyntaxError: msg (line:col)` line of ast_dump.py (same exceptions, same limits).
"""
import argparse
import io
import os
import random
import sys
import sysconfig
import tokenize

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ast_dump import parse_source  # noqa: E402  (the one definition of CPython's verdict)

SKIPPED_TYPES = {tokenize.ENCODING, tokenize.ENDMARKER, tokenize.DEDENT}
WORD_LIKE = {tokenize.NAME, tokenize.NUMBER, tokenize.STRING}


def stdlib_files():
    root = sysconfig.get_paths()["stdlib"]
    found = []
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if d not in ("site-packages", "dist-packages"))
        found.extend(os.path.join(directory, f) for f in sorted(files) if f.endswith(".py"))
    return sorted(found)


def verdict_of_bytes(source):
    tree, error = parse_source(source)
    return "ok" if tree is not None else error.replace("\n", "\\n").replace("\t", " ")


def token_spans(data):
    """(type, start_byte, end_byte) of each token with a non-empty span, or None if the file is unsuitable."""
    text = data.decode("utf-8")
    lines = io.StringIO(text).readlines()
    line_byte_starts = [0]
    for line in lines:
        line_byte_starts.append(line_byte_starts[-1] + len(line.encode("utf-8")))

    def byte_offset(row, col):
        if row - 1 >= len(lines):
            return line_byte_starts[-1]
        return line_byte_starts[row - 1] + len(lines[row - 1][:col].encode("utf-8"))

    spans = []
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type in SKIPPED_TYPES:
            continue
        start, end = byte_offset(*tok.start), byte_offset(*tok.end)
        if end > start:
            spans.append((tok.type, start, end))
    return spans


def mutants_of(path, data, rng, count):
    spans = token_spans(data)
    if len(spans) < 3:
        return []
    result = []
    for _ in range(count):
        operation = rng.choice(("delete", "duplicate", "swap"))
        index = rng.randrange(len(spans) - (1 if operation == "swap" else 0))
        kind, start, end = spans[index]
        token = data[start:end]
        if operation == "delete":
            edit = (start, end, b"")
        elif operation == "duplicate":
            edit = (end, end, (b" " if kind in WORD_LIKE else b"") + token)
        else:
            _, next_start, next_end = spans[index + 1]
            edit = (start, next_end, data[next_start:next_end] + data[end:next_start] + token)
        result.append((operation, index) + edit)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=20240611)
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--per-file", type=int, default=25)
    parser.add_argument("--max-bytes", type=int, default=24000)
    args = parser.parse_args()
    sys.setrecursionlimit(100000)

    rng = random.Random(args.seed)
    candidates = []
    for path in stdlib_files():
        size = os.path.getsize(path)
        if 200 <= size <= args.max_bytes:
            candidates.append(path)
    rng.shuffle(candidates)

    out = sys.stdout
    taken = 0
    for path in candidates:
        if taken >= args.files:
            break
        with open(path, "rb") as f:
            data = f.read()
        if data.startswith(b"\xef\xbb\xbf") or verdict_of_bytes(data) != "ok":
            continue
        try:
            with open(path, "rb") as f:
                encoding, _ = tokenize.detect_encoding(f.readline)
            if encoding != "utf-8":
                continue
            mutants = mutants_of(path, data, rng, args.per_file)
        except (SyntaxError, UnicodeDecodeError, tokenize.TokenError, IndentationError):
            continue
        if not mutants:
            continue
        taken += 1
        for operation, index, start, end, insert in mutants:
            mutant = data[:start] + insert + data[end:]
            out.write("%s\t%s\t%d\t%d\t%d\t%s\t%s\n" % (path, operation, index, start, end, insert.hex(), verdict_of_bytes(mutant)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
