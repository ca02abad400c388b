with open("a") as f:
    pass
with open("a") as f, open("b") as g:
    pass
with (open("a") as f, open("b") as g):
    pass
with (open("a") as f, open("b") as g,):
    pass
with (open("a"), open("b")):
    pass
with (open("a")):
    pass
with (open("a")) as f:
    pass
with (a, b) as c:
    pass
with a as (b, c), d as [e, f]:
    pass
with a as b.c, d as e[0]:
    pass
with (
    a as b,
    c,
    d as e,
):
    pass
with (yield):
    pass
with a, (b):
    pass
with ():
    pass
with (a := b):
    pass
with (a := b) as c:
    pass
with (a, *b):
    pass
