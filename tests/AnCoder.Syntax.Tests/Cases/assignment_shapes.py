# Every shape of CPython's `assignment` rule and the expression statements beside them: a predicting parse
# (src/AnCoder.Syntax/Parsing/Parser.Statements.cs, ScanAssignmentSigns) tries only the alternatives whose sign
# (':', '=', an augmented operator) comes first outside brackets, so these must parse exactly as CPython parses them.
x: int
x: int = 5
y: "list[int]" = [1, 2]
(x): int = 3
(x.y): int
x.y: int = f(a=1)
x[a:b]: slice = 1
x[1:2] = y
x[a:b, ::2] = {k: v for k, v in d.items()}
a = b = c = d
a, *b = c, d = e
[a, (b, c)] = x = y
x = lambda: 0
x = lambda a=1: a
f = lambda *a, **k: (a, k)
x += 1
x.y -= 2
x[0] @= m
x[lambda: 1: 2] //= 3
x += (y := 1)
x **= y if z else w
x = yield
x = yield from y
x = await_ = 1
d = {1: 2, 3: 4}
s = x[1:2:3]
f(a=1, b=x == y, *c, **d)
f(a)(b=2)[c:d].e
obj.method(key=value).other[1:]
lambda: 0
lambda x: x == 1
x == y
x: int; y = 1; z += 2; f(q=3)
print(x, sep="", end="\n"); a = 1
x = y; x: int
match = 1
case: int = 2
_ = 3
type = 4
x = [i for i in range(3) if i]
(a): int
[a, b] = [c, d]
*a, b = c
x.y.z = w.v(u=1)
x[y][z] = 1
def f(a, /, b, *, c=1, **d): pass
def g(a=1, /, b=2): pass
def h(a: int = 1, b: str = "/", *args: int, c: float = 1 / 2, **kw: dict) -> None: pass
def k(x=a / b, y=c // d): pass
