try:
    pass
except ValueError:
    pass
except (TypeError, KeyError) as e:
    raise RuntimeError("x") from e
except:
    raise
else:
    pass
finally:
    pass

try:
    pass
finally:
    pass

try:
    raise ExceptionGroup("eg", [ValueError(1), TypeError(2)])
except* ValueError as eg:
    pass
except* (TypeError, KeyError):
    pass
else:
    pass
finally:
    pass

try:
    pass
except* Exception:
    pass

raise
raise X
raise X from None
raise X() from Y()
assert x
assert x, "message"
assert (x, "tuple is always true")
del x
del x, y
del (x)
del [x]
del x.y, x[0]
