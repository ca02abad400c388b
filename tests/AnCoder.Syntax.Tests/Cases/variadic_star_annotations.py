def f(*args: *Ts): pass
def g(*args: *tuple[int, ...]): pass
def h(x, *args: *Ts, y): pass
x: tuple[*Ts]
y: Callable[[*Ts], None]
z = Generic[*Ts]
w = a[*b, *c]
