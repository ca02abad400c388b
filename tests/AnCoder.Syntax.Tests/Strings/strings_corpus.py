#!/usr/bin/env python3
"""Every string expression (Constant str/bytes or JoinedStr not nested in another string) of each file, in
string_facts.py's dump format, ordered by position; "# <path>" before each file, "# <path> REJECT" when
ast.parse rejects it. Usage: strings_corpus.py FILE... (or --stdin-list: NUL-separated paths on stdin)."""
import ast
import sys
import warnings

sys.path.insert(0, __import__("os").path.dirname(__file__))
warnings.simplefilter("ignore")
sys.argv, _argv = sys.argv[:1], sys.argv[1:]
from string_facts import dump  # noqa: E402  (string_facts only runs main() under __main__)


def strings_of(tree):
    found = []
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes))):
            found.append(node)
            continue
        stack.extend(ast.iter_child_nodes(node))
    found.sort(key=lambda n: (n.lineno, n.col_offset))
    return found


def main(paths):
    for path in paths:
        try:
            with open(path, "rb") as f:
                tree = ast.parse(f.read())
        except (SyntaxError, ValueError):
            print("# %s REJECT" % path)
            continue
        print("# %s" % path)
        out = []
        for node in strings_of(tree):
            dump(node, 0, out)
        if out:
            print("\n".join(out))


if _argv == ["--stdin-list"]:
    main([p for p in sys.stdin.read().split("\0") if p])
else:
    main(_argv)
