"""Baseline for `ancoder prepare --bench`: the same labelling as AnCoder.Anchoring in pure CPython - byte-level BPE
with the same tokenizer.json (Qwen2 pre-tokenizer pattern, merges by rank), then the AnchorTree labels with `ast` and
`tokenize` (tests/AnCoder.Anchoring.Tests/Reference/labels_reference.py). Prints JSON {files, bytes, tokens, seconds,
processes}. Files are read before the clock starts.

usage: python3 label_throughput.py --tokenizer DIR [--processes N] SOURCE_DIR
"""
import argparse
import json
import multiprocessing
import os
import re
import sys
import time
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "AnCoder.Anchoring.Tests", "Reference"))
import labels_reference  # noqa: E402


def char_class(prefix):
    """A regex class body of every code point whose general category starts with `prefix` (e.g. L, N)."""
    ranges, start = [], None
    for cp in range(0x110000):
        inside = unicodedata.category(chr(cp)).startswith(prefix)
        if inside and start is None:
            start = cp
        elif not inside and start is not None:
            ranges.append((start, cp - 1))
            start = None
    if start is not None:
        ranges.append((start, 0x10FFFF))
    return "".join(re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges)


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


class Bpe:
    def __init__(self, directory):
        with open(os.path.join(directory, "tokenizer.json"), encoding="utf-8") as f:
            data = json.load(f)
        model = data["model"]
        self.vocab = model["vocab"]
        self.ranks = {}
        for rank, merge in enumerate(model["merges"]):
            left, right = merge.split(" ", 1) if isinstance(merge, str) else merge
            self.ranks.setdefault((left, right), rank)
        letters, numbers = char_class("L"), char_class("N")
        pattern = (rf"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n{letters}{numbers}]?[{letters}]+|[{numbers}]"
                   rf"| ?[^\s{letters}{numbers}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
        self.regex = re.compile(pattern)
        self.byte_map = bytes_to_unicode()
        self.cache = {}

    def word(self, piece):
        symbols = list(piece)
        while len(symbols) > 1:
            best, at = None, -1
            for i in range(len(symbols) - 1):
                rank = self.ranks.get((symbols[i], symbols[i + 1]))
                if rank is not None and (best is None or rank < best):
                    best, at = rank, i
            if best is None:
                break
            symbols[at:at + 2] = [symbols[at] + symbols[at + 1]]
        return symbols

    def encode_spans(self, raw):
        """Token byte spans of a file's bytes (invalid UTF-8 kept through surrogateescape)."""
        text = raw.decode("utf-8", "surrogateescape")
        spans, pos = [], 0
        for match in self.regex.finditer(text):
            piece = match.group(0).encode("utf-8", "surrogateescape")
            key = "".join(self.byte_map[b] for b in piece)
            tokens = self.cache.get(key)
            if tokens is None:
                tokens = self.word(key)
                self.cache[key] = tokens
            for token in tokens:
                spans.append([pos, pos + len(token)])
                pos += len(token)
        return spans


BPE = None


def init(directory):
    global BPE
    BPE = Bpe(directory)


def work(raw):
    spans = BPE.encode_spans(raw)
    labels_reference.label(raw, spans)
    return len(spans)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokenizer", required=True)
    parser.add_argument("--processes", type=int, default=os.cpu_count())
    parser.add_argument("source")
    args = parser.parse_args()
    paths = []
    for root, dirs, files in os.walk(args.source):
        dirs[:] = [d for d in dirs if d not in ("site-packages", "dist-packages")]
        paths += [os.path.join(root, f) for f in files if f.endswith(".py")]
    paths.sort()
    contents = []
    for path in paths:
        try:
            with open(path, "rb") as f:
                contents.append(f.read())
        except OSError:
            pass
    with multiprocessing.Pool(args.processes, initializer=init, initargs=(args.tokenizer,)) as pool:
        pool.map(work, contents[:8])  # warm-up: workers built (tokenizer loaded) before the clock
        start = time.perf_counter()
        tokens = sum(pool.map(work, contents, chunksize=4))
        seconds = time.perf_counter() - start
    print(json.dumps({"files": len(contents), "bytes": sum(map(len, contents)), "tokens": tokens,
                      "seconds": seconds, "processes": args.processes}))


if __name__ == "__main__":
    main()
