match command.split():
    case [action]:
        pass
    case [action, obj]:
        pass
    case Point(x=0, y=0):
        print("Origin")
    case Point(x, y=2) if x > y:
        pass
    case [Point(x=0, y=0), *rest]:
        pass
    case {"x": x, "y": y, **rest}:
        pass
    case {1: _, "a": [1, 2], None: {}, **kw}:
        pass
    case 1 | 2 | 3:
        pass
    case -1 | 1.5 | -2j | 1 + 2j | 1 - 2j | -1 - 3j:
        pass
    case "a" "b" | b"c" | f_not_allowed.attr:
        pass
    case None | True | False:
        pass
    case (a, b) as pair:
        pass
    case [a, (b, c), *_]:
        pass
    case (x,):
        pass
    case ():
        pass
    case []:
        pass
    case (p):
        pass
    case str() | bytes():
        pass
    case a.b.c.D(1, 2, k=v):
        pass
    case {**rest}:
        pass
    case _:
        pass

match x,:
    case _: pass

match *a, b:
    case [*_]: pass

match (yield):
    case 1 if (z := 1): pass

match = 1
case = 2
match.case = 3
match[0] = 4
print(match, case)
_ = 5

def match(): pass
match(x)
match -x:
    case _:
        pass
