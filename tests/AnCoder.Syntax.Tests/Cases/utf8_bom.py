x = "bom file"
print(x)
