squares = [x * x for x in range(10)]
pairs = [(x, y) for x in range(3) for y in range(3) if x != y if y > 0]
nested = [[y for y in row] for row in matrix]
s = {c for c in "hello"}
d = {k: v for k, v in zip(keys, values)}
g = (x for x in range(10))
total = sum(x for x in range(10))
call(x for x in y)
h = [x for x in (y for y in z)]
i = [lambda: x for x in range(3)]
j = [x for x, in pairs]
k = [x for *x, y in pairs]
l = [(yield_) for yield_ in range(2)]
m = [x if x else y for x in z]
n = [x for x in a if x if not x]


async def agen():
    return [x async for x in aiter() async for y in x if await y]
