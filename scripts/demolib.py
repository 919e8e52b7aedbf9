"""The guest under COLO, for `make demo` (scripts/demo) and
bench/guest-bench.py (python3 stdlib only).

Builds on tests/colo/colorig.py (its Rig, Proc and Side): starts
lockstep-dm with a vCPU running the tree's guest program
(build/guest/guest.bin, guest/README.md) instead of colorig's qtest dms,
pairs two of them with `lockstep colo primary|secondary`, and reads what
comes out: the COM1 sink and the primary's --stats lines.
"""
import json
import os
import re
import subprocess
import sys

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(SRC, "tests", "colo"))
import colorig as R  # noqa: E402

GUEST = os.path.join(R.BUILD, "guest", "guest.bin")
CHECK_OUTPUT = os.path.join(SRC, "scripts", "check-guest-output")
TICK_RE = re.compile(rb"tick ([0-9]+) sum [0-9a-f]{8}\r\n")
SINK = "com1-out.txt"       # colorig's default --serial-out, in the rig dir
# The first checkpoint carries all of RAM and took 0.3-0.5 s at 16 MiB on
# a busy machine (bench/README.md, guest): bounds with room for that, as
# colorig's guest pair has. A killed dm is noticed by its COM1 socket
# closing, not by these timeouts.
SLACK = ["--heartbeat-timeout", "3000", "--qmp-timeout", "5000"]


class GuestDm(R.Proc):
    """lockstep-dm -S with a vCPU running the guest program, RAM of
    `mem`, COM1 served on a unix socket (for --dm-serial), QMP on another,
    and with qtest=True a qtest socket (to read guest RAM). icount: None
    (virtual time follows the host while running) or a shift 0..10.
    serial: another -serial backend for COM1 (then no COM1 socket)."""

    def __init__(self, rig, name, mem="16M", icount=None, qtest=False,
                 serial=None):
        self.name = name
        self.qmp_path = rig.path(name + "-qmp.sock")
        self.serial_path = None if serial else rig.path(name + "-com1.sock")
        self.qtest_path = rig.path(name + "-qtest.sock") if qtest else None
        argv = [R.DM, "-S", "-machine", "pc", "-accel", "tcg", "-bios", GUEST,
                "-m", mem, "-nodefaults",
                "-qmp", "unix:%s,server=on,wait=off" % self.qmp_path,
                "-serial", serial or
                "unix:%s,server=on,wait=off" % self.serial_path]
        if icount is not None:
            argv += ["-icount", "shift=%d" % icount]
        if qtest:
            argv += ["-qtest", "unix:%s,server=on,wait=off" % self.qtest_path]
        super().__init__(argv, rig.path(name + "-dm.log"))
        for p in (self.qmp_path, self.serial_path, self.qtest_path):
            if p:
                R.dmlib.wait_for_path(p, self.proc)
        self.qmp = R.dmlib.Qmp(self.qmp_path)
        self.qt = None

    def qtest(self):
        if not self.qt:
            self.qt = R.Qtest(self.qtest_path)
        return self.qt

    def readl(self, addr):
        """A 32-bit word of guest RAM, through qtest."""
        return int(self.qtest().cmd("readl 0x%x" % addr).split()[1], 16)

    def status(self):
        return self.qmp.status()


def guest_dm(rig, name, **kw):
    d = GuestDm(rig, name, **kw)
    rig.procs.append(d)
    return d


def guest_pair(rig, interval_ms, stats_path, mem="16M", icount=None,
               qtest=False):
    """Two guest dms, the secondary side, then the primary side at
    `interval_ms` with --stats, COM1 output commit into the rig's sink;
    returns (primary dm, secondary dm, secondary side, primary side) once
    paired. The first checkpoint resumes both dms."""
    p = guest_dm(rig, "primary", mem=mem, icount=icount, qtest=qtest)
    s = guest_dm(rig, "secondary", mem=mem, icount=icount)
    sec = rig.secondary(s, SLACK)
    pri = rig.primary(p, ["--interval", str(interval_ms),
                          "--stats", stats_path] + SLACK)
    return p, s, sec, pri


def stats(path):
    """The --stats records of a file (one JSON object a line)."""
    recs = []
    if not os.path.exists(path):
        return recs
    with open(path) as f:
        for ln in f:
            r = json.loads(ln)
            if "epoch" in r:
                recs.append(r)
    return recs


def pct(vals, p):
    """Nearest-rank percentile, as the coordinator's (colo-metrics.md)."""
    vals = sorted(vals)
    return vals[max(0, -(-len(vals) * p // 100) - 1)] if vals else 0


def ticks(data):
    """The tick numbers of the complete tick lines in a COM1 stream."""
    return [int(m.group(1)) for m in TICK_RE.finditer(data)]


def lines(data):
    """The number of complete lines in a COM1 stream."""
    return data.count(b"\r\n")


def last_tick(data):
    t = ticks(data)
    return t[-1] if t else 0


def check_output(path, min_ticks):
    """scripts/check-guest-output on a file: (ok, its message)."""
    r = subprocess.run([sys.executable, CHECK_OUTPUT, "--min-ticks",
                        str(min_ticks), path], capture_output=True,
                       text=True, timeout=120)
    return r.returncode == 0, (r.stdout + r.stderr).strip()
