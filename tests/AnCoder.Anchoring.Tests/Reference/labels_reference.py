"""Independent AnchorTree labeller on CPython's own `ast` and `tokenize` (docs/algorithms.md §6), the reference for
AnCoder.Anchoring.Labels.LabelledSource.

stdin: JSON lines {"path": FILE, "spans": [[start, end], ...]} (the BPE tokens' UTF-8 byte spans, which tile the
labelled bytes); stdout: JSON lines {"path", "parsed", "labels": [[node, depth, keyword, identifier], ...]}.

Offsets: CPython's col_offset is a UTF-8 byte offset in the line (lines end at LF, CRLF or lone CR, as the parser's
newline translation sees them); tokenize's columns are characters of the line it read (split at LF only), converted
here to bytes. The labelled bytes are the file itself when it is UTF-8 (a BOM shifts every offset by 3), otherwise
the source re-encoded as UTF-8.
"""
import ast
import io
import json
import keyword
import sys
import tokenize


def line_starts_ast(data):
    starts, i, n = [0], 0, len(data)
    while i < n:
        c = data[i]
        if c == 0x0A or (c == 0x0D and not (i + 1 < n and data[i + 1] == 0x0A)):
            starts.append(i + 1)
        i += 1
    return starts


def label(raw, spans):
    count = len(spans)
    default = [["Module", 0, False, False] for _ in range(count)]
    try:
        tree = ast.parse(raw)
    except (SyntaxError, ValueError):
        return False, default
    encoding, _ = tokenize.detect_encoding(io.BytesIO(raw).readline)
    text = raw.decode(encoding)
    utf8 = text.encode("utf-8")
    bom = 3 if raw.startswith(b"\xef\xbb\xbf") else 0
    shift = bom if raw[bom:] == utf8 else 0
    starts = line_starts_ast(utf8)

    def offset(lineno, col):
        return shift + (starts[lineno - 1] if lineno - 1 < len(starts) else len(utf8)) + col

    # Candidates per token: (depth, start, preorder) minimised as (-depth, start, preorder).
    best = [None] * count
    token_starts = [s for s, _ in spans]
    import bisect
    order = 0

    def visit(node, depth):
        nonlocal order
        order += 1
        if isinstance(node, ast.AST) and getattr(node, "end_col_offset", None) is not None and hasattr(node, "lineno"):
            start = offset(node.lineno, node.col_offset)
            end = offset(node.end_lineno, node.end_col_offset)
            key = (-depth, start, order)
            # tokens [s, e) with s < end and start < e
            k = max(0, bisect.bisect_right(token_starts, start) - 1)
            while k < count and spans[k][0] < end:
                if start < spans[k][1] and (best[k] is None or key < best[k][0]):
                    best[k] = (key, type(node).__name__, depth)
                k += 1
        for child in ast.iter_child_nodes(node):
            visit(child, depth + 1)

    sys.setrecursionlimit(100000)
    visit(tree, 0)

    kw = [False] * count
    ident = [False] * count
    lines = text.split("\n")
    line_byte_starts = [0]
    for line in lines[:-1]:
        line_byte_starts.append(line_byte_starts[-1] + len(line.encode("utf-8")) + 1)
    try:
        for tok in tokenize.tokenize(io.BytesIO(raw).readline):
            if tok.type != tokenize.NAME:
                continue
            (srow, scol), (erow, ecol) = tok.start, tok.end
            start = shift + line_byte_starts[srow - 1] + len(lines[srow - 1][:scol].encode("utf-8"))
            end = shift + line_byte_starts[erow - 1] + len(lines[erow - 1][:ecol].encode("utf-8"))
            flags = kw if keyword.iskeyword(tok.string) else ident
            k = max(0, bisect.bisect_right(token_starts, start) - 1)
            while k < count and spans[k][0] < end:
                if start < spans[k][1]:
                    flags[k] = True
                k += 1
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass

    labels = []
    for k in range(count):
        node, depth = ("Module", 0) if best[k] is None else (best[k][1], best[k][2])
        labels.append([node, depth, kw[k], ident[k]])
    return True, labels


def main():
    for line in sys.stdin:
        request = json.loads(line)
        with open(request["path"], "rb") as f:
            raw = f.read()
        parsed, labels = label(raw, request["spans"])
        print(json.dumps({"path": request["path"], "parsed": parsed, "labels": labels}))


if __name__ == "__main__":
    main()
