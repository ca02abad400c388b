x=a+b;y=(c,d)[0]
foo.bar(baz)(qux)[1:2,::3]
if not(a)and b or(c): pass
lambda:0
a.b.c.d=1;del a[0],b
