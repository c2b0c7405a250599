#!/usr/bin/env python3
"""Writes a C file holding one data file as a NUL-terminated char array:
embed_data.py OUT.c SYMBOL INPUT."""
import sys


def main():
    out, sym, path = sys.argv[1], sys.argv[2], sys.argv[3]
    data = open(path, "rb").read()
    body = ",".join(str(b if b < 128 else b - 256) for b in data)
    with open(out, "w") as f:
        f.write('#include "meshwatch/services.h"\n')
        f.write(f"const char {sym}[] = {{{body},0}};\n")
        f.write(f"const unsigned long {sym}_len = {len(data)}UL;\n")


if __name__ == "__main__":
    main()
