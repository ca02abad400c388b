a < b < c
a <= b >= c == d != e
a is b is not c
a in b not in c
not a == b
a < b > c <= d >= e == f != g is h is not i in j not in k
x = a + b - c * d / e // f % g ** h @ i
x = -a + +b - ~c
x = a << b >> c & d | e ^ f
x = a and b or c and not d
x = a or b or c
x = a and b and c
x = (a or b) and c
x = a if b else c if d else e
x = not not a
x = -(-a)
x = a ** -b ** c
x = await_ = 1
x += 1; x -= 1; x *= 1; x /= 1; x //= 1; x %= 1; x **= 1; x @= 1
x <<= 1; x >>= 1; x &= 1; x |= 1; x ^= 1
a = b = c = d
a.b = c[d] = e
