name = "world"
width = 10
precision = 4
value = 12.34567
print(f"hello {name}")
print(f"{name!r} {name!s} {name!a}")
print(f"{value:{width}.{precision}}")
print(f"{value:>{width}}")
print(f"{value=}")
print(f"{value = }")
print(f"{value=!r:>10}")
print(f"{ value = :.2f}")
print(f"{'nested' + f'{name}'}")
print(f"{{literal braces}} {name}")
print(f"{name}" f"{value}" "plain" f'{width}')
print(F"upper" rf"raw {name}\n" fR"{name}" Rf"x" FR"y" fr'z')
print(f"""multi
line {name
} and {value:
>10}
""")
print(f'''{
    name
}''')
print(f"{x for x in y}" if False else "")
print(f"{3.14:.2f} {1_000:,} {255:#x} {'a':*^9}")
print(f"{d['key']}")
print(f"{a!r:{b}{c}}")
print(f"{lambda_val}")
print(f"{(lambda x: x)(1)}")
print(f"{ {'a': 1}['a'] }")
print(f"\N{BULLET} {name}")
print(f"{name:}")
print(f"{x:=10}")
print(f"{(x:=10)}")
s = (f"first {name} "
     f"second {value} "
     "third")
t = f"" f"" ""
u = f"{1}{2}{3}"
