#!/usr/bin/env python3
"""The cycle check on what was built: which object of the core library
uses which (an undefined symbol of one that another defines), and whether
any objects form a cycle. The include check (check_layers.py) sees the
folders; this one sees the files, after the compiler: a handler that calls
back into the dispatcher that calls it shows up here even within a folder.

Only the store's own files may use each other (one connection behind one
lock, split by resource); any other cycle fails, named with its files.

Usage: check_cycles.py LIBMESHWATCH_CORE.a     exit 0 clean, 1 with a list"""
import collections
import subprocess
import sys

ALLOWED_PREFIX = "src_store_"   # the store's files: store.c, store_*.c


def read(lib):
    out = subprocess.run(["nm", lib], capture_output=True, text=True, check=True).stdout
    defs, undefs, cur = {}, {}, None
    for line in out.splitlines():
        if line.endswith(":") and line.endswith(".o:"):
            cur = line[:-1]
            defs[cur], undefs[cur] = set(), set()
            continue
        p = line.split()
        if cur is None:
            continue
        if len(p) == 3 and p[1] in "TDBR":
            defs[cur].add(p[2])
        elif len(p) == 2 and p[0] == "U":
            undefs[cur].add(p[1])
    return defs, undefs


def sccs(graph, nodes):
    index, low, stack, on, out, n = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(comp)

    sys.setrecursionlimit(10000)
    for v in nodes:
        if v not in index:
            visit(v)
    return out


def main(lib):
    defs, undefs = read(lib)
    owner = {s: m for m, d in defs.items() for s in d}
    graph = collections.defaultdict(set)
    for m, u in undefs.items():
        for s in u:
            if s in owner and owner[s] != m:
                graph[m].add(owner[s])
    bad = []
    for comp in sccs(graph, list(defs)):
        if len(comp) < 2:
            continue
        names = sorted(c.split("src_", 1)[-1].replace(".c.o", ".c") for c in comp)
        if all(c.split("/")[-1].startswith(ALLOWED_PREFIX) for c in comp):
            continue
        bad.append(" <-> ".join(names))
    for b in bad:
        print("check_cycles: these objects use each other:", b)
    if not bad:
        print(f"check_cycles: {len(defs)} objects, no cycle but the store's own files")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
