#!/usr/bin/env python3
"""CPython's verdict on prefixes of stdlib files and of token mutants: complete, viable or notviable.

Usage: prefix_oracle.py [--files N] [--mutants N] [--doc-bytes N] [--seed N]

The oracle of the viable-prefix tests (PythonParser.CheckPrefix). A prefix P is
- complete  when ast.parse(P) accepts it;
- viable    when some continuation makes it parse. Decided with CPython's own incomplete-input test, the one
            `codeop` uses: compile(..., flags=PyCF_ALLOW_INCOMPLETE_INPUT) raises "incomplete input" when the first
            parser pass failed after the tokenizer had run into the end of the source. It is applied to synthesized
            continuations ("probes") of P: P + "\\" + newline (so the end of P is the end of the input, not the end
            of a logical line), P + newline, P + a digit, and completions of a word or operator P ends in (each
            keyword or longer operator it starts, an identifier, a string after a string prefix). P is viable when
            some probe parses or is "incomplete input".
- notviable otherwise.

Where the oracle is approximate: (1) "incomplete input" means that the parser ran into the end of the input on
some alternative, not that a continuation exists; a construct that can never be completed but is only rejected
when it ends (e.g. mixing bytes and str literals, where the last literal is still open) counts as viable;
(2) a prefix whose only completions are outside the probes (a cut-short escape sequence inside an open string
such as '\\x4, a cut-short non-ASCII identifier) counts as notviable; (3) the contents of an unterminated string
are not checked (an open f-string's replacement field included).

Documents: the first --doc-bytes bytes (cut at a line end) of stdlib files chosen by the SHA-1 of their path
relative to the stdlib (the first --files UTF-8 files CPython accepts: held out, no tuning was done on them), and
--mutants token mutants (one token deleted, duplicated or swapped, as mutants.py) of documents of the files after
those. Cut points: every token start and every line start of a document (of a mutant: from three tokens before
the mutation to 40 tokens after it). Output, tab-separated:

    doc  ID  KIND  PATH  HEX_OF_DOCUMENT_BYTES
    ID  CUT_BYTE_OFFSET  VERDICT
"""
import argparse
import ast
import codeop
import hashlib
import io
import os
import random
import re
import sys
import sysconfig
import tokenize
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ast_dump import parse_source  # noqa: E402  (the one definition of CPython's verdict)

# The same lists as PythonParser.PrefixProbes (src/AnCoder.Syntax/PythonParser.Prefix.cs).
KEYWORDS = ["False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def",
            "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda",
            "nonlocal", "not", "or", "pass", "raise", "return", "try", "while", "with", "yield", "_", "case", "match"]
LONG_OPERATORS = ["!=", "%=", "&=", "**", "**=", "*=", "+=", "-=", "->", "...", "//", "//=", "/=", ":=", "<<", "<<=",
                  "<=", "==", ">=", ">>", ">>=", "@=", "^=", "|="]
STRING_PREFIXES = ["r", "u", "b", "f", "br", "rb", "fr", "rf"]
CONTINUATION = "\\\n"
WORD_AT_END = re.compile(r"[A-Za-z0-9_]*\Z")
FLAGS = ast.PyCF_ONLY_AST | codeop.PyCF_ALLOW_INCOMPLETE_INPUT


def probes(text):
    yield text + CONTINUATION
    yield text + "\n"
    yield text + "1" + CONTINUATION
    word = WORD_AT_END.search(text).group(0)
    if word and not word[0].isdigit():
        for keyword in KEYWORDS:
            if len(keyword) > len(word) and keyword.startswith(word):
                yield text + keyword[len(word):] + " " + CONTINUATION
        yield text + "_" + CONTINUATION
        if word.lower() in STRING_PREFIXES:
            yield text + "''" + CONTINUATION
    for op in LONG_OPERATORS:
        for i in range(len(op) - 1, 0, -1):
            if text.endswith(op[:i]):
                yield text + op[i:] + " " + CONTINUATION
                break


def parses_or_incomplete(source):
    try:
        compile(source, "<prefix>", "exec", FLAGS, dont_inherit=True)
        return True
    except SyntaxError as e:
        return e.msg == "incomplete input"
    except (ValueError, MemoryError, RecursionError, OverflowError):
        return False


def verdict(text):
    complete = parse_source(text.encode("utf-8"))[0] is not None
    if complete:
        return "complete"
    return "viable" if any(parses_or_incomplete(p) for p in probes(text)) else "notviable"


def stdlib_files():
    root = sysconfig.get_paths()["stdlib"]
    found = []
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if d not in ("site-packages", "dist-packages", "__pycache__"))
        found.extend(os.path.join(directory, f) for f in files if f.endswith(".py"))
    return sorted(found, key=lambda p: hashlib.sha1(os.path.relpath(p, root).encode()).hexdigest())


def document_of(path, doc_bytes):
    """The file's first doc_bytes bytes cut after a line end, or None when the file is not plain UTF-8 that CPython
    accepts."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 200 or data.startswith(b"\xef\xbb\xbf") or parse_source(data)[0] is None:
        return None
    try:
        with open(path, "rb") as f:
            if tokenize.detect_encoding(f.readline)[0] != "utf-8":
                return None
        data.decode("utf-8")
    except (SyntaxError, UnicodeDecodeError):
        return None
    if len(data) > doc_bytes:
        end = data.rfind(b"\n", 0, doc_bytes)
        data = data[:end + 1] if end > 0 else data[:doc_bytes]
    return data


def token_starts(data):
    """Byte offsets of token starts (tokenize module) and line starts, or None when tokenize fails."""
    text = data.decode("utf-8")
    lines = io.StringIO(text).readlines()
    line_starts = [0]
    for line in lines:
        line_starts.append(line_starts[-1] + len(line.encode("utf-8")))
    starts = set(line_starts)
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type in (tokenize.ENDMARKER, tokenize.DEDENT, tokenize.INDENT):
                continue
            row, col = tok.start
            if row - 1 < len(lines):
                starts.add(line_starts[row - 1] + len(lines[row - 1][:col].encode("utf-8")))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return sorted(s for s in starts if 0 < s <= len(data))


def token_spans(data):
    """(start, end) byte spans of the tokens with a non-empty span (for mutants)."""
    text = data.decode("utf-8")
    lines = io.StringIO(text).readlines()
    line_starts = [0]
    for line in lines:
        line_starts.append(line_starts[-1] + len(line.encode("utf-8")))

    def offset(row, col):
        if row - 1 >= len(lines):
            return line_starts[-1]
        return line_starts[row - 1] + len(lines[row - 1][:col].encode("utf-8"))

    spans = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type in (tokenize.ENDMARKER, tokenize.DEDENT):
                continue
            start, end = offset(*tok.start), offset(*tok.end)
            if end > start:
                spans.append((tok.type, start, end))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return spans


def mutant_of(data, rng):
    spans = token_spans(data)
    if len(spans) < 3:
        return None
    operation = rng.choice(("delete", "duplicate", "swap"))
    index = rng.randrange(len(spans) - 1)
    kind, start, end = spans[index]
    if operation == "delete":
        mutant = data[:start] + data[end:]
    elif operation == "duplicate":
        space = b" " if kind in (tokenize.NAME, tokenize.NUMBER, tokenize.STRING) else b""
        mutant = data[:end] + space + data[start:end] + data[end:]
    else:
        _, next_start, next_end = spans[index + 1]
        mutant = data[:start] + data[next_start:next_end] + data[end:next_start] + data[start:end] + data[next_end:]
    try:
        mutant.decode("utf-8")
    except UnicodeDecodeError:
        return None
    window_start = spans[max(0, index - 3)][1]
    return mutant, window_start


def emit(out, doc_id, kind, path, data, cuts):
    out.write("doc\t%d\t%s\t%s\t%s\n" % (doc_id, kind, path, data.hex()))
    for cut in cuts:
        out.write("%d\t%d\t%s\n" % (doc_id, cut, verdict(data[:cut].decode("utf-8"))))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--mutants", type=int, default=2000)
    parser.add_argument("--doc-bytes", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=20261206)
    parser.add_argument("--skip", type=int, default=0, help="skip the first N eligible files (a development set)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    sys.setrecursionlimit(100000)

    out = sys.stdout
    doc_id = 0
    files = iter(stdlib_files())
    taken = 0
    skipped = 0
    for path in files:
        if skipped < args.skip:
            skipped += document_of(path, args.doc_bytes) is not None
            continue
        if taken >= args.files:
            break
        data = document_of(path, args.doc_bytes)
        if data is None:
            continue
        taken += 1
        emit(out, doc_id, "file", path, data, token_starts(data))
        doc_id += 1
    rng = random.Random(args.seed)
    made = 0
    for path in files:
        if made >= args.mutants:
            break
        data = document_of(path, args.doc_bytes)
        if data is None:
            continue
        for _ in range(5):  # up to five mutants per file
            if made >= args.mutants:
                break
            m = mutant_of(data, rng)
            if m is None:
                continue
            mutant, window_start = m
            cuts = [c for c in token_starts(mutant) if c >= window_start][:45]
            emit(out, doc_id, "mutant", path, mutant, cuts)
            doc_id += 1
            made += 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
