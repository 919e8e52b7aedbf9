#!/usr/bin/env python3
"""COLO checkpoint benchmarks (issue 8), python3 stdlib only.

pause: checkpoints at 100/s on loopback, pause p50/p99 per phase (stop,
  save, transfer, load, resume, total) and CPU per checkpoint for these
  set-ups (floor and coordinator in alternating rounds, so that they
  share the machine's load):
  - floor: bench/colo-floor (the same QMP work with nothing else) against
    two lockstep-dm;
  - coordinator: `lockstep colo primary|secondary` with two lockstep-dm,
    figures from the primary's --stats lines;
  - QEMU 7.2 primary: the same coordinator with qemu-system-x86_64 (pc,
    qtest accel if the shared module is there, else tcg) as the
    primary's dm. QEMU 7.2 aborts on every
    xen-load-devices-state on a non-Xen machine, so the secondary's dm is
    a lockstep-dm that skips the sections it does not model
    (`unknown-sections=skip`): stop, save and resume are QEMU's, load is
    lockstep-dm loading QEMU's stream, and QEMU's own load is not measured;
  - the coordinator with COM1 output commit on (no output);
  - back to back: the floor with no wait, the coordinator at --interval 1.
  Each part of the report carries its date, load average and targets.
scale: N pairs (default 1, 8, 32, 64) at 10 checkpoints/s each; over a
  measurement window: aggregate checkpoints/s, pause p50/p99/max, total
  RSS and PSS of every dm and coordinator process, CPU per checkpoint
  (/proc/PID/task/*/schedstat, all those processes), and pairs that lost
  protection.

Percentiles are nearest-rank, as the coordinator's (docs/colo-metrics.md).
Every process started here is killed on every exit path.

tls: the coordinator at 100 checkpoints/s with --insecure, --tls-psk and
  --tls-creds (certificates and key made at run time with certtool and
  psktool), in alternating rounds: transfer and pause p50/p99, CPU.

Usage: bench/colo-bench.py [--quick] [--readme] [--only pause|scale|tls]
                           [--pairs 1,8,32,64]
"""
import json
import math
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.environ.get("LOCKSTEP_BUILD") or os.path.join(HERE, "..", "build")
DM = os.path.join(BUILD, "lockstep-dm")
LOCKSTEP = os.path.join(BUILD, "lockstep")
FLOOR = os.path.join(BUILD, "bench", "colo-floor")
QEMU = shutil.which("qemu-system-x86_64")
# Debian's QEMU 7.2 ships no qtest accelerator; the shared tools have it
# (../shared/tools/qemu-qtest-accel/README.md). With it QEMU runs without
# a vCPU, as lockstep-dm does here; without it, tcg (its vCPU runs SeaBIOS).
QEMU_QTEST_DIR = os.environ.get("COLO_BENCH_QEMU_QTEST") or os.path.join(
    HERE, "..", "..", "shared", "tools", "qemu-qtest-accel")
QEMU_ACCEL = "qtest" if os.path.exists(
    os.path.join(QEMU_QTEST_DIR, "accel-qtest-x86_64.so")) else "tcg"
ARGS = sys.argv[1:]
QUICK = "--quick" in ARGS
ROUNDS = 1 if QUICK else 2
N_PAUSE = 100 if QUICK else 500     # counted checkpoints per run
WARM = 20                           # first checkpoints of a run, not counted
PAUSE_INTERVAL_MS = 10              # 100 checkpoints/s
SCALE_INTERVAL_MS = 100             # 10 checkpoints/s per pair
SCALE_WINDOW = 3.0 if QUICK else 10.0
TIMEOUT = 30.0
PHASES = ["stop", "save", "transfer", "load", "resume"]


def opt(name, default):
    return ARGS[ARGS.index(name) + 1] if name in ARGS else default


PAIRS = [int(x) for x in opt("--pairs", "1,8,32,64").split(",")]
ONLY = opt("--only", None)


class Fail(Exception):
    pass


# ---- processes ----

class Procs:
    """Every process started, killed on exit (SIGTERM, then SIGKILL)."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.all = []

    def start(self, argv, name, env=None):
        log = open(os.path.join(self.tmp, name + ".log"), "wb")
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                             stderr=subprocess.STDOUT, env=env)
        p.name, p.logpath = name, log.name
        log.close()
        self.all.append(p)
        return p

    def log(self, p):
        with open(p.logpath, "rb") as f:
            return f.read().decode("utf-8", "replace")[-2000:]

    def stop(self, procs, sig=signal.SIGTERM):
        for p in procs:
            if p.poll() is None:
                p.send_signal(sig)
        end = time.monotonic() + 5
        for p in procs:
            try:
                p.wait(max(0.01, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.all = [p for p in self.all if p not in procs]

    def stop_all(self):
        self.stop(list(reversed(self.all)))


USED_PORTS = set()


def free_port():
    """A loopback port not in use now, and not handed out before here."""
    while True:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        if port not in USED_PORTS:
            USED_PORTS.add(port)
            return port


class Qmp:
    """Minimal QMP client (unix socket), retrying a refused connect."""

    def __init__(self, path, proc, procs):
        end = time.monotonic() + TIMEOUT
        while True:
            self.s = socket.socket(socket.AF_UNIX)
            self.s.settimeout(TIMEOUT)
            try:
                self.s.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                self.s.close()
                if proc.poll() is not None:
                    raise Fail("%s exited (%s): %s" % (
                        proc.name, proc.returncode, procs.log(proc)))
                if time.monotonic() > end:
                    raise Fail("%s: no QMP at %s" % (proc.name, path))
                time.sleep(0.005)
        self.buf = b""
        self.recv()
        self.cmd("qmp_capabilities")

    def recv(self):
        while b"\r\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise Fail("QMP connection closed")
            self.buf += d
        line, self.buf = self.buf.split(b"\r\n", 1)
        return json.loads(line)

    def cmd(self, name):
        self.s.sendall(json.dumps({"execute": name}).encode() + b"\n")
        while True:
            m = self.recv()
            if "return" in m:
                return m["return"]
            if "error" in m:
                raise Fail("%s: %s" % (name, m["error"]))

    def close(self):
        self.s.close()


class Pair:
    """Two dms, and later the two coordinator sides."""

    def __init__(self, procs, tag, qemu_primary=False, com1=False, tls=None):
        self.procs, self.tag, self.t = procs, tag, procs.tmp
        self.com1, self.tls = com1, tls
        self.out = os.path.join(self.t, tag + "-com1-out.txt")
        self.pq = os.path.join(self.t, tag + "-p.qmp")
        self.sq = os.path.join(self.t, tag + "-s.qmp")
        self.stats = os.path.join(self.t, tag + "-stats.jsonl")
        self.pctl = os.path.join(self.t, tag + "-p.ctl")
        self.sctl = os.path.join(self.t, tag + "-s.ctl")
        self.port = free_port()
        if qemu_primary:
            self.pdm = procs.start(
                [QEMU, "-machine", "pc", "-accel", QEMU_ACCEL, "-nodefaults",
                 "-display", "none", "-S", "-qmp",
                 "unix:%s,server=on,wait=off" % self.pq], tag + "-pdm",
                dict(os.environ, QEMU_MODULE_DIR=QEMU_QTEST_DIR)
                if QEMU_ACCEL == "qtest" else None)
        else:
            self.pdm = self.dm(self.pq, "pc", tag + "-pdm")
        self.sdm = self.dm(self.sq, "pc,unknown-sections=skip"
                           if qemu_primary else "pc", tag + "-sdm")
        self.sides = []

    def dm(self, sock, machine, name):
        argv = [DM, "-S", "-machine", machine, "-nodefaults", "-qmp",
                "unix:%s,server=on,wait=off" % sock]
        if self.com1:
            argv += ["-serial", "unix:%s.com1,server=on,wait=off" % sock]
        return self.procs.start(argv, name)

    def com1_args(self, qmp_sock):
        """Output commit of COM1 into one sink file, as docs/colo.md."""
        if not self.com1:
            return []
        return ["--dm-serial", "unix:%s.com1" % qmp_sock,
                "--serial-out", self.out]

    def link_args(self, role):
        """The link's mode: plain TCP unless the pair was given TLS
        credentials ({role: [options]})."""
        return self.tls[role] if self.tls else ["--insecure"]

    def wait_dms(self):
        for sock, p in ((self.pq, self.pdm), (self.sq, self.sdm)):
            Qmp(sock, p, self.procs).close()

    def start_secondary(self):
        self.sec = self.procs.start(
            [LOCKSTEP, "colo", "secondary", "--qmp", "unix:" + self.sq,
             "--listen", "127.0.0.1:%d" % self.port,
             "--control", "unix:" + self.sctl] + self.com1_args(self.sq) +
            self.link_args("secondary"),
            self.tag + "-sec")
        self.sides.append(self.sec)

    def wait_secondary(self):
        # the control socket answers once the side's loop runs, which is
        # after its listen()
        q = Qmp(self.sctl, self.sec, self.procs)
        st = q.cmd("query-colo-status")["state"]
        q.close()
        if st != "listening":
            raise Fail("%s: secondary side is %s" % (self.tag, st))

    def start_primary(self, interval_ms, checkpoints=None):
        argv = [LOCKSTEP, "colo", "primary", "--qmp", "unix:" + self.pq,
                "--peer", "127.0.0.1:%d" % self.port,
                "--interval", str(interval_ms), "--stats", self.stats,
                "--control", "unix:" + self.pctl] + self.com1_args(self.pq)
        argv += self.link_args("primary")
        if checkpoints:
            argv += ["--checkpoints", str(checkpoints)]
        self.pri = self.procs.start(argv, self.tag + "-pri")
        self.sides.append(self.pri)

    def state(self):
        q = Qmp(self.pctl, self.pri, self.procs)
        st = q.cmd("query-colo-status")["state"]
        q.close()
        return st

    def records(self):
        return read_records(self.stats)

    def pids(self):
        return [p.pid for p in (self.pdm, self.sdm) + tuple(self.sides)]


def read_records(path):
    """The complete --stats lines of a file (a torn last line is left)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return []
    out = []
    for line in data.split(b"\n")[:-1]:
        m = json.loads(line)
        if "summary" not in m:
            out.append(m)
    return out


# ---- figures ----

def pct(xs, p):
    """Nearest rank: the value at rank ceil(p/100 * n)."""
    xs = sorted(xs)
    return xs[max(0, math.ceil(p / 100.0 * len(xs)) - 1)] if xs else None


def summarize(recs):
    ok = [r for r in recs if r.get("ok")]
    out = {"n": len(ok), "failed": len(recs) - len(ok)}
    for k in PHASES:
        v = [r["phases_us"][k] for r in ok]
        out[k] = (pct(v, 50), pct(v, 99))
    v = [r["pause_us"] for r in ok]
    out["pause"] = (pct(v, 50), pct(v, 99))
    out["bytes"] = ok[-1]["devstate_bytes"] if ok else 0
    return out


def proc_cpu_ns(pid):
    """ns on CPU of every thread of pid (schedstat), or None if gone."""
    total = 0
    try:
        for t in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/schedstat" % (pid, t)) as f:
                total += int(f.read().split()[0])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return total


def cpu_us(pids):
    """us on CPU of the processes (all must be alive)."""
    return sum(proc_cpu_ns(pid) for pid in pids) / 1e3


def children_cpu_us():
    """us on CPU of the children reaped so far (getrusage)."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (ru.ru_utime + ru.ru_stime) * 1e6


def proc_mem_kib(pid):
    """(VmRSS, Pss) in KiB."""
    with open("/proc/%d/status" % pid) as f:
        rss = int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))
    with open("/proc/%d/smaps_rollup" % pid) as f:
        pss = int(re.search(r"Pss:\s+(\d+)", f.read()).group(1))
    return rss, pss


# ---- the link's mode: --insecure, TLS with PSK, TLS with x509 ----

LINK_MODES = ("insecure", "psk", "x509")


def certtool(tmp, name, args, template):
    """Runs certtool with `template` (text) for a new certificate."""
    tmpl = os.path.join(tmp, name + ".info")
    with open(tmpl, "w") as f:
        f.write(template + "expiration_days = 2\n")
    subprocess.run(["certtool"] + args + ["--template", tmpl],
                   check=True, capture_output=True)


def make_key(path):
    with open(path, "w") as f:
        subprocess.run(["certtool", "--generate-privkey", "--key-type",
                        "ecdsa"], check=True, stdout=f,
                       stderr=subprocess.DEVNULL)


def link_creds(tmp):
    """{mode: {role: options}}: a CA and one certificate per side
    (certtool), one keys.psk (psktool), made in tmp."""
    d = {r: os.path.join(tmp, "creds-" + r) for r in ("primary", "secondary")}
    for path in d.values():
        os.mkdir(path)
    ca_key, ca = os.path.join(tmp, "ca-key.pem"), os.path.join(tmp, "ca.pem")
    make_key(ca_key)
    certtool(tmp, "ca", ["--generate-self-signed", "--load-privkey", ca_key,
                         "--outfile", ca], "cn = bench CA\nca\n"
             "cert_signing_key\n")
    for role, who, extra in (("secondary", "server", "ip_address = "
                              "127.0.0.1\ntls_www_server\n"),
                             ("primary", "client", "tls_www_client\n")):
        key = os.path.join(d[role], who + "-key.pem")
        make_key(key)
        certtool(tmp, who, ["--generate-certificate", "--load-privkey", key,
                            "--load-ca-certificate", ca, "--load-ca-privkey",
                            ca_key, "--outfile",
                            os.path.join(d[role], who + "-cert.pem")],
                 "cn = %s\n%ssigning_key\nencryption_key\n" % (role, extra))
        shutil.copy(ca, os.path.join(d[role], "ca-cert.pem"))
    psk = os.path.join(tmp, "keys.psk")
    subprocess.run(["psktool", "-u", "qemu", "-p", psk], check=True,
                   capture_output=True)
    return {"insecure": None,
            "psk": {r: ["--tls-psk", psk] for r in d},
            "x509": {r: ["--tls-creds", d[r]] for r in d}}


def bench_tls(procs):
    """The coordinator at 100 checkpoints/s with each link mode, in
    alternating rounds."""
    creds = link_creds(procs.tmp)
    recs = {m: [] for m in LINK_MODES}
    cpu = {m: [] for m in LINK_MODES}
    for i in range(ROUNDS):
        for m in LINK_MODES:
            r, c, _ = run_coordinator(procs, "link-%s%d" % (m, i),
                                      tls=creds[m])
            recs[m] += r
            cpu[m].append(c)
    return {m: dict(summarize(recs[m]), cpu=sum(cpu[m]) / len(cpu[m]))
            for m in LINK_MODES}


def tls_table(r):
    lines = ["| us, p50 / p99 | --insecure | TLS, PSK | TLS, x509 |",
             "|---|---|---|---|"]
    for k in ["transfer", "pause"]:
        label = "**total pause**" if k == "pause" else k
        lines.append("| %s | %s |" % (
            label, " | ".join(cell(r[m], k) for m in LINK_MODES)))
    lines.append("| CPU per checkpoint, all processes | %s |" % " | ".join(
        "%.0f" % r[m]["cpu"] for m in LINK_MODES))
    lines.append("")
    lines.append(
        "N: %d alternating rounds of %d counted checkpoints per mode (the "
        "first %d of every run not counted); device state %d B. TLS 1.3 "
        "(COLO_TLS_PRIORITY*), ECDSA certificates for x509. The "
        "handshake happens once per pairing, before the first checkpoint: "
        "what differs per checkpoint is the encryption of each frame "
        "(transfer) and its CPU." % (ROUNDS, N_PAUSE, WARM,
                                      r["insecure"]["bytes"]))
    return "\n".join(lines)


# ---- pause at 100 checkpoints/s ----

def run_floor(procs, tag, interval_us=PAUSE_INTERVAL_MS * 1000):
    pair = Pair(procs, tag)
    try:
        pair.wait_dms()
        n = N_PAUSE + WARM
        dms, kids = cpu_us(pair.pids()), children_cpu_us()
        r = subprocess.run(
            [FLOOR, pair.pq, pair.sq, str(n), str(interval_us)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            timeout=TIMEOUT + n * PAUSE_INTERVAL_MS / 100.0)
        if r.returncode:
            raise Fail("colo-floor: " + r.stderr.decode())
        recs = [json.loads(x) for x in r.stdout.splitlines()]
        cpu = (cpu_us(pair.pids()) - dms + children_cpu_us() - kids) / n
    finally:
        procs.stop([pair.pdm, pair.sdm])
    return recs[WARM:], cpu


def run_coordinator(procs, tag, qemu_primary=False, com1=False,
                    interval_ms=PAUSE_INTERVAL_MS, tls=None):
    pair = Pair(procs, tag, qemu_primary, com1, tls)
    n = N_PAUSE + WARM
    try:
        pair.wait_dms()
        dms = cpu_us(pair.pids())
        pair.start_secondary()
        pair.wait_secondary()
        kids = children_cpu_us()
        pair.start_primary(interval_ms, n)
        try:
            rc = pair.pri.wait(TIMEOUT + n * PAUSE_INTERVAL_MS / 100.0)
        except subprocess.TimeoutExpired:
            raise Fail("%s: primary side did not finish" % tag)
        if rc != 0:
            raise Fail("%s: primary side exit %d: %s" % (
                tag, rc, procs.log(pair.pri)))
        recs = pair.records()
        cpu = (cpu_us([pair.pdm.pid, pair.sdm.pid, pair.sec.pid]) - dms +
               children_cpu_us() - kids) / n
    finally:
        procs.stop([pair.pri] if hasattr(pair, "pri") else [])
        procs.stop([pair.sec] if hasattr(pair, "sec") else [])
        procs.stop([pair.pdm, pair.sdm])
    if len(recs) != n:
        raise Fail("%s: %d stats lines for %d checkpoints" % (
            tag, len(recs), n))
    span = (recs[-1]["time_us"] - recs[0]["time_us"]) / 1e6
    return recs[WARM:], cpu, (len(recs) - 1) / span if span > 0 else 0


def bench_pause(procs):
    floor, coord, rates, per_round, fcpu, ccpu = [], [], [], [], [], []
    b2b, bcpu, hot, hcpu, hrates = [], [], [], [], []
    for i in range(ROUNDS):
        f, cpu = run_floor(procs, "floor%d" % i)
        fcpu.append(cpu)
        b, cpu = run_floor(procs, "b2b%d" % i, 0)
        b2b += b
        bcpu.append(cpu)
        h, cpu, rate = run_coordinator(procs, "hot%d" % i, interval_ms=1)
        hot += h
        hcpu.append(cpu)
        hrates.append(rate)
        c, cpu, rate = run_coordinator(procs, "colo%d" % i)
        ccpu.append(cpu)
        floor += f
        coord += c
        rates.append(rate)
        per_round.append((summarize(f)["pause"][0],
                          summarize(c)["pause"][0]))
    res = {"floor": summarize(floor), "colo": summarize(coord),
           "rates": rates, "per_round": per_round, "qemu": None}
    res["floor"]["cpu"] = sum(fcpu) / len(fcpu)
    res["colo"]["cpu"] = sum(ccpu) / len(ccpu)
    res["b2b"] = dict(summarize(b2b), cpu=sum(bcpu) / len(bcpu))
    res["hot"] = dict(summarize(hot), cpu=sum(hcpu) / len(hcpu),
                      rates=hrates)
    c, cpu, rate = run_coordinator(procs, "com1", com1=True)
    res["com1"] = dict(summarize(c), cpu=cpu)
    if QEMU:
        q, cpu, qrate = run_coordinator(procs, "qemu", qemu_primary=True)
        res["qemu"] = dict(summarize(q), cpu=cpu)
    return res


def us(v):
    return "-" if v is None else "%d" % v


def cell(fig, k):
    return "%s / %s" % (us(fig[k][0]), us(fig[k][1])) if fig else "-"


def pause_table(r):
    q, f, c, o = r["qemu"], r["floor"], r["colo"], r["com1"]
    b, h = r["b2b"], r["hot"]
    lines = ["| us, p50 / p99 | floor | coordinator | coordinator / floor "
             "(p50) | coordinator, COM1 output commit | QEMU 7.2 primary | "
             "floor, back to back | coordinator, --interval 1 |",
             "|---|---|---|---|---|---|---|---|"]
    for k in PHASES + ["pause"]:
        ratio = "%.2fx" % (c[k][0] / f[k][0]) if f[k][0] else "-"
        label = "**total pause**" if k == "pause" else k
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
            label, cell(f, k), cell(c, k), ratio, cell(o, k),
            cell(q, k) + (" (*)" if q and k in ("load", "pause") else ""),
            cell(b, k), cell(h, k)))
    lines.append("| CPU per checkpoint, all processes | %.0f | %.0f | %.2fx "
                 "| %.0f | %s | %.0f | %.0f |" % (
                     f["cpu"], c["cpu"], c["cpu"] / f["cpu"], o["cpu"],
                     "%.0f" % q["cpu"] if q else "-", b["cpu"], h["cpu"]))
    lines.append("")
    lines.append(
        "N: floor and coordinator in %d alternating rounds of %d counted "
        "checkpoints each (the first %d of every run not counted); COM1 "
        "and QEMU one run of %d each. Device state %d B (lockstep-dm), "
        "%s B (QEMU). Coordinator rate achieved: %s checkpoints/s "
        "(asked: %d). Pause p50 per round, floor / coordinator: %s. CPU "
        "per checkpoint: every process of the set-up (dms, floor driver or "
        "both sides; schedstat and getrusage) from the dms' start-up on, "
        "the driver's or sides' start-up included, divided by all its "
        "checkpoints. COM1 output commit: each dm serves COM1 on "
        "a unix socket, each side has --dm-serial and --serial-out (one "
        "file); the guest writes nothing. Floor, back to back: the same "
        "floor with no wait between cycles, and the coordinator with "
        "--interval 1 (%s checkpoints/s), one run of %d each per round; "
        "the other columns are at 100/s, sleeping in between." % (
            ROUNDS, N_PAUSE, WARM, N_PAUSE, c["bytes"],
            q["bytes"] if q else "-",
            ", ".join("%.1f" % x for x in r["rates"]),
            1000 // PAUSE_INTERVAL_MS,
            ", ".join("%s / %s" % (us(a), us(b)) for a, b in r["per_round"]),
            ", ".join("%.0f" % x for x in h["rates"]), N_PAUSE))
    if q:
        lines.append("")
        lines.append(
            "QEMU 7.2 primary: qemu-system-x86_64 (`-machine pc -accel %s "
            "-nodefaults -S`%s) as the primary's dm, its checkpoints "
            "loaded by a lockstep-dm secondary (`-machine "
            "pc,unknown-sections=skip`). Stop, save and resume are QEMU's; "
            "transfer is the coordinator's. (*) Load is lockstep-dm loading "
            "QEMU's %d-byte stream, so the total pause holds a lockstep-dm "
            "load. Not measured: QEMU's own load and resume as a secondary, "
            "since QEMU 7.2 aborts (SIGABRT) on every xen-load-devices-state "
            "on a non-Xen machine (reference/qemu-7.2-measured.md). %d "
            "failed." % (QEMU_ACCEL, ", no vCPU" if QEMU_ACCEL == "qtest"
                         else "; its vCPU runs SeaBIOS", q["bytes"],
                         q["failed"]))
    else:
        lines.append("QEMU column: qemu-system-x86_64 not found "
                     "(scripts/install-deps --qemu).")
    return "\n".join(lines)


def pause_targets(r):
    c, f = r["colo"]["pause"][0], r["floor"]["pause"][0]
    return [("total pause p50 under 300 us", "%d us" % c, c < 300),
            ("total pause p50 within 2x of the floor",
             "%.2fx (floor %d us)" % (c / f, f), c <= 2 * f)]


# ---- scale: N pairs at 10 checkpoints/s each ----

def start_pairs(procs, n):
    pairs = [Pair(procs, "s%d-%d" % (n, i)) for i in range(n)]
    for p in pairs:
        p.wait_dms()
    for p in pairs:
        p.start_secondary()
    for p in pairs:
        p.wait_secondary()
    # independent pairs tick at independent times: spread the primaries'
    # starts (so their first ticks) evenly over one interval
    for p in pairs:
        p.start_primary(SCALE_INTERVAL_MS)
        time.sleep(SCALE_INTERVAL_MS / 1000.0 / n)
    end = time.monotonic() + TIMEOUT
    while min(len(p.records()) for p in pairs) < 3:
        if time.monotonic() > end:
            raise Fail("%d pairs: not every pair reached 3 checkpoints" % n)
        for p in pairs:
            if p.pri.poll() is not None:
                raise Fail("%s exited: %s" % (p.tag, procs.log(p.pri)))
        time.sleep(0.1)
    return pairs


def sample(pairs):
    """(time, the --stats records complete now, CPU ns per pid)."""
    pids = [pid for p in pairs for pid in p.pids()]
    cpu = {pid: proc_cpu_ns(pid) for pid in pids}
    return time.time(), [r for p in pairs for r in p.records()], cpu


def scale_one(procs, n):
    pairs = start_pairs(procs, n)
    try:
        time.sleep(1.0)
        t0, c0, cpu0 = sample(pairs)
        time.sleep(SCALE_WINDOW)
        t1, c1, cpu1 = sample(pairs)
        mem = [proc_mem_kib(pid) for p in pairs for pid in p.pids()]
        sides = {p.pid for q in pairs for p in q.sides}
        unprotected = sum(1 for p in pairs if p.state() != "protected")
        # the checkpoints started in the window and complete at its end
        recs = [r for r in c1 if r["time_us"] >= t0 * 1e6]
    finally:
        for p in pairs:
            procs.stop([p.pri])
        procs.stop([p.sec for p in pairs])
        procs.stop([d for p in pairs for d in (p.pdm, p.sdm)])
    gone = [pid for pid in cpu1 if cpu1[pid] is None or cpu0[pid] is None]
    if gone:
        raise Fail("%d pairs: %d processes exited during the window" % (
            n, len(gone)))
    dcpu = {pid: cpu1[pid] - cpu0[pid] for pid in cpu1}
    done = len(c1) - len(c0)
    ok = [r["pause_us"] for r in recs if r.get("ok")]
    p99 = {k: pct([r["phases_us"][k] for r in recs if r.get("ok")], 99)
           for k in PHASES}
    return {
        "phase_p99": p99,
        "pairs": n, "rate": done / (t1 - t0), "checkpoints": done,
        "p50": pct(ok, 50), "p99": pct(ok, 99), "max": max(ok) if ok else 0,
        "failed": len(recs) - len(ok), "unprotected": unprotected,
        "rss": sum(m[0] for m in mem), "pss": sum(m[1] for m in mem),
        "cpu_ckpt": sum(dcpu.values()) / 1e3 / done if done else 0,
        "cpu_sides": sum(v for pid, v in dcpu.items() if pid in sides)
        / 1e3 / done if done else 0,
        "cpu_busy": sum(dcpu.values()) / 1e9 / (t1 - t0),
    }


def scale_table(rows):
    lines = ["| pairs | checkpoints/s (ideal) | pause p50 | p99 | max | "
             "failed / unprotected | RSS total (per pair) | PSS total | "
             "CPU per checkpoint (coordinator part) | CPU busy |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            "| %d | %.0f (%d) | %s us | %s us | %s us | %d / %d | "
            "%.1f MiB (%.1f) | %.1f MiB | %.0f us (%.0f) | %.2f cores |" % (
                r["pairs"], r["rate"], r["pairs"] * 1000 // SCALE_INTERVAL_MS,
                us(r["p50"]), us(r["p99"]), us(r["max"]), r["failed"],
                r["unprotected"], r["rss"] / 1024.0,
                r["rss"] / 1024.0 / r["pairs"], r["pss"] / 1024.0,
                r["cpu_ckpt"], r["cpu_sides"], r["cpu_busy"]))
    lines.append("")
    lines.append("Pause p99 by phase (us): " + "; ".join(
        "%d pairs: %s" % (r["pairs"], ", ".join(
            "%s %s" % (k, us(r["phase_p99"][k])) for k in PHASES))
        for r in rows) + ".")
    lines.append("")
    lines.append(
        "Each row: N pairs (2N lockstep-dm, N primary and N secondary "
        "sides) at --interval %d, the primaries started evenly spread over "
        "one interval, measured over a %.0f s window after "
        "every pair made 3 checkpoints and 1 s more. RSS and PSS summed "
        "over all 4N processes at the window's end (RSS counts shared "
        "pages once per process). CPU from /proc/PID/task/*/schedstat over "
        "the window, all 4N processes, divided by the checkpoints "
        "completed in it; CPU busy is the same in cores." % (
            SCALE_INTERVAL_MS, SCALE_WINDOW))
    if len(rows) > 1:
        a, b = rows[0], rows[-1]
        k = b["pairs"] / a["pairs"]
        lines.append(
            "Growth from %d to %d pairs (x%g): checkpoints/s x%.1f, pause "
            "p99 x%.1f, RSS x%.1f (per pair %.2f -> %.2f MiB), CPU per "
            "checkpoint x%.2f." % (
                a["pairs"], b["pairs"], k, b["rate"] / a["rate"],
                b["p99"] / a["p99"], b["rss"] / a["rss"],
                a["rss"] / 1024.0 / a["pairs"],
                b["rss"] / 1024.0 / b["pairs"],
                b["cpu_ckpt"] / a["cpu_ckpt"]))
    return "\n".join(lines)


def scale_targets(rows):
    out = []
    for r in rows:
        if r["pairs"] == 64:
            out.append(("pause p99 under 2 ms at 64 pairs",
                        "%s us" % us(r["p99"]), r["p99"] < 2000))
    return out


# ---- report ----

def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        m = re.search(r"model name\s*:\s*(.*)", f.read())
        model = m.group(1) if m else model
    return "%d vCPUs (\"%s\"), kernel %s" % (
        os.cpu_count(), model, os.uname().release)


def load():
    return "%.1f" % os.getloadavg()[0]


PAUSE_H = "### Pause at 100 checkpoints/s (loopback, one pair)"
SCALE_H = "### Scale at 10 checkpoints/s per pair"
TLS_H = "### The link's mode at 100 checkpoints/s (loopback, one pair)"
HEADS = (PAUSE_H, SCALE_H, TLS_H)


def section(head, info, table, targets):
    """One self-contained part of the report: its own date, load and
    targets, so that --only reruns one part and leaves the other."""
    out = [head, "", "Measured %s on %s; load average %s at the start, %s "
           "at the end (a shared machine: the load average says how busy "
           "it was)." % info, "", table]
    if targets:
        out += ["", "| target | measured | met? |", "|---|---|---|"]
    out += ["| %s | %s | %s |" % (t, m, "yes" if ok else "**no**")
            for t, m, ok in targets]
    return "\n".join(out)


def report(pause, rows, info, tls=None):
    """{heading: text} of the parts measured."""
    parts = {}
    if tls:
        parts[TLS_H] = section(TLS_H, info, tls_table(tls), [])
    if pause:
        parts[PAUSE_H] = section(PAUSE_H, info, pause_table(pause),
                                 pause_targets(pause))
    if rows:
        parts[SCALE_H] = section(SCALE_H, info, scale_table(rows),
                                 scale_targets(rows))
    return parts


BEGIN = "<!-- colo-bench.py --readme writes from here -->"
END = "<!-- colo-bench.py --readme writes up to here -->"


def write_readme(parts):
    """Replaces, inside the generated block of "## colo" (made if
    missing), the parts measured now, and keeps the others; what is
    outside the block is left as it is."""
    path = os.path.join(HERE, "README.md")
    old = open(path).read()
    if BEGIN in old and END in old:
        inside = old[old.index(BEGIN) + len(BEGIN):old.index(END)]
        for chunk in re.split(r"\n(?=### )", inside.strip("\n")):
            head = chunk.split("\n", 1)[0]
            if head in HEADS and head not in parts:
                parts[head] = chunk.rstrip("\n")
    text = "\n\n".join(parts[h] for h in HEADS if h in parts)
    block = BEGIN + "\n" + text + "\n" + END
    sec = re.search(r"^## colo\n.*?(?=^## |\Z)", old, flags=re.S | re.M)
    if BEGIN in old and END in old:
        new = old[:old.index(BEGIN)] + block + old[old.index(END) + len(END):]
    elif sec:
        body = old[sec.start():sec.end()].rstrip("\n")
        new = old[:sec.start()] + body + "\n\n" + block + "\n" + \
            ("\n" if sec.end() < len(old) else "") + old[sec.end():]
    else:
        new = old.rstrip("\n") + "\n\n## colo\n\n" + block + "\n"
    with open(path, "w") as f:
        f.write(new)


def on_signal(sig, frame):
    raise SystemExit(128 + sig)


def main():
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, on_signal)
    tmp = tempfile.mkdtemp(prefix="colo-bench-")
    procs = Procs(tmp)
    start = (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), machine(),
             load())
    pause, rows, tls = None, [], None
    try:
        if ONLY in (None, "pause"):
            pause = bench_pause(procs)
        if ONLY in (None, "tls"):
            tls = bench_tls(procs)
        if ONLY in (None, "scale"):
            for n in PAIRS:
                rows.append(scale_one(procs, n))
    except Fail as e:
        print("colo-bench: %s" % e, file=sys.stderr)
        return 1
    finally:
        procs.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
    parts = report(pause, rows, start + (load(),), tls)
    print("\n\n".join(parts.values()))
    if "--readme" in ARGS:
        write_readme(parts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
