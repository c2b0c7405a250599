#!/usr/bin/env python3
"""Local TCP listeners for target and benchmark tests.

  tcp_listeners.py ADDR N_OPEN [--drop]

Opens N_OPEN listeners on ADDR (ports chosen by the kernel) that accept and
close every connection, and with --drop one more whose accept queue is kept
full, so the kernel drops further SYNs and connects to it time out. Prints
"open PORT..." and "drop PORT" on one line each, then serves until killed.
"""
import selectors
import socket
import sys


def main():
    addr, n_open = sys.argv[1], int(sys.argv[2])
    sel = selectors.DefaultSelector()
    ports = []
    for _ in range(n_open):
        s = socket.socket(socket.AF_INET6 if ':' in addr else socket.AF_INET)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, 0))
        s.listen(4096)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        ports.append(s.getsockname()[1])
    print("open " + " ".join(map(str, ports)), flush=True)
    keep = []
    if "--drop" in sys.argv:
        d = socket.socket()
        d.bind((addr, 0))
        d.listen(0)
        port = d.getsockname()[1]
        # a backlog of 0 holds one connection: fill it, never accept
        for _ in range(2):
            c = socket.socket()
            c.setblocking(False)
            try:
                c.connect((addr, port))
            except BlockingIOError:
                pass
            keep.append(c)
        keep.append(d)
        print(f"drop {port}", flush=True)
    while True:
        for key, _ in sel.select():
            try:
                while True:
                    c, _ = key.fileobj.accept()
                    c.close()
            except (BlockingIOError, InterruptedError):
                pass


if __name__ == "__main__":
    main()
