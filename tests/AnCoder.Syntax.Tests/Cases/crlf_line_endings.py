def f(x):
    if x:
        return 1
    return (x +
            2)

s = """a
b"""
t = 1 + \
    2
