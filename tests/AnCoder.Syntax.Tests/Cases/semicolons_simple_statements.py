a = 1; b = 2; c = 3
import os; import sys
if a: b = 1; c = 2
while 0: pass; break
for i in x: continue;
def f(): return 1;
class C: pass; x = 1
pass;
x; y; z
global q; q = 1
