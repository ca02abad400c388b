#!/usr/bin/env python3
"""CPython 3.11's tokens, the reference for AnCoder's tokenizer tests.

Usage: tokenize_dump.py --c FILE...        C tokenizer (what the PEG parser sees) + ast.parse verdict per file
       tokenize_dump.py --module FILE...   tokenize.tokenize (Lib/tokenize.py) per file
       tokenize_dump.py --module-stdin     same, for NUL-separated paths read from stdin
       tokenize_dump.py --c-stdin          C tokenizer tokens only (no ast.parse), NUL-separated paths from stdin
       add --hash to a -stdin mode to print `H <count> <sha1 of the token lines joined by \n>` instead of the lines
       (several processes; for whole-stdlib comparisons)

Output per file: `# <path>`, then one line per token:
  <EXACT_TYPE_NAME> <start_line> <start_col> <end_line> <end_col> <hex of the string's UTF-8, or - when empty>
--c columns are UTF-8 byte columns (INDENT/DEDENT columns are -1 there, as CPython reports them); the last line
is `AST ok` or `AST err <line> <offset> <repr(msg)>` (ast.parse of the file's bytes); a C tokenizer error
prints `CERR <line> <offset> <repr(msg)>` after the tokens it produced. --module columns are the
module's character columns; the ENCODING token is skipped; a tokenize error ends the list with
`ERR <repr(exception)>`.
"""
import ast
import hashlib
import io
import multiprocessing
import os
import sys
import token
import tokenize
import warnings

warnings.simplefilter("ignore")


def name_of(tok):
    return token.tok_name[tok.exact_type]


def line(tok):
    return "%s %d %d %d %d %s" % (name_of(tok), tok.start[0], tok.start[1], tok.end[0], tok.end[1],
                                  tok.string.encode("utf-8", "surrogateescape").hex() or "-")


def dump_c(path, out, verdict=True):
    data = open(path, "rb").read()
    out.append("# " + path)
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        text = data.decode(encoding)
        if text.startswith("\ufeff"):
            text = text[1:]
        for tok in tokenize._generate_tokens_from_c_tokenizer(text):
            out.append(line(tok))
    except SyntaxError as e:  # the C tokenizer stops with the error
        out.append("CERR %s %s %r" % (e.lineno, e.offset, e.msg))
    except Exception as e:
        out.append("CERR None None %r" % (str(e),))
    if not verdict:
        return
    try:
        ast.parse(data)
        out.append("AST ok")
    except SyntaxError as e:
        out.append("AST err %s %s %r" % (e.lineno, e.offset, e.msg))
    except ValueError as e:
        out.append("AST err None None %r" % (str(e),))


def dump_module(path, out):
    out.append("# " + path)
    try:
        with open(path, "rb") as f:
            for tok in tokenize.tokenize(f.readline):
                if tok.type == tokenize.ENCODING:
                    continue
                out.append(line(tok))
    except Exception as e:
        out.append("ERR %r" % (type(e).__name__,))


def hashed(job):
    mode, path = job
    lines = []
    if mode == "c":
        dump_c(path, lines, verdict=False)
    else:
        dump_module(path, lines)
    tokens = [l for l in lines[1:] if not l.startswith(("CERR ", "ERR "))]
    errors = [l for l in lines[1:] if l.startswith(("CERR ", "ERR "))]
    digest = hashlib.sha1("\n".join(tokens).encode("utf-8", "surrogateescape")).hexdigest()
    return "\n".join([lines[0], "H %d %s" % (len(tokens), digest)] + errors)


def main(argv):
    out = []
    if "--hash" in argv:
        argv = [a for a in argv if a != "--hash"]
        paths = [p for p in sys.stdin.buffer.read().decode().split("\0") if p]
        mode = "c" if argv[0] == "--c-stdin" else "module"
        with multiprocessing.Pool(os.cpu_count()) as pool:
            out = pool.map(hashed, [(mode, p) for p in paths], chunksize=16)
        sys.stdout.buffer.write(("\n".join(out) + "\n").encode("utf-8", "surrogateescape"))
        return
    if argv[0] == "--c":
        for p in argv[1:]:
            dump_c(p, out)
    elif argv[0] == "--module":
        for p in argv[1:]:
            dump_module(p, out)
    elif argv[0] == "--c-stdin":
        for p in sys.stdin.buffer.read().decode().split("\0"):
            if p:
                dump_c(p, out, verdict=False)
    elif argv[0] == "--module-stdin":
        for p in sys.stdin.buffer.read().decode().split("\0"):
            if p:
                dump_module(p, out)
    else:
        sys.exit(__doc__)
    sys.stdout.buffer.write(("\n".join(out) + "\n").encode("utf-8", "surrogateescape"))


if __name__ == "__main__":
    main(sys.argv[1:])
