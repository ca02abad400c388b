a, *b = 1, 2, 3
*a, b = range(5)
first, *middle, last = items
(a, b), *c = x
[a, *b] = c
print(*args, *more, sep="")
print(**kwargs, **more)
f(*a, b, *c, d=1, **e)
x = *a, *b
y = [*a, *b]
z = {*a, *b}
w = {**a, 'b': 1, **c}
for a, *b in c: pass
for *a, in b: pass
def g(): return *a, *b
def h(): yield *a, *b
t = *a,
del a, b
del (a, b), [c, d]
del a[0], b.c
