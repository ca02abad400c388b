"""Module docstring."""
import sys

for i in range(10):
    if i % 2 == 0:
        continue
    elif i == 7:
        break
    else:
        pass
else:
    print("done")

while True:
    break
else:
    pass

while x: x -= 1

if a:
    pass
elif b:
    pass
elif c:
    pass
else:
    pass


def generator():
    yield
    yield 1
    yield 1, 2
    x = yield
    y = yield from other()
    await_ = (yield)
    return


def empty_return():
    return


x = [1, 2, 3,]
y = (1,)
z = ()
w = {}
v = {1: 2,}
u = {1,}
t = 1,
s = Ellipsis, ..., None, True, False, __debug__
r = a.b.c.d
q = a(b)(c)[d].e
p = (a)
o = ((a))
print(not x, -x, +x, ~x)
