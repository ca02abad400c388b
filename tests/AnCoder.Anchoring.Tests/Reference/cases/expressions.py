def f(a, b=1, /, c=2, *args, d, e=3, **kw):
    return [x for x in a if x async for y in b] or {k: v for k, v in kw.items()} or (yield from z)
x = a if b else c
assert x, "msg"
with open(p) as f, open(q) as g:
    pass
