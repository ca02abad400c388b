#!/usr/bin/env python3
"""Checks a folder of .py files against CPython: each file must dump identically, or be rejected by both.

Usage: compare_corpus.py DIR [--show N] [--mismatches FILE]

Runs tests/AnCoder.Syntax.Tests/Reference/ast_dump.py (CPython) and `./ancoder parse --dump` (ours) over every .py
file under DIR (__pycache__ skipped) and prints counts per outcome plus the first N mismatches with their first
differing dump line. Meant for corpora the test suite never sees (e.g. site-packages). Exit code 1 on any mismatch.
"""
import argparse
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
AST_DUMP = os.path.join(REPO, "tests", "AnCoder.Syntax.Tests", "Reference", "ast_dump.py")
ANCODER = os.path.join(REPO, "ancoder")


def python_files(root):
    found = []
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if d != "__pycache__")
        found.extend(os.path.join(directory, f) for f in sorted(files) if f.endswith(".py"))
    return found


def split_by_headers(text):
    result, current, body = {}, None, []
    for line in text.split("\n"):
        if line.startswith("# "):
            if current is not None:
                result[current] = "\n".join(body).rstrip("\n")
            current, body = line[2:], []
        else:
            body.append(line)
    if current is not None:
        result[current] = "\n".join(body).rstrip("\n")
    return result


def run(command, paths):
    stdin = "\0".join(paths).encode("utf-8", "surrogateescape")
    done = subprocess.run(command, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return done.stdout.decode("utf-8", "surrogateescape"), done.stderr.decode("utf-8", "replace"), done.returncode


def first_difference(ours, theirs):
    a, b = ours.split("\n"), theirs.split("\n")
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return "dump line %d: ours `%s` | cpython `%s`" % (i + 1, x.strip(), y.strip())
    return "dump length: ours %d lines | cpython %d lines" % (len(a), len(b))


def main():
    parser = argparse.ArgumentParser(description="compare our parser with CPython on a folder of .py files")
    parser.add_argument("dir")
    parser.add_argument("--show", type=int, default=20, help="mismatches to print (default 20)")
    parser.add_argument("--mismatches", help="write every mismatching path with its difference to this file")
    args = parser.parse_args()

    paths = python_files(args.dir)
    if not paths:
        print("%s: no .py files" % args.dir, file=sys.stderr)
        return 2
    # Two entries at least, so both tools print `# path` headers even for a one-file corpus.
    listed = paths if len(paths) > 1 else paths + paths
    theirs, err, code = run([sys.executable, AST_DUMP, "--stdin-list"], listed)
    if code != 0:
        print("ast_dump.py failed: " + err, file=sys.stderr)
        return 2
    ours, err, code = run([ANCODER, "parse", "--dump", "--files-from", "-"], listed)
    if code not in (0, 1, 2, 3):
        print("ancoder parse failed (exit %d): %s" % (code, err), file=sys.stderr)
        return 2
    theirs, ours = split_by_headers(theirs), split_by_headers(ours)

    counts = {"identical dump": 0, "both rejected": 0, "dump differs": 0, "we reject, CPython accepts": 0,
              "we accept, CPython rejects": 0, "our parser threw": 0, "no output from us": 0}
    mismatches = []
    for path in paths:
        t, o = theirs.get(path), ours.get(path)
        if o is None:
            kind = "no output from us"
        elif o.startswith("!InternalError"):
            kind = "our parser threw"
        elif t.startswith("!SyntaxError") and o.startswith("!SyntaxError"):
            kind = "both rejected"
        elif t.startswith("!SyntaxError"):
            kind = "we accept, CPython rejects"
        elif o.startswith("!SyntaxError"):
            kind = "we reject, CPython accepts"
        elif o == t:
            kind = "identical dump"
        else:
            kind = "dump differs"
        counts[kind] += 1
        if kind not in ("identical dump", "both rejected"):
            detail = first_difference(o, t) if kind == "dump differs" else "ours %s | cpython %s" % (
                (o or "").split("\n")[0][:200], t.split("\n")[0][:200])
            mismatches.append("%s: %s: %s" % (path, kind, detail))

    print("%d files under %s" % (len(paths), args.dir))
    for kind, n in counts.items():
        print("  %-28s %d" % (kind, n))
    agree = counts["identical dump"] + counts["both rejected"]
    print("agreement: %d / %d (%.2f%%)" % (agree, len(paths), 100.0 * agree / len(paths)))
    for line in mismatches[: args.show]:
        print("  " + line)
    if args.mismatches:
        with open(args.mismatches, "w", encoding="utf-8", errors="surrogateescape") as f:
            f.write("\n".join(mismatches) + "\n")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
