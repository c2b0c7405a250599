#!/usr/bin/env bash
# Mesh benchmark: N meshwatch nodes on loopback addresses, seeded as a ring
# (node i knows only node i+1), started at once. Measures how long the mesh
# takes to converge (every node lists the N-1 others, all "alive"), then,
# over a window: polls/s across the mesh, CPU per poll, fsyncs per poll
# (counted with perf on every node), RSS and CPU per node, failed polls and
# crashes.
#
# A benchmark, not a test: it prints figures and whether the targets are met
# and exits 0 however slow the numbers are. Non-zero only when it cannot run
# (missing tool, address in use, a node that does not start: 2) or when a
# node process died during the run (a crash: 1).
#
#   ./test/bench/mesh.sh            both scenarios (A then B), about 8-10 min
#   ./test/bench/mesh.sh A          A: 50 nodes, --poll-interval 2, 60 s window
#   ./test/bench/mesh.sh B          B: 200 nodes, default 30 s interval, 60 s window
#   ./test/bench/mesh.sh quick      smoke run: 12 nodes at 2 s + 24 nodes at 5 s
#
# Knobs (environment): A_NODES (50), A_INTERVAL (2), A_WINDOW (60), B_NODES
# (200), B_INTERVAL (30), B_WINDOW (60); A_SETTLE / B_SETTLE (seconds to wait
# after convergence before the window starts, default 0: the window then
# still holds many first contacts, each a full TLS handshake; a settle of a
# few intervals measures the steady state of resumed sessions); A_CONVERGE_MAX / B_CONVERGE_MAX (how
# long to wait for convergence, in poll intervals; default log2(N)+3 target
# plus a margin, see the README); HTTP_THREADS (16, meshwatch --http-threads);
# FSYNC (perf: count the fsync/fdatasync tracepoints of FSYNC_NODES (25) nodes; strace:
# attach strace -f -c to FSYNC_NODES (2) nodes for the window, which slows
# them down; none); CHECK_RATE (/nodeinfo checks
# per second by the monitor; default min(50, 4N/interval), at least 10);
# INFO_NODE (index of one node that logs at info level; default none); KEEP=1
# (keep the temporary directory with data and logs); SMAPS_DIR (save /proc/PID/smaps
# of three nodes there at the end of the window, and their malloc_stats in their logs); PORT (8443); MESHWATCH
# (binary; default build-bench/meshwatch, built as a release build when
# missing). The environment is passed on to the nodes (MESHWATCH_POLL_CONCURRENCY,
# MESHWATCH_UDP_PROBES, MALLOC_ARENA_MAX, ...); MESHWATCH_LOG_LEVEL defaults to warn.
# What each figure means: test/bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

die() { printf 'mesh.sh: %s\n' "$*" >&2; exit 2; }
say() { printf '%s\n' "$*"; }
posint() { case "$2" in '' | *[!0-9]* | 0) die "$1 must be a positive whole number (got '$2')" ;; esac; }

. test/bench/meshlib.sh # mesh_args, mesh_traps, mesh_binary, node_ip, mesh_check, mesh_launch, stop_nodes
mesh_args 30 "$@"
if [ "$QUICK" = 1 ]; then
	: "${A_NODES:=12}" "${A_INTERVAL:=2}" "${A_WINDOW:=20}"
	: "${B_NODES:=24}" "${B_INTERVAL:=5}" "${B_WINDOW:=20}"
fi
A_NODES=${A_NODES:-50} A_INTERVAL=${A_INTERVAL:-2} A_WINDOW=${A_WINDOW:-60}
B_NODES=${B_NODES:-200} B_INTERVAL=${B_INTERVAL:-30} B_WINDOW=${B_WINDOW:-60}
for v in A_NODES A_INTERVAL A_WINDOW B_NODES B_INTERVAL B_WINDOW; do posint "$v" "${!v}"; done
A_SETTLE=${A_SETTLE:-0} B_SETTLE=${B_SETTLE:-0}
case "$A_SETTLE" in '' | *[!0-9]*) die "A_SETTLE must be whole seconds (got '$A_SETTLE')" ;; esac
case "$B_SETTLE" in '' | *[!0-9]*) die "B_SETTLE must be whole seconds (got '$B_SETTLE')" ;; esac
for v in A_NODES B_NODES; do
	[ "${!v}" -ge 3 ] && [ "${!v}" -le 500 ] || die "$v must be between 3 and 500"
done
HTTP_THREADS=${HTTP_THREADS:-16}
FSYNC=${FSYNC:-perf}
FSYNC_NODES=${FSYNC_NODES:-}
[ -n "$FSYNC_NODES" ] || { [ "${FSYNC:-perf}" = strace ] && FSYNC_NODES=2 || FSYNC_NODES=25; }
INFO_NODE=${INFO_NODE:-0}
KEEP=${KEEP:-0}
PORT=${PORT:-8443}
CHECK_RATE=${CHECK_RATE:-}
posint HTTP_THREADS "$HTTP_THREADS"; posint PORT "$PORT"
case "$FSYNC_NODES$INFO_NODE" in *[!0-9]*) die "FSYNC_NODES and INFO_NODE must be whole numbers" ;; esac
[ -z "$CHECK_RATE" ] || posint CHECK_RATE "$CHECK_RATE"
MESHWATCH=${MESHWATCH:-$ROOT/build-bench/meshwatch}
export MESHWATCH_LOG_LEVEL=${MESHWATCH_LOG_LEVEL:-warn}
POLL_TIMEOUT_MS=${MESHWATCH_POLL_TIMEOUT_MS:-5000}
POLL_WORKERS=${MESHWATCH_POLL_CONCURRENCY:-8}
UDP_PROBES=${MESHWATCH_UDP_PROBES:-3}
EXCHANGE_EVERY=${MESHWATCH_EXCHANGE_EVERY:-10}

for tool in python3 ss awk; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool not found"
done
python3 -c 'import ssl, sqlite3' 2>/dev/null || die "python3 lacks the ssl or sqlite3 module"
FSYNC_NOTE=""
if [ "$FSYNC" = perf ] && ! perf stat -e syscalls:sys_enter_fsync,syscalls:sys_enter_fdatasync -o /dev/null -- true >/dev/null 2>&1; then
	FSYNC=strace
	FSYNC_NOTE="perf cannot count the syscalls:sys_enter_fsync tracepoint here: strace instead"
fi
case "$FSYNC" in
perf | none) ;;
strace) command -v strace >/dev/null 2>&1 || die "strace not found (apt-get install strace, or FSYNC=none)" ;;
*) die "FSYNC must be perf, strace or none" ;;
esac
HZ=$(getconf CLK_TCK)
NCPU=$(nproc)

# ---------------------------------------------------------------- cleanup
T=$(mktemp -d /tmp/meshwatch-mesh.XXXXXX)
MON_PID=""
cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	if [ -n "$MON_PID" ]; then
		kill -TERM "$MON_PID" 2>/dev/null || true
		wait "$MON_PID" 2>/dev/null || true
	fi
	stop_nodes
	# the monitor's byte counters, when it could not remove them itself
	if [ "$(id -u)" = 0 ] && command -v nft >/dev/null 2>&1; then
		nft delete table inet meshwatch_bench 2>/dev/null || true
	fi
	if [ "$KEEP" = 1 ]; then
		say "KEEP=1: data directories and logs left in $T"
	else
		rm -rf "$T"
	fi
	exit "$rc"
}
mesh_traps

# ---------------------------------------------------------------- binary
mesh_binary

# ---------------------------------------------------------------- the monitor (python3)
cat >"$T/monitor.py" <<'PY'
"""Readiness, convergence, measurement window and report for mesh.sh."""
import collections, concurrent.futures, json, math, os, queue, re, select, shutil, signal, socket, sqlite3, ssl, statistics, subprocess, sys, time

cfg = json.load(open(sys.argv[1]))
N, IV, W, PORT = cfg["n"], cfg["interval"], cfg["window"], cfg["port"]
HZ, NCPU = cfg["hz"], cfg["ncpu"]
out_json = sys.argv[2]


def say(*a):
    print(*a, flush=True)


class Node:
    pass


nodes = []
for line in open(cfg["nodes_file"]):
    i, ip, pid, launched, ddir, log = line.split()
    n = Node()
    n.i, n.ip, n.pid, n.launched = int(i), ip, int(pid), float(launched)
    n.ddir, n.log = ddir, log
    n.session, n.ready, n.resumed, n.checks, n.errors = None, None, 0, 0, 0
    n.last_check, n.conv_at, n.last_unconv = 0.0, None, None
    n.known, n.alive = 0, 0
    nodes.append(n)


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def ticks(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            x = f.read().rsplit(")", 1)[1].split()
        return int(x[11]) + int(x[12])
    except OSError:
        return None


def status(pid):
    d = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for l in f:
                k, _, v = l.partition(":")
                if k in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "Threads"):
                    d[k] = int(v.split()[0])
    except OSError:
        pass
    return d


def machine():
    with open("/proc/stat") as f:
        x = [int(v) for v in f.readline().split()[1:9]]
    return sum(x), x[3] + x[4]  # total, idle+iowait


# The monitor speaks from an address of its own, so that the bytes the
# nodes exchange can be counted without its checks (see wire_counters).
MON_IP = "127.0.49.254"
WIRE_NET = "127.0.48.0/20"  # every node address (node_ip: 127.0.50.10 ...)
NFT_TABLE = "meshwatch_bench"


def nft(*args, inp=None):
    return subprocess.run(["nft", *args], input=inp, capture_output=True, text=True, timeout=30)


def wire_start():
    """Counters of the bytes on the wire between nodes (TCP to and from the
    HTTPS port, UDP probes and acks), IP headers included, in an nftables
    table of their own on the output hook (loopback packets pass it once).
    None (with the reason said) when nft is missing or not allowed."""
    if os.geteuid() != 0 or not shutil.which("nft"):
        say("    bytes on the wire: not counted (needs root and nft)")
        return None
    rules = f"""table inet {NFT_TABLE} {{
  counter tcp_out {{}}
  counter tcp_back {{}}
  counter udp_out {{}}
  counter udp_back {{}}
  chain out {{
    type filter hook output priority 0; policy accept;
    ip saddr != {MON_IP} ip daddr {WIRE_NET} tcp dport {PORT} counter name tcp_out
    ip saddr {WIRE_NET} ip daddr != {MON_IP} tcp sport {PORT} counter name tcp_back
    ip daddr {WIRE_NET} udp dport {PORT} counter name udp_out
    ip saddr {WIRE_NET} udp sport {PORT} counter name udp_back
  }}
}}
"""
    nft("delete", "table", "inet", NFT_TABLE)
    r = nft("-f", "-", inp=rules)
    if r.returncode != 0:
        say(f"    bytes on the wire: not counted (nft: {r.stderr.strip()[:120]})")
        return None
    return wire_read()


def wire_read():
    r = nft("-j", "list", "counters", "table", "inet", NFT_TABLE)
    out = {}
    try:
        for e in json.loads(r.stdout)["nftables"]:
            c = e.get("counter")
            if c:
                out[c["name"]] = (c["packets"], c["bytes"])
    except (ValueError, KeyError):
        return None
    return out


def wire_stop():
    nft("delete", "table", "inet", NFT_TABLE)


CTX = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
CTX.check_hostname = False
CTX.verify_mode = ssl.CERT_NONE


def get(n, path, timeout=5.0):
    """GET over a fresh TLS connection, resuming the node's last session."""
    s = socket.create_connection((n.ip, PORT), timeout=timeout, source_address=(MON_IP, 0))
    try:
        try:
            t = CTX.wrap_socket(s, session=n.session)
        except ssl.SSLError:
            n.session = None
            raise
        n.session = t.session
        n.resumed += 1 if t.session_reused else 0
        n.checks += 1
        t.sendall(f"GET {path} HTTP/1.1\r\nHost: {n.ip}:{PORT}\r\nConnection: close\r\n\r\n".encode())
        buf, want = bytearray(), None
        while True:
            d = t.recv(65536)
            if not d:
                break
            buf += d
            if want is None and b"\r\n\r\n" in buf:
                head = bytes(buf).split(b"\r\n\r\n", 1)[0].decode("latin-1")
                m = re.search(r"(?im)^content-length:\s*(\d+)", head)
                if m:
                    want = len(head) + 4 + int(m.group(1))
            if want is not None and len(buf) >= want:
                break
        t.close()
    finally:
        s.close()
    head, _, body = bytes(buf).partition(b"\r\n\r\n")
    code = int(head.split(None, 2)[1]) if head.startswith(b"HTTP/") else 0
    if code != 200:
        raise OSError(f"HTTP {code}")
    return json.loads(body)


def check(n):
    """One /nodeinfo: True when the node lists N-1 peers, all alive; None
    when it could not be asked (a node too busy to answer the monitor within
    the timeout has not changed its view: it is asked again, and its last
    answer stands)."""
    now = time.time()
    n.last_check = now
    try:
        j = get(n, "/nodeinfo")
        peers = j.get("peers") or []
        n.known = len(peers)
        n.alive = sum(1 for p in peers if p.get("state") == "alive")
    except (OSError, ValueError, ssl.SSLError):
        n.errors += 1
        return None
    now = time.time()
    ok = n.known == N - 1 and n.alive == N - 1
    if ok:
        if n.conv_at is None:
            n.conv_at = now
    else:
        n.conv_at, n.last_unconv = None, now
    return ok


def pctl(v):
    v = sorted(v)
    if not v:
        return (0, 0, 0)
    return (v[0], statistics.median(v), v[-1])


res = {"crashed": []}

# ------------------------------------------------------------ 1. readiness
t0_launch = min(n.launched for n in nodes)
t_last_launch = max(n.launched for n in nodes)
deadline = time.time() + cfg["ready_max"]
pending = list(nodes)
while pending and time.time() < deadline:
    left = []
    for n in pending:
        if not alive(n.pid):
            res["crashed"].append(n.i)
            continue
        try:
            get(n, "/health", timeout=2)
            n.ready = time.time()
        except (OSError, ValueError, ssl.SSLError):
            left.append(n)
    pending = left
    if pending:
        time.sleep(0.2)
if pending or res["crashed"]:
    say(f"  NOT READY: {len(pending)} node(s) not answering after {cfg['ready_max']} s"
        f" ({', '.join(str(n.i) for n in pending[:10])}); died: {res['crashed'] or 'none'}")
    for n in (pending + [x for x in nodes if x.i in res["crashed"]])[:3]:
        try:
            say(f"  --- node {n.i} log (tail):")
            say("".join(open(n.log).readlines()[-8:]).rstrip())
        except OSError:
            pass
    res["not_ready"] = [n.i for n in pending]
    json.dump(res, open(out_json, "w"))
    sys.exit(3)
t_ready = max(n.ready for n in nodes)
thr = [status(n.pid).get("Threads", 0) for n in nodes]
say(f"  start:       {N} nodes launched in {t_last_launch - t0_launch:.1f} s; the last one answered "
    f"{t_ready - t_last_launch:.1f} s after the last launch ({t_ready - t0_launch:.1f} s after the first)")
say(f"               threads per node {min(thr)}-{max(thr)}, {sum(thr)} in all")

# ------------------------------------------------------------ 2. convergence
rate = cfg["check_rate"]
min_gap = max(0.25, min(1.0, IV / 4))
conv_max = cfg["converge_max"] * IV
target = math.log2(N) + 3
prog_every = max(IV, 5)
say(f"  convergence: target <= log2({N})+3 = {target:.1f} intervals = {target * IV:.0f} s; waiting at most "
    f"{cfg['converge_max']} intervals ({conv_max:.0f} s);")
say(f"               monitor: /nodeinfo over TLS with session resumption, <= {rate:.0f} checks/s on "
    f"{cfg['monitor_threads']} threads, each unconverged node every >= {min_gap:g} s, then a confirming sweep of all nodes")
# Checks run on a few threads (a busy node can take a while to answer), at
# most `rate` per second, never two at once on the same node.
pool = concurrent.futures.ThreadPoolExecutor(max_workers=cfg["monitor_threads"])
done_q = queue.Queue()


def job(n, kind):
    done_q.put((n, kind, check(n)))


pend = collections.deque(nodes)  # not yet seen converged
confirm = collections.deque()  # the confirming sweep still to do
inflight, confirm_left = set(), 0
next_slot = time.time()
next_prog = t_ready + prog_every
converged = False
t_conv = None
swept_clean, sweep_failed = False, False
mon0 = os.times()
while True:
    while True:
        try:
            n, kind, ok = done_q.get_nowait()
        except queue.Empty:
            break
        inflight.discard(n)
        if ok is None:  # not asked: ask again (a sweep waits for its answer)
            if kind == "confirm":
                confirm.append(n)
            continue
        if kind == "pend":
            if ok and n in pend:
                pend.remove(n)
        else:
            confirm_left -= 1
            if not ok:
                pend.append(n)
                sweep_failed = True  # when the stragglers are back, confirm everything again
            if confirm_left == 0:
                swept_clean = not sweep_failed
    now = time.time()
    if now >= next_prog:
        kn = [N - 1 if n.conv_at else n.known for n in nodes]
        al = [N - 1 if n.conv_at else n.alive for n in nodes]
        say(f"    +{now - t_ready:6.1f} s ({(now - t_ready) / IV:5.1f} int): converged {sum(1 for n in nodes if n.conv_at)}"
            f"/{N}; peers known min/med/max {min(kn)}/{statistics.median(kn):g}/{max(kn)}, alive min/med "
            f"{min(al)}/{statistics.median(al):g} (last seen by the monitor)")
        next_prog += prog_every
    if now - t_ready > conv_max:
        break
    if not pend and not confirm and not inflight:
        if swept_clean and all(n.conv_at for n in nodes):
            converged = True
            t_conv = max(n.conv_at for n in nodes)
            break
        confirm.extend(nodes)  # a sweep of all nodes; any not converged goes back to pend
        confirm_left, sweep_failed, swept_clean = N, False, False
    if now < next_slot or len(inflight) >= cfg["monitor_threads"]:
        time.sleep(0.01)
        continue
    n, kind = None, None
    for _ in range(len(pend)):  # the next unconverged node not checked too recently
        c = pend[0]
        pend.rotate(-1)
        if c not in inflight and now - c.last_check >= min_gap:
            n, kind = c, "pend"
            break
    if n is None and confirm and confirm[0] not in inflight:
        n, kind = confirm.popleft(), "confirm"
    if n is None:
        time.sleep(0.01)
        continue
    inflight.add(n)
    n.last_check = now
    pool.submit(job, n, kind)
    next_slot = max(next_slot + 1.0 / rate, now - 1.0)
mon1 = os.times()
if converged:
    last = max(nodes, key=lambda n: n.conv_at)
    resol = last.conv_at - (last.last_unconv or t_ready)
    res.update(conv_s=t_conv - t_ready, conv_launch_s=t_conv - t_last_launch, resolution_s=resol)
    say(f"    converged: +{t_conv - t_ready:.1f} s after the last node answered (last: node {last.i}, seen unconverged "
        f"{resol:.1f} s before)")
else:
    kn = [n.known for n in nodes]
    res.update(conv_s=None, unconverged=sum(1 for n in nodes if not n.conv_at), known_min=min(kn))
    say(f"    NOT converged after {conv_max:.0f} s: {res['unconverged']} node(s) not yet listing {N - 1} alive peers")
res["target_intervals"] = target
res["checks"] = sum(n.checks for n in nodes)
res["check_errors"] = sum(n.errors for n in nodes)
res["resumed"] = sum(n.resumed for n in nodes)
res["monitor_cpu_s"] = (mon1.user + mon1.system) - (mon0.user + mon0.system)

# ------------------------------------------------------------ 3. the window
fs_procs, tid2node, FS_EV, fs_late = [], {}, ("fsync", "fdatasync"), 0.0
perf = None
fs_step = max(1, N // max(1, cfg["fsync_nodes"]))
fs_nodes = nodes[::fs_step][:cfg["fsync_nodes"]]  # the nodes whose fsyncs are counted, spread evenly
if cfg["fsync"] == "perf":
    # perf stat, events disabled until the window starts (opening thousands
    # of per-thread counters takes a while on a busy machine), driven through
    # its control FIFO: "enable" at the start, "disable" at the end.
    for n in fs_nodes:
        try:
            for t in os.listdir(f"/proc/{n.pid}/task"):
                tid2node[int(t)] = n.i
        except OSError:
            pass
    ctl, ack = cfg["dir"] + "/perf.ctl", cfg["dir"] + "/perf.ack"
    os.mkfifo(ctl)
    os.mkfifo(ack)
    ctl_fd, ack_fd = os.open(ctl, os.O_RDWR), os.open(ack, os.O_RDWR)
    perf = subprocess.Popen(
        ["perf", "stat", "-x,", "--per-thread", "-D", "-1", "--control", f"fifo:{ctl},{ack}",
         "-e", ",".join(f"syscalls:sys_enter_{e}" for e in FS_EV),
         "-p", ",".join(str(n.pid) for n in fs_nodes), "-o", cfg["dir"] + "/perf.txt"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=open(cfg["dir"] + "/perf.err", "w"))

    def perf_cmd(cmd, timeout):
        os.write(ctl_fd, (cmd + "\n").encode())
        while True:
            r, _, _ = select.select([ack_fd], [], [], timeout)
            if not r or perf.poll() is not None:
                return False
            if b"ack" in os.read(ack_fd, 64):
                return True

    t = time.time()
    if not perf_cmd("disable", 180):  # answered once perf has opened every counter
        say("    perf did not get ready: fsyncs not counted")
        perf.kill()
        perf.wait()
        perf = None
    elif time.time() - t > 5:
        say(f"    (perf took {time.time() - t:.0f} s to open its counters)")
if cfg["settle"] > 0:  # counted from convergence, perf's set-up time included
    say(f"    settling: the window starts {cfg['settle']} s after convergence")
    time.sleep(max(0.0, (t_conv or time.time()) + cfg["settle"] - time.time()))
time.sleep(math.ceil(time.time()) - time.time())
w0 = int(round(time.time()))
if perf:
    perf_cmd("enable", 10)
c0 = {n.i: ticks(n.pid) for n in nodes}
m0 = machine()
wire0 = wire_start()
if cfg["fsync"] == "strace":
    for n in fs_nodes:
        fs_procs.append((n, subprocess.Popen(
            ["strace", "-f", "-c", "-e", "trace=" + ",".join(FS_EV), "-o", f"{cfg['dir']}/strace{n.i}.txt", "-p",
             str(n.pid)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)))
time.sleep(max(0.0, w0 + W - time.time()))
w1 = w0 + W
if perf:
    perf_cmd("disable", 10)
    fs_late = time.time() - w1
c1 = {n.i: ticks(n.pid) for n in nodes}
m1 = machine()
wire1 = wire_read() if wire0 is not None else None
if wire0 is not None:
    wire_stop()
st = {n.i: status(n.pid) for n in nodes}
if os.environ.get("SMAPS_DIR"):  # where the memory of three nodes goes (diagnostics)
    os.makedirs(os.environ["SMAPS_DIR"], exist_ok=True)
    for n in nodes[:3]:
        try:
            with open(f"/proc/{n.pid}/smaps") as f, open(f"{os.environ['SMAPS_DIR']}/smaps{n.i}", "w") as o:
                o.write(f.read())
            # glibc's per-arena figures, written to the node's log
            subprocess.run(["gdb", "-batch", "-p", str(n.pid), "-ex", "call (void)malloc_stats()"],
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
        except (OSError, subprocess.SubprocessError):
            pass
if perf:
    perf.send_signal(signal.SIGINT)  # prints the counts and exits
    fs_procs.append((None, perf))
for n, pr in fs_procs:
    if n is not None:
        pr.send_signal(signal.SIGINT)  # strace -c prints its table when interrupted
dead = [n.i for n in nodes if not alive(n.pid)]
# A light sweep after the window (also waits for the last rows to be flushed)
futs = []
for n in nodes:
    futs.append(pool.submit(check, n))
    time.sleep(1.0 / rate)
after = [f.result() for f in futs]
still, unasked = sum(1 for r in after if r), sum(1 for r in after if r is None)
pool.shutdown()
time.sleep(max(0.0, w1 + cfg["poll_timeout_s"] + 2 - time.time()))
dead = sorted(set(dead) | {n.i for n in nodes if not alive(n.pid)})

# ------------------------------------------------------------ 4. the databases
polls, failed, per_node, coverage, errs, tot_ms = 0, 0, {}, [], collections.Counter(), []
all_polled = []  # per node: (peers polled successfully at least once, second of the last first success)
for n in nodes:
    try:
        db = sqlite3.connect(f"file:{n.ddir}/meshwatch.db?mode=ro", uri=True, timeout=10)
        c, f, d, a = db.execute(
            "SELECT COUNT(*), COALESCE(SUM(ok = 0), 0), COUNT(DISTINCT peer_id), AVG(CASE WHEN ok THEN total_ms END)"
            " FROM polls WHERE ts >= ? AND ts < ?", (w0, w1)).fetchone()
        for e, k in db.execute("SELECT COALESCE(error, '?'), COUNT(*) FROM polls WHERE ok = 0 AND ts >= ? AND ts < ?"
                               " GROUP BY 1", (w0, w1)):
            errs[e] += k
        all_polled.append(db.execute("SELECT COUNT(*), MAX(f) FROM (SELECT MIN(ts) AS f FROM polls WHERE ok = 1"
                                     " GROUP BY peer_id)").fetchone())
        db.close()
    except sqlite3.Error as e:
        say(f"    node {n.i}: cannot read the database: {e}")
        c, f, d, a = 0, 0, 0, None
    polls += c
    failed += f
    per_node[n.i] = c
    coverage.append(d)
    if a is not None:
        tot_ms.append(a)

# ------------------------------------------------------------ 5. fsyncs
fs_node = collections.defaultdict(collections.Counter)  # node -> {fsync: k, fdatasync: k}
fs_comm = collections.Counter()  # thread name -> calls
for n, pr in fs_procs:
    try:
        pr.wait(timeout=60)
    except subprocess.TimeoutExpired:
        pr.kill()
        pr.wait()
    if n is None:  # perf stat -x, --per-thread: "comm-tid,count,,syscalls:sys_enter_fsync,..."
        try:
            for l in open(cfg["dir"] + "/perf.txt"):
                x = l.strip().split(",")
                if len(x) < 4 or not x[3].startswith("syscalls:sys_enter_"):
                    continue
                comm, _, tid = x[0].rpartition("-")
                try:
                    k, tid = int(x[1]), int(tid)
                except ValueError:
                    continue
                ev = x[3][len("syscalls:sys_enter_"):]
                if tid in tid2node and k:
                    fs_node[tid2node[tid]][ev] += k
                    fs_comm[comm] += k
        except OSError:
            pass
    else:  # strace -c: "% time seconds usecs/call calls [errors] syscall"
        fs_node[n.i]["measured"] = 1
        try:
            for l in open(f"{cfg['dir']}/strace{n.i}.txt"):
                x = l.split()
                if len(x) >= 5 and x[-1] in FS_EV and x[3].isdigit():
                    fs_node[n.i][x[-1]] += int(x[3])
        except OSError:
            pass

# ------------------------------------------------------------ 6. logs
warn_lines, err_lines, msgs = 0, 0, collections.Counter()
norm = re.compile(r"[0-9a-f]{8}-[0-9a-f-]{27}|\d+(\.\d+)*")
for n in nodes:
    try:
        for l in open(n.log, errors="replace"):
            if " ERROR " in l or " WARN " in l:
                if " ERROR " in l:
                    err_lines += 1
                else:
                    warn_lines += 1
                msgs[norm.sub("#", l.split(" ", 1)[-1].strip())[:150]] += 1
            elif "AddressSanitizer" in l or "Segmentation" in l or "Aborted" in l:
                err_lines += 1
                msgs[l.strip()[:150]] += 1
    except OSError:
        pass

# ------------------------------------------------------------ 7. report
dc = [(c1[i] - c0[i]) for i in c0 if c0[i] is not None and c1[i] is not None]
cpu_s = sum(dc) / HZ
mt, mi = m1[0] - m0[0], m1[1] - m0[1]
busy_s = (mt - mi) / HZ
rss = [st[i].get("VmRSS", 0) / 1024 for i in st if st[i]]
hwm = [st[i].get("VmHWM", 0) / 1024 for i in st if st[i]]
anon = [st[i].get("RssAnon", 0) / 1024 for i in st if st[i]]
rfile = [st[i].get("RssFile", 0) / 1024 for i in st if st[i]]
thr = [st[i].get("Threads", 0) for i in st if st[i]]
exp = N * (N - 1) / IV
pn = [per_node[i] / W for i in per_node]
cpct = [100 * d / HZ / W for d in dc]


def row(a, b, c="", d=""):
    say(f"  {a:<36} {b:<46} {c:<36} {d}".rstrip())


say("")
row("figure", "measured", "target / expected", "")
row("-" * 36, "-" * 46, "-" * 36, "----")
if converged:
    ci = res["conv_s"] / IV
    row("convergence after the last start", f"{res['conv_s']:.1f} s = {ci:.1f} intervals (±{res['resolution_s']:.1f} s)",
        f"<= log2(N)+3 = {target:.1f} intervals", "met" if ci <= target else "NOT MET")
    row("  (after the last launch)", f"{res['conv_launch_s']:.1f} s = {res['conv_launch_s'] / IV:.1f} intervals")
    res["conv_intervals"] = ci
else:
    row("convergence after the last start", f"none within {conv_max:.0f} s = {cfg['converge_max']} intervals",
        f"<= log2(N)+3 = {target:.1f} intervals", "NOT MET")
    res["conv_intervals"] = None
if len(all_polled) == N and all(c == N - 1 and f for c, f in all_polled):
    x = max(f for _, f in all_polled) + 0.5 - t_ready
    row("  every pair polled OK once by", f"+{x:.0f} s = {x / IV:.1f} intervals (±1 s, from the databases)")
    res["all_polled_s"] = x
row("polls/s across the mesh", f"{polls / W:.0f} ({polls} polls in {W} s)",
    f"N(N-1)/interval = {exp:.0f}", f"{100 * polls / W / exp:.0f} %")
p = pctl(pn)
row("  per node min/median/max", f"{p[0]:.1f} / {p[1]:.1f} / {p[2]:.1f} polls/s", f"(N-1)/interval = {(N - 1) / IV:.1f}")
p = pctl(coverage)
row("  peers polled per node min/med/max", f"{p[0]} / {p[1]:g} / {p[2]}", f"N-1 = {N - 1}")
row("failed polls (ok = 0)", f"{100 * failed / polls if polls else 0:.2f} % ({failed} of {polls})",
    "", ", ".join(f"{e} {k}" for e, k in errs.most_common(4)))
if tot_ms:
    p = pctl(tot_ms)
    row("  poll duration (TCP+TLS+GET)", f"node averages {p[0]:.1f} / {p[1]:.1f} / {p[2]:.1f} ms", "min / median / max")
row("CPU per poll (all node processes)", f"{1000 * cpu_s / polls if polls else 0:.2f} ms",
    "", f"{cpu_s:.1f} CPU-s in {W} s")
row("  mesh CPU", f"{100 * cpu_s / W / NCPU:.0f} % of {NCPU} CPUs ({cpu_s / W:.2f} CPUs)", "",
    f"other load {max(0, 100 * (busy_s - cpu_s) / (mt / HZ if mt else 1)):.0f} %")
p = pctl(cpct)
row("  CPU per node min/median/max", f"{p[0]:.1f} / {p[1]:.1f} / {p[2]:.1f} % of one CPU")
if wire0 is not None and wire1 is not None:
    d = {k: (wire1[k][0] - wire0[k][0], wire1[k][1] - wire0[k][1]) for k in wire1 if k in wire0}
    tb = sum(d[k][1] for k in d)
    tcp = d.get("tcp_out", (0, 0))[1] + d.get("tcp_back", (0, 0))[1]
    udp = d.get("udp_out", (0, 0))[1] + d.get("udp_back", (0, 0))[1]
    pairs = N * (N - 1)
    per_pair = tb / W * IV / pairs if pairs else 0
    row("bytes on the wire per peer per interval", f"{per_pair:,.0f} B both ways (IP headers included)",
        f"TCP {tcp / max(1, tb) * 100:.0f} %, UDP {udp / max(1, tb) * 100:.0f} %",
        f"{tb / W / 1024:,.0f} KiB/s in all")
    row("  per poll", f"{tb / polls if polls else 0:,.0f} B", f"out {d.get('tcp_out', (0, 0))[1] / max(1, polls):,.0f} B, "
        f"back {d.get('tcp_back', (0, 0))[1] / max(1, polls):,.0f} B TCP")
    res["wire_bytes_per_peer_interval"] = per_pair
    res["wire_bytes_per_poll"] = tb / polls if polls else None
else:
    row("bytes on the wire per peer per interval", "not counted")
if cfg["fsync"] == "perf" and any(p is perf for _, p in fs_procs):
    f = sum(c["fsync"] for c in fs_node.values())
    d = sum(c["fdatasync"] for c in fs_node.values())
    fp = sum(per_node.get(n.i, 0) for n in fs_nodes)
    row(f"fsyncs per poll ({len(fs_nodes)} nodes, perf)", f"{(f + d) / fp if fp else 0:.4f} ({f} fsync + {d} fdatasync)",
        "NodeProbe: about 100", f"/ the {fp} polls they made")
    p = pctl([fs_node[n.i]["fsync"] + fs_node[n.i]["fdatasync"] for n in fs_nodes])
    row("  per node min/median/max", f"{p[0]} / {p[1]:g} / {p[2]} calls in {W} s",
        "", ("by thread: " + ", ".join(f"{c} {k}" for c, k in fs_comm.most_common(3))) if fs_comm else "")
    if fs_late > 1:
        row("", f"(perf stopped counting {fs_late:.1f} s after the window)")
    res["fsync_per_poll"] = (f + d) / fp if fp else None
elif cfg["fsync"] == "strace":
    for n, _ in fs_procs:
        c = fs_node[n.i]
        pc = per_node.get(n.i, 0)
        row(f"fsyncs per poll (node {n.i}, strace)",
            f"{(c['fsync'] + c['fdatasync']) / pc if pc else 0:.4f} ({c['fsync']} fsync + {c['fdatasync']} fdatasync / {pc} polls)",
            "NodeProbe: about 100", "node slowed by strace")
else:
    row("fsyncs per poll", "not measured" + (" (FSYNC=none)" if cfg["fsync"] == "none" else ""))
p = pctl(rss)
# 8 MB = 8,000,000 bytes = 7.63 MiB
row("RSS per node min/median/max", f"{p[0]:.1f} / {p[1]:.1f} / {p[2]:.1f} MiB",
    "<= 8 MB (7.63 MiB) at N = 200" if N >= 200 else "(<= 8 MB applies at N = 200)",
    ("met" if p[2] <= 8e6 / 2**20 else "NOT MET") if N >= 200 else "")
p2 = pctl(anon)
p3 = pctl(rfile)
row("  of which anonymous (heap, stacks)", f"{p2[0]:.1f} / {p2[1]:.1f} / {p2[2]:.1f} MiB", "private to each node")
row("  of which file pages (libraries)", f"{p3[0]:.1f} / {p3[1]:.1f} / {p3[2]:.1f} MiB", "shared by all nodes")
res["rss_max"] = p[2]
p = pctl(hwm)
row("  peak (VmHWM) min/median/max", f"{p[0]:.1f} / {p[1]:.1f} / {p[2]:.1f} MiB", "NodeProbe: 14-17 MiB at N = 50")
p = pctl(thr)
row("  threads per node", f"{p[0]} - {p[2]} ({sum(thr)} in all)")
row("crashes (node processes gone)", f"{len(dead)}" + (f": nodes {dead[:20]}" if dead else ""), "0",
    "met" if not dead else "NOT MET")
res["crashed"] = sorted(set(res["crashed"]) | set(dead))
row("still converged after the window", f"{still}/{N} nodes" + (f" ({unasked} did not answer the monitor in 5 s)" if unasked else ""))
row("log lines WARN / ERROR (all nodes)", f"{warn_lines} / {err_lines}")
for m, k in msgs.most_common(5):
    say(f"      {k:6d}x {m}")
say(f"  (monitor: {res['checks']} /nodeinfo checks, {res['check_errors']} unanswered in 5 s and asked again, "
    f"{res['resumed']} resumed TLS sessions, "
    f"{res['monitor_cpu_s']:.1f} CPU-s during convergence)")
json.dump(res, open(out_json, "w"))
PY

# ---------------------------------------------------------------- one scenario
CRASHED=0
node_extra_args() { [ "$1" != "$INFO_NODE" ] || EXTRA_ARGS=(--log-level info); }
run_scenario() { # name nodes interval window
	local name=$1 n=$2 iv=$3 win=$4 cmax rate i d pid busy
	local cvar=${name}_CONVERGE_MAX
	cmax=${!cvar:-$(awk -v n="$n" -v iv="$iv" 'BEGIN {t = log(n) / log(2) + 3;
		m = (iv >= 10 ? int(t + 3.999) : int(3 * t + 0.999)); if (iv < 10 && m < 30) m = 30; print m}')}
	posint "$cvar" "$cmax"
	rate=${CHECK_RATE:-$(awk -v n="$n" -v iv="$iv" 'BEGIN {r = 4 * n / iv; if (r > 50) r = 50; if (r < 10) r = 10; print r}')}
	d="$T/$name"
	mkdir -p "$d"

	say ""
	local svar=${name}_SETTLE stxt=""
	[ "${!svar}" = 0 ] || stxt=" starting ${!svar} s after convergence"
	say "== scenario $name: $n nodes, poll interval $iv s, measurement window $win s$stxt =="
	say "  nodes:       https+udp on $(node_ip 1)..$(node_ip "$n"):$PORT, ring seeds (node i seeds node i+1), --http-threads $HTTP_THREADS,"
	say "               $POLL_WORKERS poll workers, $UDP_PROBES UDP beats per poll, an HTTPS exchange at least every $EXCHANGE_EVERY polls, poll timeout ${POLL_TIMEOUT_MS} ms, log level $MESHWATCH_LOG_LEVEL$([ "$INFO_NODE" -gt 0 ] && echo " (node $INFO_NODE: info)")"
	say "               $(pressure_note)"
	say "               fsyncs: $(case "$FSYNC" in perf) echo "perf stat on the sys_enter_fsync/fdatasync tracepoints of every thread of $((FSYNC_NODES < n ? FSYNC_NODES : n)) nodes" ;;
		strace) echo "strace -f -c attached to $FSYNC_NODES node(s) for the window (slows them)" ;; *) echo "not counted" ;; esac)${FSYNC_NOTE:+ ($FSYNC_NOTE)}"
	mesh_check "$n"

	mesh_launch "$d" "$n" "$iv"
	cat >"$d/cfg.json" <<-EOF
		{"n": $n, "interval": $iv, "window": $win, "settle": ${!svar}, "port": $PORT, "hz": $HZ, "ncpu": $NCPU,
		 "nodes_file": "$d/nodes.tsv", "converge_max": $cmax, "check_rate": $rate,
		 "poll_timeout_s": $(awk -v m="$POLL_TIMEOUT_MS" 'BEGIN {print m / 1000}'), "ready_max": $((60 + n / 2)),
		 "fsync": "$FSYNC", "fsync_nodes": $FSYNC_NODES, "dir": "$d", "monitor_threads": 8}
	EOF
	local mrc=0
	python3 "$T/monitor.py" "$d/cfg.json" "$d/result.json" &
	MON_PID=$!
	wait "$MON_PID" || mrc=$?
	MON_PID=""
	# processes that died: their exit status (a crash is a signal: 128 + n)
	local dead=()
	for pid in "${NODE_PIDS[@]}"; do
		! pid_dead "$pid" || dead+=("$pid")
	done
	if [ "${#dead[@]}" -gt 0 ]; then
		CRASHED=1
		for pid in "${dead[@]:0:5}"; do
			local st=0
			wait "$pid" 2>/dev/null || st=$?
			i=$(awk -v p="$pid" '$3 == p {print $1}' "$d/nodes.tsv")
			say "  node $i (pid $pid) died, exit status $st$([ "$st" -gt 128 ] && echo " (signal $((st - 128)))"); its log ends:"
			tail -5 "$d/log$i" | sed 's/^/      /'
		done
	fi
	busy=$(threads_now)
	stop_nodes
	say "  stopped all nodes ($busy threads on the machine before stopping)"
	[ "$KEEP" = 1 ] || rm -rf "$d"
	[ "$mrc" = 0 ] || die "scenario $name could not run (monitor exit status $mrc)"
}

# ---------------------------------------------------------------- header
IDLE_BEFORE=$(idle_pct)
say "meshwatch mesh benchmark on loopback ($(date -u +%Y-%m-%dT%H:%M:%SZ))"
say "  machine:    $NCPU CPU(s), Linux $(uname -r), $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo);" \
	"idle ${IDLE_BEFORE}% before the start, load average $(cut -d' ' -f1-3 /proc/loadavg)"
say "  limits:     ulimit -n $(ulimit -n) (per node), ulimit -u $(ulimit -u), kernel.pid_max $(cat /proc/sys/kernel/pid_max)," \
	"threads-max $(cat /proc/sys/kernel/threads-max), $(threads_now) threads running now"
say "  meshwatch:  $("$MESHWATCH" --version 2>/dev/null | head -1), $MESHWATCH"
[ -z "$STALE" ] || say "  WARNING:    the binary is older than src/ or include/: run 'ninja -C build-bench' to measure the current source"
[ "$IDLE_BEFORE" -ge 80 ] || say "  WARNING:    the machine was only ${IDLE_BEFORE}% idle before the start: other processes compete with the nodes"
say "  reference:  NodeProbe on this kind of machine: 50 nodes converge in about 8 intervals at 14-17 MiB RSS each,"
say "              with about 100 fsyncs per poll"
for s in $SCENARIOS; do
	case "$s" in
	A) run_scenario A "$A_NODES" "$A_INTERVAL" "$A_WINDOW" ;;
	B) run_scenario B "$B_NODES" "$B_INTERVAL" "$B_WINDOW" ;;
	esac
done
[ "$CRASHED" = 0 ] || { say ""; say "a node process died during the run (see above)"; exit 1; }
exit 0
