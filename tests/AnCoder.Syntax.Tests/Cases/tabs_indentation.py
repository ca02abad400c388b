if x:
	pass
	if y:
		z = 1
	else:
		z = 2
class C:
	def m(self):
		return 1
if a:
        	b = 1
