x = 1 \
    + 2
while True:
	break
else:
  pass
try:
    import a.b as c
except (E, F) as e:
    raise X from e
finally:
    global g; nonlocal_ = 1
