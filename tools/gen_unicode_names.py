#!/usr/bin/env python3
"""Generates src/AnCoder.Syntax/Parsing/Strings/UnicodeNames.gz: the names CPython 3.11's "\\N{...}" escape accepts.

Format (gzip'd UTF-8 text): one "HEXCODE;NAME" line per accepted name (character names and name aliases; named
sequences are not accepted by \\N), sorted by code point. Hangul syllables and CJK unified ideographs are looked
up algorithmically (unicodedata.c: _getcode), so they are left out; the CJK ranges are emitted as
"#CJK;FIRST;LAST" lines. Every entry is verified by evaluating "\\N{name}" in this python3.

Candidate names: unicodedata.name() of every code point, plus the names and aliases listed in Perl's
unicore/Name.pl (Python exposes no alias list); candidates \\N rejects are dropped.
Usage: python3 tools/gen_unicode_names.py [perl Name.pl path]
"""
import glob
import gzip
import os
import sys
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "src", "AnCoder.Syntax", "Parsing", "Strings", "UnicodeNames.gz")


def escape_accepts(name):
    try:
        value = eval('"\\N{%s}"' % name)
    except SyntaxError:
        return None
    return ord(value) if len(value) == 1 else None


def main():
    names = {}
    cjk = []
    for cp in range(0x110000):
        name = unicodedata.name(chr(cp), None)
        if name is None:
            continue
        if name.startswith("CJK UNIFIED IDEOGRAPH-"):
            if cjk and cjk[-1][1] == cp - 1:
                cjk[-1][1] = cp
            else:
                cjk.append([cp, cp])
            continue
        if name.startswith("HANGUL SYLLABLE "):
            continue
        names[name] = cp
    perl = sys.argv[1] if len(sys.argv) > 1 else (glob.glob("/usr/share/perl/*/unicore/Name.pl") or [None])[0]
    if perl:
        lines = open(perl, encoding="ascii").read().split("<<'END';\n", 1)[1].split("\nEND\n")[0].split("\n\n")
        for entry in lines:
            parts = entry.strip().split("\n")
            if len(parts) != 2 or " " in parts[0]:
                continue  # named sequences are "XXXX YYYY"
            name = parts[1]
            if name in names or name.startswith(("CJK UNIFIED IDEOGRAPH-", "HANGUL SYLLABLE ")):
                continue
            cp = escape_accepts(name)
            if cp is not None:
                names[name] = cp
    out = []
    for first, last in cjk:
        out.append("#CJK;%X;%X" % (first, last))
    for name, cp in sorted(names.items(), key=lambda kv: (kv[1], kv[0])):
        assert escape_accepts(name) == cp, name
        out.append("%X;%s" % (cp, name))
    data = ("\n".join(out) + "\n").encode("ascii")
    with open(OUT, "wb") as f:
        f.write(gzip.compress(data, 9, mtime=0))
    print("%d names, %d CJK ranges, %d bytes raw, %d gz" % (len(names), len(cjk), len(data), os.path.getsize(OUT)))


main()
