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
    entries, chunks, off = [], [], 0
    for path in inputs:
        name = os.path.basename(path)
        ext = os.path.splitext(name)[1]
        if ext not in TYPES:
            sys.exit(f"embed_assets: no content type for {path}")
        data = open(path, "rb").read() + b"\0"
        entries.append(f'\t{{"{name}", "{TYPES[ext]}", blob + {off}, {len(data) - 1}UL}},')
        chunks.append(data)
        off += len(data)
    body = ",".join(str(b) for b in b"".join(chunks))
    # One array in a section of its own that starts on a 64 KiB boundary:
    # the kernel maps the file pages around each page a process touches, in
    # aligned 64 KiB windows, so beside the program's hot constants the
    # files were resident in every node (150 KB of RSS), dashboard or not.
    lines = ['#include "meshwatch/api.h"', "",
             f'static const unsigned char blob[{max(off, 1)}] __attribute__((section("mw_cold"), aligned(65536))) = {{{body or "0"}}};',
             "const struct asset mw_assets[] = {"]
    lines.extend(entries)
    lines.append("};")
    lines.append(f"const unsigned long mw_assets_count = {len(entries)}UL;")
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
