name = "w"
s = f"hello {name!r:>10} and {obj.attr['k']} {{literal}} {x + 1 = }"
t = rf'raw {name}\d' f"{f'{nested}'}"
b = b'bytes' + B"more"
u = f"""multi
{name}
line"""
