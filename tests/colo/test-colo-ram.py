#!/usr/bin/env python3
"""The coordinator carries guest RAM (docs/colo.md, "RAM"), with dms under
-accel qtest and -m, so qtest writes guest RAM as a vCPU would and the test
reads both dms' RAM back: the first checkpoint of a pairing carries all of
RAM, later ones exactly the pages written since; the secondary's RAM equals
the primary's after each checkpoint and its dm stays paused between them;
a new pairing starts full again; a secondary dm without RAM refuses the
checkpoint; a dm with more RAM than the protocol carries is refused at
start.
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import colorig as R  # noqa: E402

RAM = ["-m", "16M"]
PAGES = 16 * 1024 * 1024 // 4096


def records(rig, name="stats.jsonl"):
    try:
        with open(rig.path(name)) as f:
            return [json.loads(x) for x in f.read().splitlines() if x]
    except FileNotFoundError:
        return []


def write_pages(qt, addrs, tag):
    for a in addrs:
        qt.cmd("writeq 0x%x 0x%016x" % (a, (tag << 32) | a))


def same_ram(pq, sq, addrs):
    for a in addrs:
        p = pq.cmd("read 0x%x 16" % a)
        s = sq.cmd("read 0x%x 16" % a)
        R.check(p == s, "RAM at 0x%x: primary %s, secondary %s" % (a, p, s))


def start_pair(rig, stats="stats.jsonl", sec_ram=RAM):
    p = rig.dm("p", RAM)
    s = rig.dm("s", sec_ram)
    sec = rig.secondary(s, sink=False)
    pri = rig.primary(p, ["--interval", "0", "--stats", rig.path(stats)],
                      sink=False)
    return p, s, pri, sec


def test_full_then_dirty():
    with R.Rig() as rig:
        p, s, pri, sec = start_pair(rig)
        pq, sq = p.qtest(), s.qtest()
        first = [0x0, 0x5000, 0xfff000]
        write_pages(pq, first, 1)
        R.check(R.checkpoint(pri) == 1, "epoch 1")
        rec = records(rig)
        R.check(len(rec) == 1 and rec[0]["ram_pages"] == PAGES and
                rec[0]["ram_full"], "first checkpoint full: %r" % rec)
        same_ram(pq, sq, first + [0x9000])
        R.check(s.status() != "running", "secondary dm paused between "
                "checkpoints with RAM: %s" % s.status())
        # pages 0x5000 (twice), 0x7000, 0x7ff8 (same page), 0x200000
        second = [0x5000, 0x5008, 0x7000, 0x7ff8, 0x200000]
        write_pages(pq, second, 2)
        R.check(R.checkpoint(pri) == 2, "epoch 2")
        rec = records(rig)[-1]
        R.check(rec["ram_pages"] == 3 and not rec["ram_full"],
                "second checkpoint: the 3 pages written: %r" % rec)
        R.check(0 < rec["ram_bytes"] < 4 * 4104, "bytes %r" % rec)
        same_ram(pq, sq, first + second)
        R.check(R.checkpoint(pri) == 3, "epoch 3")
        rec = records(rig)[-1]
        R.check(rec["ram_pages"] == 0, "nothing written: %r" % rec)
        st = pri.status()
        R.check(st["ram-pages"] == PAGES + 3 and st["ram-bytes"] > 0,
                "query-colo-status: %r" % st)
        rc, out = rig.diff(p.save(rig.path("p.devstate")),
                           s.save(rig.path("s.devstate")))
        R.check(rc == 0 or "globalstate" in out, out)


def test_new_pairing_full_again():
    """A second primary side against the same pair: its first checkpoint
    carries all of RAM, and the secondary gets what was written while the
    pair was not paired."""
    with R.Rig() as rig:
        p, s, pri, sec = start_pair(rig)
        pq, sq = p.qtest(), s.qtest()
        write_pages(pq, [0x3000], 1)
        R.checkpoint(pri)
        R.check(pri.kill(__import__("signal").SIGTERM) == 0, "bye")
        R.wait_until(lambda: sec.status()["state"] == "listening",
                     "secondary listening again")
        write_pages(pq, [0x3000, 0x4000], 7)
        pri2 = rig.primary(p, ["--interval", "0", "--stats",
                               rig.path("stats2.jsonl")], sink=False)
        R.check(R.checkpoint(pri2) == 1, "epoch 1 of the new pairing")
        rec = records(rig, "stats2.jsonl")
        R.check(rec[0]["ram_pages"] == PAGES and rec[0]["ram_full"],
                "full again: %r" % rec)
        same_ram(pq, sq, [0x3000, 0x4000])


def test_secondary_without_ram():
    with R.Rig() as rig:
        p, s, pri, sec = start_pair(rig, sec_ram=[])
        r = pri.control().cmd("checkpoint")
        R.check("return" in r, "checkpoint started: %r" % r)
        R.wait_until(lambda: pri.status()["state"] == "alone",
                     "primary alone after the refused load")
        R.check("this dm has none" in pri.output(),
                "the reason reaches the primary: " + pri.output()[-2000:])
        R.check(s.status() == "running", "secondary dm resumed")


def test_ram_over_cap_refused():
    with R.Rig() as rig:
        d = rig.dm("big", ["-m", "256M"])
        for role, where in (("primary", "--peer"), ("secondary",
                                                    "--listen")):
            r = subprocess.run([R.LOCKSTEP, "colo", role, "--qmp",
                                "unix:" + d.qmp_path, where,
                                "127.0.0.2:%d" % rig.port, "--insecure"],
                               capture_output=True, text=True, timeout=30)
            R.check(r.returncode == 2 and "256 MiB of guest RAM" in r.stderr
                    and "at most 128 MiB" in r.stderr,
                    "%s: rc %d %r" % (role, r.returncode, r.stderr))


if __name__ == "__main__":
    R.dmlib.run_tests([
        test_full_then_dirty, test_new_pairing_full_again,
        test_secondary_without_ram, test_ram_over_cap_refused,
    ])
