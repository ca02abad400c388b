# -*- coding: utf-8 -*-
café = "naïve 中文 😀"  # commentaire: été
π = 3.14159; résumé = {'ключ': π, "emoji😀": café}
def größe(x, *, ß=1): return x + ß  # ünïcödé
