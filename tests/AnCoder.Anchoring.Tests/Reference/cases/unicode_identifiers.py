# Identifiers with a character that is XID_Continue but not \w (tokenize.py splits them)
x󠄀 = 4
ab󠄀cd = x󠄀
µ = 蟒 = 3
