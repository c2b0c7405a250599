#!/usr/bin/env python3
"""The layer check: src/ is one folder per layer, lowest first (LAYERS).
A file may include the headers of its own layer and of the layers below
it. Each include that reaches upward is an edge of a cycle between
folders, and fails this check unless ALLOWED lists it with the reason it
is still there; an ALLOWED entry that no longer occurs fails too, so the
list can only shrink.

It reads each file's own #include lines (of .c files under src/ and of
the public headers), not the compiler's dependency files: those list
every header a file reaches through other headers, which would charge a
header's includes to each file that includes it.

Usage: check_layers.py SOURCE_ROOT      exit 0 clean, 1 with a list"""
import os
import re
import sys

LAYERS = ["core", "store", "events", "security", "node", "probe", "mesh", "capture", "discovery", "alerts", "api", "app"]
# headers with no .c of the same name, and their layer
HEADER_LAYER = {"api.h": "api", "limits.h": "core"}
# (file, included header) -> why the upward include is still there
ALLOWED = {
}

INCLUDE = re.compile(r'^\s*#\s*include\s+"(?:meshwatch/)?([^"]+)"', re.M)


def layer_of_source(rel):
    parts = rel.split(os.sep)
    if len(parts) == 2:          # src/main.c: the process
        return "app"
    return parts[1]


def main(root):
    src = os.path.join(root, "src")
    owner = dict(HEADER_LAYER)
    files = []
    for d, _, names in os.walk(src):
        for n in names:
            rel = os.path.relpath(os.path.join(d, n), root)
            if n.endswith(".c") or n.endswith(".h"):
                files.append((rel, layer_of_source(rel)))
            if n.endswith(".c"):
                owner.setdefault(n[:-2] + ".h", layer_of_source(rel))
    inc = os.path.join(root, "include", "meshwatch")
    for n in os.listdir(inc):
        if n.endswith(".h"):
            if n not in owner:
                print(f"check_layers: include/meshwatch/{n} has no .c and no entry in HEADER_LAYER")
                return 1
            files.append((os.path.join("include", "meshwatch", n), owner[n]))
    bad, seen = [], set()
    for rel, layer in sorted(files):
        with open(os.path.join(root, rel), encoding="utf-8") as f:
            text = f.read()
        for h in INCLUDE.findall(text):
            if h not in owner:
                continue                       # a folder-local header (store_internal.h)
            to = owner[h]
            if LAYERS.index(to) <= LAYERS.index(layer):
                continue
            key = (rel, h)
            seen.add(key)
            if key not in ALLOWED:
                bad.append(f"{rel} ({layer}) includes {h} ({to}), a layer above it")
    for key in sorted(set(ALLOWED) - seen):
        bad.append(f"ALLOWED lists {key[0]} -> {key[1]}, which no longer occurs: remove it")
    for b in bad:
        print("check_layers:", b)
    if not bad:
        print(f"check_layers: {len(files)} files, layers {' < '.join(LAYERS)}: "
              f"no include reaches upward ({len(ALLOWED)} allowed, listed with reasons)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "."))
