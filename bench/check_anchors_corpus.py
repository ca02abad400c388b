"""Checks `./ancoder anchors --json` on a corpus the test suite never sees against the independent CPython labeller
(tests/AnCoder.Anchoring.Tests/Reference/labels_reference.py): tokens tile each file exactly, and node, depth,
keyword and identifier agree on every token.

usage: python3 bench/check_anchors_corpus.py [--limit N] DIR    (default DIR: /usr/lib/python3/dist-packages)
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "AnCoder.Anchoring.Tests", "Reference"))
import labels_reference  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=200)
    parser.add_argument("dir", nargs="?", default="/usr/lib/python3/dist-packages")
    args = parser.parse_args()
    paths = sorted(os.path.join(r, f) for r, _, fs in os.walk(args.dir) for f in fs if f.endswith(".py"))
    step = max(1, len(paths) // args.limit)
    paths = paths[::step][:args.limit]
    files = tokens = mismatched_files = 0
    for path in paths:
        with open(path, "rb") as f:
            raw = f.read()
        out = subprocess.run([os.path.join(ROOT, "ancoder"), "anchors", "--json", path], capture_output=True)
        if out.returncode != 0:
            print(f"{path}: ancoder failed: {out.stderr.decode(errors='replace')[:200]}")
            mismatched_files += 1
            continue
        result = json.loads(out.stdout)
        spans = [[t["start"], t["end"]] for t in result["tokens"]]
        pos = 0
        for s, e in spans:
            assert s == pos and e > s, f"{path}: tokens do not tile at byte {pos}"
            pos = e
        if not (pos == len(raw) or labels_reference_decoded_length(raw) == pos):
            print(f"{path}: tokens end at {pos}, file has {len(raw)} bytes")
        _, expected = labels_reference.label(raw, spans)
        bad = [(i, t, x) for i, (t, x) in enumerate(zip(result["tokens"], expected))
               if [t["node"], t["depth"], t["keyword"], t["identifier"]] != x]
        files += 1
        tokens += len(spans)
        if bad:
            mismatched_files += 1
            i, t, x = bad[0]
            print(f"{path}: {len(bad)} mismatches; first token {i} {t['text']!r}: ours {[t['node'], t['depth'], t['keyword'], t['identifier']]}, CPython {x}")
    print(f"{files} files, {tokens} tokens compared; {mismatched_files} files with differences")
    return 1 if mismatched_files else 0


def labels_reference_decoded_length(raw):
    """Length of the labelled bytes for a non-UTF-8 source (re-encoded as UTF-8)."""
    import io
    import tokenize
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(raw).readline)
        return len(raw.decode(encoding).encode("utf-8"))
    except (SyntaxError, UnicodeDecodeError, LookupError):
        return -1


if __name__ == "__main__":
    sys.exit(main())
