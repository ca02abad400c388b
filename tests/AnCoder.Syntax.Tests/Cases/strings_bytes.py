a = 'single'
b = "double"
c = '''triple single'''
d = """triple double"""
e = r'raw \d'
f = R"RAW \n"
g = b'bytes'
h = B"BYTES"
i = br'raw bytes \x'
j = Rb"\d"
k = rB'x'
l = BR"y"
m = u'unicode'
n = U"UNICODE"
o = 'escapes \n \t \\ \' \" \x41 \101 \u00e9 \U0001F600 \N{LATIN SMALL LETTER E WITH ACUTE} \a \b \f \v \0'
p = b'\x00\xff\n\\'
q = 'invalid escape \d kept'
r = 'line \
continuation in string'
s = """
multi
line
"""
t = 'implicit' "concatenation" '''of''' """strings"""
u = b'implicit' b"bytes"
v = ('across'
     'lines'
     "and more")
w = ''
x = b''
y = 'non-ascii: héllo wörld 日本語 🎉'
z = "\
"
