café = 1
naïve_ß = 2
日本語 = "にほんご"
π = 3.14159
Δt = 0.1
ｆｕｌｌｗｉｄｔｈ = 1
ℌ = 1
µ = 2
_é_ = café + π
def größe(maß): return maß
class Ünicode: ńame = "Ł"
print("emoji 🎉 and accents éè", 'αβγ', '''𝔘𝔫𝔦''')
x = "tab\there", "combining é"
