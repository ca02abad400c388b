# -*- coding: latin-1 -*-
s = "café naïve"
t = "µ"
