#!/usr/bin/env python3
"""bench/colo-floor does the work it claims: after its cycles the
secondary's device state equals the primary's (so the load happened), and
it prints one well-formed record per cycle. Two lockstep-dm start with
different RTC times (frozen: -accel qtest), so they differ before."""
import json
import os
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


def test_floor_reports_a_bad_socket():
    with dm("2024-02-29T23:59:50") as p:
        r = subprocess.run([FLOOR, p.qmp_path, p.path("nope.sock"), "1", "0"],
                           capture_output=True, text=True, timeout=60)
        check(r.returncode == 2 and "nope.sock" in r.stderr,
              "want exit 2 naming the socket: %d %r" % (r.returncode,
                                                         r.stderr))


if __name__ == "__main__":
    dmlib.run_tests([test_floor_cycles_load_the_secondary,
                     test_floor_reports_a_bad_socket])
