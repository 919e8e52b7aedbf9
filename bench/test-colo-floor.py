#!/usr/bin/env python3
"""bench/colo-floor does the work it claims: after its cycles the
secondary's device state equals the primary's (so the load happened), and
it prints one well-formed record per cycle. Two lockstep-dm start with
different RTC times (frozen: -accel qtest), so they differ before. With
`ram`, the first cycle carries all of RAM and later ones the dirty pages
only, the secondary stays paused, and its RAM ends equal to the
primary's."""
import json
import os
import socket
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests", "dm"))
import dmlib  # noqa: E402
from dmlib import check  # noqa: E402

FLOOR = os.path.join(dmlib.BUILD, "bench", "colo-floor")
LOCKSTEP = os.path.join(dmlib.BUILD, "lockstep")
PHASES = {"stop", "save", "transfer", "load", "resume"}


def dm(base):
    return dmlib.Dm("-S", "-machine", "pc", "-accel", "qtest", "-nodefaults",
                    "-rtc", "base=%s,clock=vm" % base)


def save(d, name):
    q = d.connect()
    path = d.path(name)
    q.cmd_ok("xen-save-devices-state", {"filename": path})
    q.close()
    return path


def diff(a, b):
    r = subprocess.run([LOCKSTEP, "diff", a, b], capture_output=True,
                       text=True, timeout=60)
    return r.stdout + r.stderr


def same(a, b):
    r = subprocess.run([LOCKSTEP, "diff", a, b], capture_output=True,
                       text=True, timeout=60)
    check(r.returncode in (0, 1), "lockstep diff: %s" % r.stderr)
    return r.returncode == 0


def test_floor_cycles_load_the_secondary():
    with dm("2024-02-29T23:59:50") as p, dm("2001-01-01T00:00:00") as s:
        check(not same(save(p, "p0"), save(s, "s0")),
              "the two dms should differ before")
        r = subprocess.run([FLOOR, p.qmp_path, s.qmp_path, "3", "0"],
                           capture_output=True, text=True, timeout=60)
        check(r.returncode == 0, "colo-floor failed: %s" % r.stderr)
        recs = [json.loads(x) for x in r.stdout.splitlines()]
        check([x["epoch"] for x in recs] == [1, 2, 3], "records %r" % recs)
        for x in recs:
            check(set(x["phases_us"]) == PHASES and x["ok"] and
                  x["devstate_bytes"] > 0 and x["pause_us"] >=
                  sum(x["phases_us"].values()), "record %r" % x)
        for d in (p, s):
            q = d.connect()
            check(q.status() == "running", "cont after the cycles")
            q.cmd_ok("stop")
            q.close()
        check(same(save(p, "p1"), save(s, "s1")),
              "the secondary should equal the primary after the cycles")


RAM_SIZE = 1 << 20


def ram_dm(base):
    d = dmlib.Dm("-S", "-machine", "pc", "-accel", "qtest", "-nodefaults",
                 "-m", "%dK" % (RAM_SIZE >> 10), "-rtc",
                 "base=%s,clock=vm" % base, start=False)
    d.qtest_path = d.path("qtest.sock")
    d.args += ["-qtest", "unix:%s,server=on,wait=off" % d.qtest_path]
    d.start()
    dmlib.wait_for_path(d.qtest_path, d.proc)
    return d


def qtest_write(d, lines):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(dmlib.TIMEOUT)
    s.connect(d.qtest_path)
    f = s.makefile("rb")
    for line in lines:
        s.sendall(line.encode() + b"\n")
        reply = f.readline()
        check(reply.startswith(b"OK"), "qtest %r: %r" % (line, reply))
    f.close()
    s.close()


def save_ram(d, name):
    q = d.connect()
    path = d.path(name)
    q.cmd_ok("x-lockstep-save-ram", {"filename": path})
    q.close()
    with open(path, "rb") as f:
        return f.read()


def test_floor_ram_all_then_dirty():
    with ram_dm("2024-02-29T23:59:50") as p, ram_dm("2001-01-01") as s:
        qtest_write(p, ["writel 0x1000 0xdeadbeef", "writeq 0x7fff8 0x5",
                        "memset 0x20000 0x3000 0xa5"])
        check(save_ram(p, "p0.ram") != save_ram(s, "s0.ram"),
              "the two RAMs should differ before")
        r = subprocess.run([FLOOR, p.qmp_path, s.qmp_path, "2", "0", "ram"],
                           capture_output=True, text=True, timeout=60)
        check(r.returncode == 0, "colo-floor failed: %s" % r.stderr)
        recs = [json.loads(x) for x in r.stdout.splitlines()]
        check([x["ram_pages"] for x in recs] == [RAM_SIZE // 4096, 0],
              "all pages first, then none dirty (frozen): %r" % recs)
        check(all(x["ram_bytes"] > 0 for x in recs), "records %r" % recs)
        for d, running in ((p, True), (s, False)):
            q = d.connect()
            check((q.status() == "running") == running,
                  "with RAM the primary runs on, the secondary stays "
                  "paused: %s is %s" % (d.qmp_path, q.status()))
            q.cmd_ok("stop")
            q.close()
        check(save_ram(p, "p1.ram") == save_ram(s, "s1.ram"),
              "the secondary's RAM should equal the primary's")
        # globalstate holds the run state: the secondary never ran.
        out = diff(save(p, "p1"), save(s, "s1"))
        check(all("'globalstate'" in ln for ln in out.splitlines()),
              "the secondary's devices should equal the primary's: %s" % out)


def test_floor_reports_a_bad_socket():
    with dm("2024-02-29T23:59:50") as p:
        r = subprocess.run([FLOOR, p.qmp_path, p.path("nope.sock"), "1", "0"],
                           capture_output=True, text=True, timeout=60)
        check(r.returncode == 2 and "nope.sock" in r.stderr,
              "want exit 2 naming the socket: %d %r" % (r.returncode,
                                                         r.stderr))


if __name__ == "__main__":
    dmlib.run_tests([test_floor_cycles_load_the_secondary,
                     test_floor_ram_all_then_dirty,
                     test_floor_reports_a_bad_socket])
