#!/usr/bin/env python3
"""Checks docker-compose.yml, the Dockerfile and .dockerignore without a
Docker engine (called by compose_check.sh, which says how it runs).

    compose_check.py REPO MESHWATCH_BIN TMPDIR
    compose_check.py REPO MESHWATCH_BIN TMPDIR --plan

Prints "ok N - ..." per check; the first failed check prints "FAIL: ..."
and exits 1. Exits 77 ("skipped: why") when apt-cache cannot answer.
With --plan it only prints, as JSON, how each service would run as a plain
process (compose_mesh.sh runs them): {"services": {name: {"args": [...],
"env": {...}}}, "names": {fqdn or service name: service}}.
"""
import json
import os
import re
import shlex
import shutil
import subprocess
import sys

import yaml

REPO, MW, TMP = sys.argv[1], sys.argv[2], sys.argv[3]
PLAN = sys.argv[4:] == ["--plan"]
n_ok = 0


def ok(msg):
    global n_ok
    n_ok += 1
    print("ok %d - %s" % (n_ok, msg))


def fail(msg):
    print("FAIL: %s" % msg, file=sys.stderr)
    sys.exit(1)


def skip(msg):
    print("skipped: %s" % msg)
    sys.exit(77)


def repo_path(p):
    return os.path.normpath(os.path.join(REPO, p))


def mounts(svc):
    """[(source, target, read_only, kind)] from short or long volume syntax."""
    out = []
    for v in svc.get("volumes") or []:
        if isinstance(v, dict):
            out.append((v.get("source"), v["target"], bool(v.get("read_only")), v.get("type", "volume")))
            continue
        parts = v.split(":")
        src, tgt, mode = parts[0], parts[1], parts[2] if len(parts) > 2 else ""
        kind = "bind" if src.startswith((".", "/", "~")) else "volume"
        out.append((src, tgt, "ro" in mode.split(","), kind))
    return out


def service_run(name, svc, binds):
    """(command, args with repository paths, environment) of a service."""
    # The command, with every container path under a bind mount mapped back
    # to the repository; any other absolute path would not exist in the
    # container.
    cmd = svc.get("command") or []
    cmd = shlex.split(cmd) if isinstance(cmd, str) else list(cmd)
    args = []
    for a in cmd:
        if a.startswith("/"):
            hit = [t for t in binds if a == t or a.startswith(t.rstrip("/") + "/")]
            hit or fail("%s: command names %s, which no bind mount provides" % (name, a))
            t = max(hit, key=len)
            a = repo_path(os.path.join(binds[t], os.path.relpath(a, t)) if a != t else binds[t])
        args.append(a)
    # Environment as the container has it: the image's ENV, the env_file
    # (its committed .example), the service's environment (data in $TMP).
    cenv = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    efs = svc.get("env_file") or []
    efs = [efs] if isinstance(efs, (str, dict)) else efs
    efs or fail("%s: no env_file (the mesh secret comes from one)" % name)
    for ef in efs:
        ef = ef["path"] if isinstance(ef, dict) else ef
        ex = repo_path(ef + ".example")
        os.path.isfile(ex) or fail("%s: env_file %s has no committed example %s.example" % (name, ef, ef))
        for line in open(ex):
            line = line.strip()
            if line and not line.startswith("#"):
                k, _, v = line.partition("=")
                cenv[k] = v
        "MESH_SECRET" in cenv or fail("%s.example does not set MESH_SECRET" % ef)
    environ = svc.get("environment") or {}
    if isinstance(environ, list):
        environ = dict(e.partition("=")[::2] for e in environ)
    cenv.update({k: str(v) for k, v in environ.items()})
    cenv["DATA_DIR"] = os.path.join(TMP, name, "data")
    cenv["CERT_DIR"] = os.path.join(TMP, name, "certs")
    return cmd, args, cenv


def compose_file():
    dc = yaml.safe_load(open(repo_path("docker-compose.yml")))
    return dc, dc.get("services") or fail("docker-compose.yml: no services")


def service_names(services):
    """Names each service answers to on its networks: its own, its aliases."""
    names = {}
    for name, svc in services.items():
        names[name] = name
        nets = svc.get("networks") or {}
        if isinstance(nets, dict):
            for net in nets.values():
                for a in (net or {}).get("aliases") or []:
                    names[a] = name
    return names


if PLAN:
    _, services = compose_file()
    out = {"services": {}, "names": service_names(services)}
    for name, svc in services.items():
        binds = {tgt: src for src, tgt, ro, kind in mounts(svc) if kind == "bind"}
        _, args, cenv = service_run(name, svc, binds)
        out["services"][name] = {"args": args, "env": cenv}
    json.dump(out, sys.stdout, indent=1)
    sys.exit(0)

# ---- the Dockerfile ---------------------------------------------------------

def dockerfile_stages(path):
    """[(name, base, [(instruction, argument)])], continuation lines joined."""
    lines, cur = [], ""
    for raw in open(path):
        line = raw.rstrip("\n")
        if not cur and (line.lstrip().startswith("#") or not line.strip()):
            continue
        if cur and line.lstrip().startswith("#"):
            continue  # a comment inside a continued instruction
        if line.endswith("\\"):
            cur += line[:-1] + " "
            continue
        lines.append(cur + line)
        cur = ""
    stages = []
    for line in lines:
        instr, _, arg = line.strip().partition(" ")
        instr = instr.upper()
        if instr == "FROM":
            m = re.match(r"(\S+)(?:\s+AS\s+(\S+))?", arg.strip(), re.I)
            stages.append((m.group(2) or str(len(stages)), m.group(1), []))
        elif stages:
            stages[-1][2].append((instr, arg.strip()))
    return stages


def apt_packages(run):
    """Package names of every `apt-get install` in a RUN command."""
    pkgs = []
    for cmd in re.split(r"&&|;|\|\|", run):
        words = shlex.split(cmd)
        while words and "=" in words[0] and not words[0].startswith("-"):
            words.pop(0)  # VAR=value before the command
        if len(words) >= 2 and words[0] in ("apt-get", "apt") and "install" in words:
            pkgs += [w for w in words[words.index("install") + 1:] if not w.startswith("-")]
    return pkgs


def apt_known(pkg):
    r = subprocess.run(["apt-cache", "show", "--no-all-versions", pkg], capture_output=True, text=True)
    return r.returncode == 0 and re.search(r"^Package: %s$" % re.escape(pkg), r.stdout, re.M)


if shutil.which("apt-cache") is None or not apt_known("libc6"):
    skip("apt-cache cannot list Debian packages here (no apt, or no package lists: apt-get update)")

df = repo_path("Dockerfile")
os.path.isfile(df) or fail("no Dockerfile at the top of the repository")
stages = dockerfile_stages(df)
len(stages) >= 2 or fail("Dockerfile: want a multi-stage build, found %d stage(s)" % len(stages))
build, runtime = stages[0], stages[-1]
for name, base, _ in (build, runtime):
    re.match(r"debian:bookworm(-slim)?$", base) or fail("Dockerfile: stage %s is FROM %s, want debian:bookworm" % (name, base))
ok("Dockerfile: %d stages on Debian 12 (%s)" % (len(stages), ", ".join("%s FROM %s" % (s[0], s[1]) for s in stages)))

runs = [a for i, a in build[2] if i == "RUN"]
any(re.search(r"(^|\s|/)scripts/setup\.sh\b", r) for r in runs) or fail("Dockerfile: the build stage does not RUN scripts/setup.sh")
any("meson setup" in r for r in runs) and any("ninja" in r for r in runs) or fail("Dockerfile: the build stage does not build with meson and ninja")
ok("Dockerfile: the build stage runs scripts/setup.sh and the meson build")

runtime_pkgs = []
for instr, arg in runtime[2]:
    if instr == "RUN":
        runtime_pkgs += apt_packages(arg)
runtime_pkgs or fail("Dockerfile: the runtime stage installs no packages")
unknown = [p for p in runtime_pkgs if not apt_known(p)]
unknown and fail("Dockerfile: not Debian packages (apt-cache show): %s" % " ".join(unknown))
ok("Dockerfile: the runtime stage's %d packages are real Debian packages: %s" % (len(runtime_pkgs), " ".join(runtime_pkgs)))

# Every shared library the binary needs comes from one of them (or from the
# base image's libc). Only where dpkg knows the libraries (Debian).
# Only the libraries the binary names itself (NEEDED): theirs come with
# their packages through apt's dependencies.
need = set()
direct = set(re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]",
                        subprocess.run(["readelf", "-d", MW], capture_output=True, text=True).stdout))
ldd = subprocess.run(["ldd", MW], capture_output=True, text=True)
for line in ldd.stdout.splitlines():
    m = re.search(r"^\s*(\S+)\s+=>\s+(/\S+)", line)
    if not m or (direct and m.group(1) not in direct):
        continue
    lib = m.group(2)
    owner = None
    for cand in (lib, os.path.realpath(lib)):
        r = subprocess.run(["dpkg", "-S", cand], capture_output=True, text=True)
        if r.returncode == 0:
            owner = r.stdout.split(":")[0]
            break
    if owner is None:
        fail("ldd %s: %s belongs to no Debian package (a library built here?)" % (MW, lib))
    need.add(owner)
base = {"libc6", "libgcc-s1", "libstdc++6", "zlib1g"}  # in debian:bookworm-slim already
# A sanitizer build links its runtimes; the image's build has no sanitizers.
need = {p for p in need if not re.match(r"lib(asan|ubsan|lsan|tsan)[0-9]+$", p)}
# libpcap is opened at run time (dlopen, when a capture starts): not NEEDED,
# but the image's nodes capture, so its package must be there too.
if b"libpcap.so.0.8" in open(MW, "rb").read():
    need.add("libpcap0.8")
missing = sorted(need - set(runtime_pkgs) - base)
missing and fail("Dockerfile: the binary links libraries of %s, which the runtime stage does not install" % " ".join(missing))
ok("Dockerfile: the runtime stage has every library the binary links (%s)" % " ".join(sorted(need)))

instrs = runtime[2]
args_of = lambda what: [a for i, a in instrs if i == what]
env = {}
for a in args_of("ENV"):
    for w in shlex.split(a):
        k, _, v = w.partition("=")
        env[k] = v
vols = []
for a in args_of("VOLUME"):
    vols += json.loads(a) if a.startswith("[") else a.split()
for k in ("DATA_DIR", "CERT_DIR"):
    env.get(k) in vols or fail("Dockerfile: %s (%s) is not a VOLUME (%s)" % (k, env.get(k), vols))
users = args_of("USER")
users and users[-1].split(":")[0] not in ("0", "root") or fail("Dockerfile: the runtime stage must run as a non-root USER, has %s" % users)
exposed = " ".join(args_of("EXPOSE")).split()
"8443/tcp" in exposed and "8443/udp" in exposed or fail("Dockerfile: want EXPOSE 8443/tcp 8443/udp, have %s" % exposed)
hc = " ".join(args_of("HEALTHCHECK"))
"curl" in hc and "https://localhost:8443/health" in hc or fail("Dockerfile: HEALTHCHECK does not curl https://localhost:8443/health")
any("setcap" in a and "cap_net_raw" in a for a in args_of("RUN")) or fail("Dockerfile: no setcap cap_net_raw on the binary")
ok("Dockerfile: DATA_DIR=%s and CERT_DIR=%s are volumes, USER %s, EXPOSE %s, HEALTHCHECK on /health, setcap cap_net_raw"
   % (env["DATA_DIR"], env["CERT_DIR"], users[-1], " ".join(exposed)))

di = repo_path(".dockerignore")
os.path.isfile(di) or fail("no .dockerignore")
pats = [l.strip().rstrip("/") for l in open(di) if l.strip() and not l.startswith("#")]
for want in (".git", "node_modules", "build*"):
    want in pats or fail(".dockerignore does not exclude %s" % want)
"configs/mesh.env" in pats or fail(".dockerignore does not exclude configs/mesh.env (the secrets)")
ok(".dockerignore excludes .git, node_modules, build trees and configs/mesh.env")

# ---- docker-compose.yml ----------------------------------------------------

dc, services = compose_file()
named_volumes = set((dc.get("volumes") or {}).keys())
ok("docker-compose.yml parses: services %s" % " ".join(services))
dns_names = service_names(services)


host_ports = {}
data_volumes = {}
for name, svc in services.items():
    ms = mounts(svc)
    binds = {tgt: src for src, tgt, ro, kind in ms if kind == "bind"}
    for src, tgt, ro, kind in ms:
        if kind == "bind":
            os.path.exists(repo_path(src)) or fail("%s: mounts %s, which is not in the repository" % (name, src))
            ro or fail("%s: config mount %s -> %s is not read-only" % (name, src, tgt))
        else:
            src in named_volumes or fail("%s: volume %s is not declared under volumes:" % (name, src))
            tgt in (env["DATA_DIR"], env["CERT_DIR"]) or fail("%s: volume %s mounted at %s, which is neither DATA_DIR nor CERT_DIR" % (name, src, tgt))
            src not in data_volumes or fail("%s and %s share the volume %s" % (name, data_volumes[src], src))
            data_volumes[src] = name
    for d in (env["DATA_DIR"], env["CERT_DIR"]):
        any(t == d and k == "volume" for _, t, _, k in ms) or fail("%s: no named volume at %s" % (name, d))

    cmd, args, cenv = service_run(name, svc, binds)
    r = subprocess.run([MW, "--check-config"] + args, capture_output=True, text=True, env=cenv, cwd=TMP)
    r.returncode == 0 or fail("%s: meshwatch --check-config %s: exit %d: %s" % (name, " ".join(args), r.returncode, r.stderr.strip()))
    eff = json.loads(r.stdout)
    for opt, key in (("--config", "config_file"), ("--seed", "seed_file"), ("--reporting", "reporting_file")):
        if opt in args:
            eff.get(key) == args[args.index(opt) + 1] or fail("%s: %s did not reach %s: %s" % (name, opt, key, eff.get(key)))
    eff.get("mesh_secret") not in ("", None) or fail("%s: no mesh secret in the effective config" % name)
    ok("%s: meshwatch --check-config accepts %s (mesh secret %s)" % (name, " ".join(cmd), eff["mesh_secret"]))

    # Seeds and reporting servers must be reachable by name in the compose
    # network: no address (the loopback ones mean nothing in a container),
    # an FQDN that some service answers to.
    for opt, key, fk, ik in (("--seed", "nodes", "fqdn", "ip"), ("--reporting", "servers", "server_fqdn", "server_ip")):
        if opt not in args:
            continue
        d = json.load(open(args[args.index(opt) + 1]))
        entries = d.get(key) or ([d] if fk in d or ik in d else [])
        for e in entries:
            f = e.get(fk) or e.get("fqdn")
            not (e.get(ik) or e.get("ip")) or fail("%s: %s names an address (%s), which containers do not have" % (name, opt, e.get(ik) or e.get("ip")))
            f in dns_names or fail("%s: %s names %s, which no service answers to (service names and aliases: %s)"
                                    % (name, opt, f, " ".join(sorted(dns_names))))
            dns_names[f] != name or fail("%s: %s names the node itself" % (name, opt))
    svc.get("healthcheck", {}).get("test") or fail("%s: no healthcheck" % name)
    "https://localhost:8443/health" in " ".join(svc["healthcheck"]["test"]) or fail("%s: the healthcheck does not check /health" % name)

    protos = set()
    for p in svc.get("ports") or []:
        if isinstance(p, dict):
            hp, cp, proto, hip = str(p.get("published")), str(p["target"]), p.get("protocol", "tcp"), p.get("host_ip", "")
        else:
            p, _, proto = str(p).partition("/")
            proto = proto or "tcp"
            parts = p.split(":")
            cp, hp, hip = parts[-1], parts[-2] if len(parts) > 1 else "", ":".join(parts[:-2])
        hp or fail("%s: port %s is not published on a fixed host port" % (name, p))
        k = (hip, hp, proto)
        k not in host_ports or fail("host port %s/%s is published by both %s and %s" % (hp, proto, host_ports[k], name))
        host_ports[k] = name
        cp == "8443" or fail("%s: publishes container port %s, the node listens on 8443" % (name, cp))
        protos.add((hp, proto))
    len({hp for hp, _ in protos}) == 1 and {pr for _, pr in protos} == {"tcp", "udp"} \
        or fail("%s: want one host port for both tcp and udp (HTTPS and the UDP responder), have %s" % (name, sorted(protos)))
ok("every service: config mounts exist and are read-only, seeds and reporting servers resolve to services, own data and cert volumes, healthcheck")
ok("host ports unique: %s" % ", ".join("%s/%s %s" % (k[1], k[2], v) for k, v in sorted(host_ports.items())))

gi = open(repo_path(".gitignore")).read().split()
any(g.strip("/") == "configs/mesh.env" for g in gi) or fail(".gitignore does not keep configs/mesh.env (the secrets) out of git")
ok("configs/mesh.env is ignored by git; configs/mesh.env.example is committed")

# ---- a compose implementation, when one is installed ------------------------
# `config` validates against the compose schema and needs no engine. It
# wants the env_file to exist: a copy of the tree with mesh.env made from
# the example.
compose = None
for c in (["docker", "compose"], ["docker-compose"]):
    if shutil.which(c[0]) and subprocess.run(c + ["version"], capture_output=True).returncode == 0:
        compose = c
        break
if compose is None:
    print("# neither `docker compose` nor `docker-compose` is installed: schema not checked by a compose implementation")
else:
    work = os.path.join(TMP, "compose")
    shutil.copytree(os.path.join(REPO, "configs"), os.path.join(work, "configs"))
    shutil.copy(repo_path("docker-compose.yml"), work)
    shutil.copy(repo_path("Dockerfile"), work)
    shutil.copy(os.path.join(work, "configs", "mesh.env.example"), os.path.join(work, "configs", "mesh.env"))
    r = subprocess.run(compose + ["-f", os.path.join(work, "docker-compose.yml"), "config", "-q"],
                       capture_output=True, text=True, cwd=work)
    r.returncode == 0 or fail("%s config: %s" % (" ".join(compose), (r.stderr or r.stdout).strip()))
    ok("%s config accepts docker-compose.yml" % " ".join(compose))
