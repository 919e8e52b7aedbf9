#!/usr/bin/env python3
"""lockstep-dm vs QEMU 7.2, side by side in one run (python3 stdlib).

Measures, for each: exec -> QMP greeting, query-status round trip (p50,
p99), xen-save-devices-state on a paused VM, the checkpoint cycle
stop+save+load+cont, and VmRSS right after start. QEMU 7.2 aborts on
every xen-load-devices-state on a non-Xen machine, so for QEMU the cycle
is stop+save+cont (said so in the table). Prints a table with ratios;
with --readme, writes the figures into bench/README.md under "## dm".

Usage: bench/dm-bench.py [--quick] [--readme]
"""
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.environ.get("LOCKSTEP_BUILD") or os.path.join(HERE, "..", "build")
DM = os.path.join(BUILD, "lockstep-dm")
QEMU = shutil.which("qemu-system-x86_64")
QUICK = "--quick" in sys.argv
N_START = 5 if QUICK else 15
N_RTT = 300 if QUICK else 2000
N_SAVE = 50 if QUICK else 200
N_CYCLE = 50 if QUICK else 200


class Client:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.settimeout(30)
        self.s.connect(path)
        self.buf = b""
        self.greeting = self.recv()

    def recv(self):
        while b"\r\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise EOFError("closed")
            self.buf += d
        line, self.buf = self.buf.split(b"\r\n", 1)
        return json.loads(line)

    def cmd(self, name, args=None):
        req = {"execute": name}
        if args:
            req["arguments"] = args
        self.s.sendall(json.dumps(req).encode() + b"\n")
        while True:
            m = self.recv()
            if "event" not in m:
                if "error" in m:
                    raise RuntimeError("%s: %s" % (name, m["error"]))
                return m


def start(argv, sock):
    """Starts argv; returns (proc, client, seconds exec->greeting)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while True:
        try:
            c = Client(sock)
            break
        except (FileNotFoundError, ConnectionRefusedError):
            if p.poll() is not None:
                raise RuntimeError("%s exited early" % argv[0])
            time.sleep(0.0002)
    return p, c, time.perf_counter() - t0


def stop(p):
    p.kill()
    p.wait()


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        m = re.search(r"VmRSS:\s+(\d+) kB", f.read())
    return int(m.group(1))


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def timed(fn, n):
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


QB = os.path.join(BUILD, "bench", "qmp-bench")


def qb(*args):
    """Runs bench/qmp-bench (the timing loops, in C) and parses its JSON."""
    out = subprocess.run([QB] + [str(a) for a in args], check=True,
                         stdout=subprocess.PIPE).stdout
    return json.loads(out)


def bench_one(name, argv_fn, can_load, tmp):
    sock = os.path.join(tmp, name + ".sock")
    res = {}
    g = qb("start", sock, N_START, "--", *argv_fn(sock))
    res["greeting"] = g["greeting50"]
    if os.path.exists(sock):
        os.unlink(sock)
    p, c, _ = start(argv_fn(sock), sock)
    c.s.close()
    try:
        res["rss"] = rss_kib(p.pid)
        f = os.path.join(tmp, name + ".devstate")
        res.update(qb("ops", sock, f, N_RTT, N_SAVE, N_CYCLE,
                      1 if can_load else 0))
        res["size"] = os.path.getsize(f)
        res["rss_after"] = rss_kib(p.pid)
    finally:
        stop(p)
    return res


def dm_argv(sock):
    return [DM, "-machine", "pc", "-nodefaults", "-S", "-qmp",
            "unix:%s,server=on,wait=off" % sock]


def qemu_argv(sock):
    return [QEMU, "-machine", "pc", "-accel", "tcg", "-nodefaults",
            "-display", "none", "-S", "-qmp",
            "unix:%s,server=on,wait=off" % sock]


def fmt_time(s):
    if s < 1e-3:
        return "%.1f us" % (s * 1e6)
    return "%.2f ms" % (s * 1e3)


ROWS = [
    ("exec -> QMP greeting (p50)", "greeting", fmt_time),
    ("query-status round trip p50", "rtt50", fmt_time),
    ("query-status round trip p99", "rtt99", fmt_time),
    ("save, paused VM (p50)", "save50", fmt_time),
    ("cycle stop+save+load+cont p50 (*)", "cycle50", fmt_time),
    ("cycle p99 (*)", "cycle99", fmt_time),
    ("VmRSS after start", "rss", lambda k: "%.1f MiB" % (k / 1024)),
    ("VmRSS after the cycles", "rss_after", lambda k: "%.1f MiB" % (k / 1024)),
    ("device-state file size", "size", lambda b: "%d B" % b),
]


def table(dm, qemu):
    lines = ["| measurement | lockstep-dm | QEMU 7.2 (pc, tcg) | QEMU / "
             "lockstep |", "|---|---|---|---|"]
    for label, key, f in ROWS:
        q = qemu.get(key) if qemu else None
        ratio = "%.1fx" % (q / dm[key]) if q and dm[key] else "-"
        if key == "size":
            ratio = "- (QEMU's pc has more devices)"
        lines.append("| %s | %s | %s | %s |" % (
            label, f(dm[key]), f(q) if q is not None else "n/a", ratio))
    lines.append("")
    lines.append("(*) QEMU 7.2 aborts (SIGABRT) on xen-load-devices-state on "
                 "a non-Xen machine, so its cycle is stop+save+cont only; "
                 "lockstep's includes the load.")
    lines.append("N: %d starts, %d round trips, %d saves, %d cycles; "
                 "timing loops in C (bench/qmp-bench.c, raw QMP over a unix "
                 "socket, same client for both); medians are the reliable "
                 "figures on a shared machine." % (N_START, N_RTT, N_SAVE, N_CYCLE))
    return "\n".join(lines)


def write_readme(text):
    path = os.path.join(HERE, "README.md")
    old = open(path).read() if os.path.exists(path) else "# Benchmarks\n"
    section = "## dm\n\n`bench/dm-bench.py` (run by `make bench`), " \
        "lockstep-dm and QEMU 7.2 side by side:\n\n" + text + "\n"
    m = re.search(r"^## dm\n.*?(?=^## |\Z)", old, flags=re.S | re.M)
    new = old[:m.start()] + section + old[m.end():] if m else \
        old.rstrip("\n") + "\n\n" + section
    with open(path, "w") as f:
        f.write(new)


def main():
    tmp = tempfile.mkdtemp(prefix="dm-bench-")
    try:
        dm = bench_one("dm", dm_argv, True, tmp)
        qemu = bench_one("qemu", qemu_argv, False, tmp) if QEMU else None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    text = table(dm, qemu)
    print("lockstep-dm vs QEMU 7.2")
    print(text)
    if not QEMU:
        print("qemu-system-x86_64 not found: QEMU column empty "
              "(scripts/install-deps --qemu)")
    if "--readme" in sys.argv:
        write_readme(text)


if __name__ == "__main__":
    main()
