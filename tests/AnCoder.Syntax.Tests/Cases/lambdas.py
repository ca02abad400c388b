f0 = lambda: 0
f1 = lambda x: x
f2 = lambda x, y=1, *args, z, w=2, **kwargs: (x, y, args, z, w, kwargs)
f3 = lambda a, b, /, c, *, d: a
f4 = lambda a=1, /, b=2, *, c: c
f5 = lambda *, k: k
f6 = lambda *a: a
f7 = lambda **k: k
f8 = lambda a, /: a
f9 = lambda x: lambda y: lambda z: x + y + z
f10 = (lambda: (yield))
f11 = lambda x=lambda y=1: y: x()
sorted(items, key=lambda item: (item[1], -item[0]))
