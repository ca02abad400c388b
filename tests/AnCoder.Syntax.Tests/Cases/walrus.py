if (n := len(a)) > 10:
    print(f"List is too long ({n} elements, expected <= 10)")

while (block := f.read(256)) != '':
    process(block)

[y := f(x), y**2, y**3]
filtered = [y for x in data if (y := f(x)) is not None]
print(x := 1, (z := 2))
foo(x=(y := f(x)))
lambda: (x := 1)
a[(b := 1)]
a[b := 1, c := 2]
x = (y := 0)
def f(answer=(p := 42)): pass
assert (w := 3)
{(k := 1): (v := 2)}
{(s := 1), 2}
with (m := open("x")) as fh: pass
