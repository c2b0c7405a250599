#!/usr/bin/env python3
"""Writes a C file holding the dashboard's files (web/*) as byte arrays, so
the binary serves them without touching the file system."""
import os
import sys

TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}


def main():
    out, inputs = sys.argv[1], sys.argv[2:]
    lines = ['#include "meshwatch/api.h"', ""]
    entries = []
    for i, path in enumerate(inputs):
        name = os.path.basename(path)
        ext = os.path.splitext(name)[1]
        if ext not in TYPES:
            sys.exit(f"embed_assets: no content type for {path}")
        data = open(path, "rb").read()
        body = ",".join(str(b) for b in data)
        lines.append(f"static const unsigned char asset_{i}[] = {{{body},0}};")
        entries.append(f'\t{{"{name}", "{TYPES[ext]}", asset_{i}, {len(data)}UL}},')
    lines.append("const struct asset mw_assets[] = {")
    lines.extend(entries)
    lines.append("};")
    lines.append(f"const unsigned long mw_assets_count = {len(entries)}UL;")
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
