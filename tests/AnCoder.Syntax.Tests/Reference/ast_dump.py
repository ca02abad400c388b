#!/usr/bin/env python3
"""CPython's AST in the project's dump format (the reference for `ancoder parse --dump`).

Usage: ast_dump.py FILE...          dump each file (with `# <path>` headers when several)
       ast_dump.py --verdict FILE... print `ok` or `reject` per file, one per line (fast accept/reject)
       ast_dump.py --stdin-list      read NUL-separated paths from stdin, dump each with `# <path>` headers
       ast_dump.py --stdin-verdicts  read NUL-separated paths from stdin, print `ok` or the `!SyntaxError: ...`
                                     line per file, one per line (the differential tests' verdict oracle)

Format: one line per node, pre-order, two spaces per depth, children in `_fields` order:
  <ClassName>[ @L:C-EL:EC][ field=value ...]
Scalar fields in `_fields` order: str bare, None as `None`, int/bool as Python prints them, non-empty str
lists as `[a,b]`; Constant.value as `value:<type name>`; `type_comment` skipped; empty lists print nothing.
A None inside a node list prints a line `None`. A rejected file prints `!SyntaxError: <msg> (<line>:<col>)`.
"""
import ast
import sys
import warnings

warnings.simplefilter("ignore")  # ast.parse semantics: warnings (e.g. invalid escapes) are not errors
DEFAULT_RECURSION_LIMIT = 1000
POS = ("lineno", "col_offset", "end_lineno", "end_col_offset")


def dump(node, depth, out):
    line = "  " * depth + type(node).__name__
    if all(a in node._attributes for a in POS) and all(isinstance(getattr(node, a, None), int) for a in POS):
        line += " @%d:%d-%d:%d" % tuple(getattr(node, a) for a in POS)
    scalars = _scalar_fields(node)
    children = []
    for name in node._fields:
        if name == "type_comment":
            continue
        value = getattr(node, name, None)
        if isinstance(node, ast.Constant) and name == "value":
            line += " value:" + type(value).__name__
        elif name in scalars:
            if isinstance(value, list):
                if value:
                    line += " %s=[%s]" % (name, ",".join(value))
            else:
                line += " %s=%s" % (name, value)
        elif isinstance(value, list):
            children.extend(value)
        elif value is not None:
            children.append(value)
    out.append(line)
    for child in children:
        if child is None:
            out.append("  " * (depth + 1) + "None")
        else:
            dump(child, depth + 1, out)


_SCALAR_CACHE = {}


def _scalar_fields(node):
    """Fields of a node class whose ASDL type is a scalar (identifier, string, int, constant)."""
    cls = type(node)
    if cls not in _SCALAR_CACHE:
        sig = cls.__doc__.split("(", 1)[1].rsplit(")", 1)[0] if "(" in cls.__doc__ else ""
        scalars = set()
        for part in sig.split(","):
            part = part.strip()
            if not part:
                continue
            typ, name = part.split()
            if typ.rstrip("*?") in ("identifier", "string", "int", "constant"):
                scalars.add(name)
        _SCALAR_CACHE[cls] = scalars
    return _SCALAR_CACHE[cls]


def _frames_below_top_level():
    """How many Python frames the caller runs below a script's top-level frame."""
    depth, frame = 0, sys._getframe(2)
    while frame is not None:
        depth += 1
        frame = frame.f_back
    return depth - 1


def parse_source(source):
    """ast.parse(source) -> (tree, None), or (None, the `!SyntaxError: <msg> (<line>:<col>)` line)."""
    # ast.parse as called from a script's top level with the default recursion limit. CPython 3.11's ast2obj
    # rejects (RecursionError) trees nested deeper than 3 x (limit - caller's frame depth); this function runs a few
    # frames deeper than a top-level call, so the limit is raised by exactly that many frames. (The script raises
    # the limit further only for its own recursive dump.)
    saved_limit = sys.getrecursionlimit()
    sys.setrecursionlimit(DEFAULT_RECURSION_LIMIT + _frames_below_top_level())
    try:
        return ast.parse(source), None
    except (SyntaxError, ValueError, MemoryError, RecursionError) as e:
        line = getattr(e, "lineno", None) or 0
        col = getattr(e, "offset", None) or 0
        msg = getattr(e, "msg", None) or str(e)
        return None, "!SyntaxError: %s (%s:%s)" % (msg, line, col)
    finally:
        sys.setrecursionlimit(saved_limit)


def verdict_or_dump(path, want_dump):
    with open(path, "rb") as f:
        source = f.read()
    tree, error = parse_source(source)
    if tree is None:
        return None, error
    if not want_dump:
        return tree, "ok"
    out = []
    dump(tree, 0, out)
    return tree, "\n".join(out)


def main(argv):
    sys.setrecursionlimit(100000)
    if argv and argv[0] == "--verdict":
        for path in argv[1:]:
            tree, text = verdict_or_dump(path, False)
            print("ok" if tree is not None else "reject")
        return 0
    if argv and argv[0] == "--stdin-verdicts":
        paths = [p for p in sys.stdin.buffer.read().decode("utf-8", "surrogateescape").split("\0") if p]
        for path in paths:
            tree, text = verdict_or_dump(path, False)
            sys.stdout.write(text.replace("\n", "\\n") + "\n")
        return 0
    if argv and argv[0] == "--stdin-list":
        paths = [p for p in sys.stdin.buffer.read().decode("utf-8", "surrogateescape").split("\0") if p]
        headers = True
    else:
        paths = argv
        headers = len(paths) > 1
    w = sys.stdout.write
    for path in paths:
        if headers:
            w("# %s\n" % path)
        _, text = verdict_or_dump(path, True)
        w(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
