#!/usr/bin/env python3
"""The SMTP client's test: an SMTP sink on 127.0.0.1 (stdlib only:
socketserver + ssl), one listening port per behaviour, and the C test
program (argv[1]) run against it.

The sink speaks EHLO/HELO, STARTTLS (a self-signed certificate that
`openssl req` makes in the temporary directory), AUTH PLAIN and LOGIN
(user alice, password s3cret; offered only over TLS), MAIL, RCPT (any
recipient called nobody@ gets 550), DATA and QUIT. It keeps, per session,
a transcript named after the EHLO name: session-<helo>.log, one line per
command as "plain|tls COMMAND" (AUTH as "AUTH PLAIN <user> ok|bad", never
the password), and each message as received, dot-stuffing undone, CRLF
kept: msg-<helo>.eml. Both are written before the reply that the client
waits for, so the C test reads them as soon as smtp_send returns.

Ports (SMTP_PORT_<MODE> for the C test):
  normal      STARTTLS, then AUTH PLAIN LOGIN, 8BITMIME, SIZE
  login       the same with AUTH LOGIN only
  notls       no STARTTLS
  helo        EHLO refused with 502: the client must fall back to HELO
  silent      accepts and never says a word
  inject      answers STARTTLS with "220" and a "250" in the same segment
  line_max    a greeting line of exactly SMTP_MAX_REPLY_LINE bytes
  line_over   one byte more
  lines_max   an EHLO reply of exactly SMTP_MAX_REPLY_LINES lines
  lines_over  one line more
plus SMTP_CLOSED_PORT, where nothing listens. The limits are read from
include/meshwatch/limits.h, so the test follows them.

Then it checks with Python's own e-mail parser that every message parses
and that the UTF-8 subject (SMTP_UTF8_SUBJECT) decodes back exactly.
Prints "skipped: why" and exits 77 when openssl is missing. Everything it
starts stops, and its directory is removed, however it ends."""
import base64
import email
import email.policy
import os
import re
import shutil
import signal
import socket
import socketserver
import ssl
import subprocess
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
LIMITS_H = os.path.join(HERE, "..", "..", "include", "meshwatch", "limits.h")
UTF8_SUBJECT = ("Überlast auf Knoten «node1» — Paketverlust 12 % seit 10:30 Uhr ✓, "
                "Störung 🚨 bitte prüfen: 東京 ノード")
MODES = ["normal", "login", "notls", "helo", "silent", "inject", "line_max", "line_over", "lines_max",
         "lines_over"]


def read_limits():
    lim = {}
    with open(LIMITS_H, encoding="utf-8") as f:
        for name, expr in re.findall(r"^#define (SMTP_\w+) (.+)$", f.read(), re.M):
            lim[name] = int(eval(expr.split("/*")[0], {"__builtins__": {}}))
    return lim


LIM = read_limits()


class Session(socketserver.BaseRequestHandler):
    def setup(self):
        self.sock = self.request
        self.sock.settimeout(30)
        self.rf = self.sock.makefile("rb")
        self.tls = False
        self.helo = None
        self.lines = []

    def send(self, text):
        self.sock.sendall(text.encode() if isinstance(text, str) else text)

    def readline(self):
        return self.rf.readline(65536)

    def record(self, text):
        """Keeps one transcript line, on disk once the EHLO name is known."""
        self.lines.append(("tls " if self.tls else "plain ") + text)
        if self.helo:
            path = os.path.join(self.server.dir, "session-%s.log" % self.helo)
            with open(path, "w", encoding="utf-8") as f:
                f.write("\n".join(self.lines) + "\n")

    def handle(self):
        mode = self.server.mode
        if mode == "silent":
            try:
                while self.sock.recv(4096):
                    pass
            except OSError:
                pass
            return
        if mode in ("line_max", "line_over"):
            n = LIM["SMTP_MAX_REPLY_LINE"] + (mode == "line_over")
            self.send("220 " + "x" * (n - 6) + "\r\n")
        else:
            self.send("220 sink.test ESMTP ready\r\n")
        try:
            while self.command():
                pass
        except (OSError, ssl.SSLError, ValueError):
            pass

    def ehlo(self, arg):
        if self.server.mode == "helo":
            return self.send("502 5.5.1 EHLO not implemented\r\n")
        ext = ["8BITMIME", "SIZE 10000000"]
        if not self.tls and self.server.mode not in ("notls", "helo"):
            ext.append("STARTTLS")
        if self.tls:
            ext.append("AUTH LOGIN" if self.server.mode == "login" else "AUTH PLAIN LOGIN")
        if self.server.mode in ("lines_max", "lines_over"):
            total = LIM["SMTP_MAX_REPLY_LINES"] + (self.server.mode == "lines_over")
            ext += ["X-PAD%d" % i for i in range(total - 1 - len(ext))]
        lines = ["sink.test greets " + arg] + ext
        self.send("".join("250%s%s\r\n" % ("-" if i < len(lines) - 1 else " ", t) for i, t in enumerate(lines)))

    def starttls(self):
        if self.tls or self.server.mode in ("notls", "helo"):
            return self.send("502 5.5.1 STARTTLS not offered\r\n")
        if self.server.mode == "inject":
            self.send("220 2.0.0 go ahead\r\n250 2.0.0 injected\r\n")
        else:
            self.send("220 2.0.0 go ahead\r\n")
        self.sock = self.server.ctx.wrap_socket(self.sock, server_side=True)
        self.rf = self.sock.makefile("rb")
        self.tls = True

    def auth(self, arg):
        parts = arg.split()
        mech = parts[0].upper() if parts else ""
        if not self.tls:
            self.record("AUTH %s in the clear" % mech)
            return self.send("530 5.7.0 Must issue a STARTTLS command first\r\n")
        if mech == "PLAIN" and len(parts) == 2 and self.server.mode != "login":
            _, user, pw = base64.b64decode(parts[1]).split(b"\0", 2)
        elif mech == "LOGIN" and len(parts) == 1:
            self.send("334 VXNlcm5hbWU6\r\n")
            user = base64.b64decode(self.readline().strip())
            self.send("334 UGFzc3dvcmQ6\r\n")
            pw = base64.b64decode(self.readline().strip())
        else:
            self.record("AUTH " + arg)
            return self.send("504 5.5.4 mechanism not supported\r\n")
        ok = user == b"alice" and pw == b"s3cret"
        self.record("AUTH %s %s %s" % (mech, user.decode("utf-8", "replace")[:40], "ok" if ok else "bad"))
        self.send("235 2.7.0 accepted\r\n" if ok else "535 5.7.8 bad credentials\r\n")

    def data(self):
        self.send("354 end with <CRLF>.<CRLF>\r\n")
        body = []
        while True:
            line = self.readline()
            if not line:
                return
            if line == b".\r\n":
                break
            body.append(line[1:] if line.startswith(b".") else line)
        with open(os.path.join(self.server.dir, "msg-%s.eml" % self.helo), "wb") as f:
            f.write(b"".join(body))
        self.send("250 2.0.0 queued\r\n")

    def command(self):
        raw = self.readline()
        if not raw:
            return False
        cmd = raw.decode("utf-8", "replace").rstrip("\r\n")
        verb, _, arg = cmd.partition(" ")
        verb = verb.upper()
        if verb in ("EHLO", "HELO") and self.helo is None:
            self.helo = re.sub(r"[^A-Za-z0-9.\[\]-]", "_", arg)[:100] or "empty"
        if verb != "AUTH":
            self.record(cmd)
        if verb == "EHLO":
            self.ehlo(arg)
        elif verb == "HELO":
            self.send("250 sink.test\r\n")
        elif verb == "STARTTLS":
            self.starttls()
        elif verb == "AUTH":
            self.auth(arg)
        elif verb == "MAIL":
            self.send("250 2.1.0 ok\r\n")
        elif verb == "RCPT":
            m = re.search(r"<([^>]*)>", arg)
            if m and m.group(1).startswith("nobody@"):
                self.send("550 5.1.1 no such user\r\n")
            else:
                self.send("250 2.1.5 ok\r\n")
        elif verb == "DATA":
            self.data()
        elif verb in ("RSET", "NOOP"):
            self.send("250 2.0.0 ok\r\n")
        elif verb == "QUIT":
            self.send("221 2.0.0 bye\r\n")
            return False
        else:
            self.send("500 5.5.2 unknown command\r\n")
        return True


class Sink(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, mode, ctx, directory):
        self.mode, self.ctx, self.dir = mode, ctx, directory
        super().__init__(("127.0.0.1", 0), Session)


def check_messages(directory):
    """Every message parses; the UTF-8 subject decodes back exactly."""
    bad, seen = [], 0
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".eml"):
            continue
        seen += 1
        with open(os.path.join(directory, name), "rb") as f:
            msg = email.message_from_bytes(f.read(), policy=email.policy.default)
        if msg.defects:
            bad.append("%s: defects %s" % (name, msg.defects))
        if name == "msg-utf8.test.eml" and str(msg["subject"]) != UTF8_SUBJECT:
            bad.append("%s: subject decodes to %r" % (name, str(msg["subject"])))
        if msg.get_content_type() != "text/plain" or msg.get_content_charset() != "utf-8":
            bad.append("%s: content type %s" % (name, msg["content-type"]))
    if "msg-utf8.test.eml" not in os.listdir(directory):
        bad.append("msg-utf8.test.eml was not received")
    for b in bad:
        print("FAIL:", b)
    print("checked %d messages with Python's e-mail parser" % seen)
    return 1 if bad else 0


def main():
    if len(sys.argv) != 2:
        print("usage: smtp_sink.py TEST_PROGRAM", file=sys.stderr)
        return 2
    if shutil.which("openssl") is None:
        print("skipped: openssl is not installed (it makes the sink's certificate)")
        return 77
    # meson stops a test with SIGTERM: unwind, so the servers stop and the
    # directory goes
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with tempfile.TemporaryDirectory(prefix="mwsmtp.") as tmp:
        cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
        r = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                            "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=sink.test"],
                           capture_output=True, text=True)
        if r.returncode != 0:
            print("skipped: openssl req failed: " + r.stderr.strip())
            return 77
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        spool = os.path.join(tmp, "spool")
        os.mkdir(spool)
        env = dict(os.environ, SMTP_SINK_DIR=spool, SMTP_UTF8_SUBJECT=UTF8_SUBJECT)
        servers = []
        proc = None
        try:
            for mode in MODES:
                srv = Sink(mode, ctx, spool)
                threading.Thread(target=srv.serve_forever, daemon=True).start()
                servers.append(srv)
                env["SMTP_PORT_" + mode.upper()] = str(srv.server_address[1])
            with socket.socket() as s:   # a port where nothing listens
                s.bind(("127.0.0.1", 0))
                env["SMTP_CLOSED_PORT"] = str(s.getsockname()[1])
            proc = subprocess.Popen([sys.argv[1]], env=env)
            rc = proc.wait(timeout=150)
            proc = None
            if rc != 0:
                return rc
            return check_messages(spool)
        finally:
            if proc is not None:
                proc.kill()
                proc.wait()
            for srv in servers:
                srv.shutdown()
                srv.server_close()


if __name__ == "__main__":
    sys.exit(main())
