#!/usr/bin/env python3
"""Expected facts for StringLiteralParser tests, from CPython itself.

stdin: one case per line, the source as hex of its UTF-8 bytes. For each case prints a block ending in "END":
  TOKENS sl,sc,el,ec,so,eo;...   the first run of adjacent STRING tokens (cols/offsets in UTF-8 bytes)
  then either ERROR <line>|<col>|<msg>   (ast.parse's SyntaxError)
  or the string node dumped pre-order, one node per line, two spaces per depth:
     Constant <pos> kind=<kind> str:<hex UTF-16 code units joined by .> | bytes:<hex>
     JoinedStr <pos> / FormattedValue <pos> conv=<n> (children: value, format_spec)
     Expr <lineno>:<col_offset>   (a replacement field's expression: only where it starts)
  <pos> is lineno:col_offset-end_lineno:end_col_offset.
"""
import ast
import io
import sys
import tokenize
import warnings

warnings.simplefilter("ignore")


def string_tokens(source):
    lines = source.split(b"\n")
    lines = [line + b"\n" for line in lines[:-1]] + [lines[-1]]  # rows as tokenize counts them
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    # surrogateescape: invalid UTF-8 inside literals is part of some cases
    text = source.decode("utf-8", "surrogateescape")
    text_lines = [line + "\n" for line in text.split("\n")]

    def byte_col(row, col):
        return len(text_lines[row - 1][:col].encode("utf-8", "surrogateescape"))

    run = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.STRING:
                run.append(tok)
            elif tok.type in (tokenize.NL, tokenize.COMMENT, tokenize.ENCODING):
                continue
            elif run:
                break
    except (tokenize.TokenError, SyntaxError, IndentationError):
        pass
    out = []
    for tok in run:
        (sl, sc), (el, ec) = tok.start, tok.end
        bsc, bec = byte_col(sl, sc), byte_col(el, ec)
        out.append("%d,%d,%d,%d,%d,%d" % (sl, bsc, el, bec, starts[sl - 1] + bsc, starts[el - 1] + bec))
    return run, out, (byte_col(*run[0].start) if run else 0)


def pos(n):
    return "%d:%d-%d:%d" % (n.lineno, n.col_offset, n.end_lineno, n.end_col_offset)


def dump(n, depth, out):
    ind = "  " * depth
    if isinstance(n, ast.Constant):
        if isinstance(n.value, bytes):
            val = "bytes:" + n.value.hex()
        else:
            # UTF-16 code units: what a .NET string can hold (adjacent lone surrogates read as a pair there)
            units = n.value.encode("utf-16-le", "surrogatepass")
            val = "str:" + ".".join("%x" % int.from_bytes(units[i:i + 2], "little") for i in range(0, len(units), 2))
        out.append("%sConstant %s kind=%s %s" % (ind, pos(n), n.kind, val))
    elif isinstance(n, ast.JoinedStr):
        out.append("%sJoinedStr %s" % (ind, pos(n)))
        for v in n.values:
            dump(v, depth + 1, out)
    elif isinstance(n, ast.FormattedValue):
        out.append("%sFormattedValue %s conv=%d" % (ind, pos(n), n.conversion))
        out.append("%s  Expr %d:%d" % (ind, n.value.lineno, n.value.col_offset))
        if n.format_spec is not None:
            dump(n.format_spec, depth + 1, out)
    else:
        out.append("%s?%s" % (ind, type(n).__name__))


def main():
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        source = bytes.fromhex(line)
        run, toks, first_col = string_tokens(source)
        print("TOKENS " + ";".join(toks))
        try:
            tree = ast.parse(source)
        except SyntaxError as e:
            print("ERROR %s|%s|%s" % (e.lineno, e.offset, e.msg))
            print("END")
            continue
        first, last = run[0], run[-1]
        target = None
        for n in ast.walk(tree):
            if isinstance(n, (ast.Constant, ast.JoinedStr)) and (n.lineno, n.col_offset) == (first.start[0], first_col):
                target = n
                break
        out = []
        dump(target, 0, out)
        print("\n".join(out))
        print("END")


if __name__ == "__main__":
    main()
