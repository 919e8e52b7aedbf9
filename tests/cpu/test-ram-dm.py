#!/usr/bin/env python3
"""Guest RAM in the real lockstep-dm: -m, the dirty log given meaning by
xen-set-global-dirty-log (every page written through qtest, and only
those), x-lockstep-save-ram / load-ram (all and dirty, file and
/dev/fdset/N), rejection of corrupt or truncated RAM files that changes
nothing, and x-lockstep-load-checkpoint applying RAM and devices together
or not at all."""
import os
import socket
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "dm"))
from dmlib import DM, Dm, check, run_tests, wait_for_path  # noqa: E402

PAGE = 4096
MEM = 1 << 20


class Qtest:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(path)
        self.f = self.sock.makefile("rb")

    def cmd(self, line):
        self.sock.sendall(line.encode() + b"\n")
        return self.f.readline().decode().rstrip("\n")


def dm_with_qtest(*extra):
    dm = Dm("-S", "-accel", "qtest", "-nodefaults", "-m", "1M",
            "-rtc", "base=2006-06-17T16:01:21,clock=vm", start=False, *extra)
    qt = dm.path("qtest.sock")
    dm.args += ["-qtest", "unix:%s,server=on,wait=off" % qt]
    dm.start()
    wait_for_path(qt, dm.proc)
    return dm, dm.connect(), Qtest(qt)


def save_all(dm, q, name):
    path = dm.path(name)
    q.cmd_ok("x-lockstep-save-ram", {"filename": path})
    return open(path, "rb").read()


def test_m_option():
    with Dm("-machine", "none", "-S") as dm:
        r = dm.connect().cmd("x-lockstep-query-ram")
        check(r.get("error", {}).get("desc") ==
              "this machine has no guest RAM (start it with -m)", repr(r))
    for arg, size in (("16", 16 << 20), ("size=64k", 64 << 10),
                      ("0", 16 << 20), ("2G", 2 << 30)):
        with Dm("-machine", "none", "-S", "-m", arg) as dm:
            r = dm.connect().cmd_ok("x-lockstep-query-ram")
            check(r == {"size": size, "dirty-log": False, "dirty-pages": 0},
                  "-m %s: %r" % (arg, r))
    for arg, want in (("3G", "-m 3G: invalid RAM size"),
                      ("16MB", "-m 16MB: invalid RAM size"),
                      ("slots=2", "-m slots=2: Invalid parameter 'slots'")):
        p = subprocess.run([DM, "-machine", "none", "-m", arg],
                           capture_output=True, text=True, timeout=10)
        check(p.returncode == 1 and want in p.stderr,
              "-m %s: %d %r" % (arg, p.returncode, p.stderr))


def test_dirty_log_sees_qtest_writes():
    dm, q, t = dm_with_qtest()
    with dm:
        check(t.cmd("writeb 0x0 1") == "OK", "write before the log")
        check(q.cmd_ok("x-lockstep-query-ram")["dirty-pages"] == 0,
              "log off: nothing marked")
        q.cmd_ok("xen-set-global-dirty-log", {"enable": True})
        written = {3, 4, 7, 200, 255}
        for line in ("writel 0x3ffe 0xffffffff", "memset 0x7000 1 9",
                     "write 0xc8000 2 0xabcd", "b64write 0xff000 3 AAAA"):
            check(t.cmd(line) == "OK", line)
        for line in ("readq 0x10000", "read 0x20000 16", "memset 0x9000 0 1"):
            check(t.cmd(line).startswith("OK"), line)
        r = q.cmd_ok("x-lockstep-query-ram")
        check(r["dirty-log"] and r["dirty-pages"] == len(written), repr(r))
        path = dm.path("dirty.ram")
        r = q.cmd_ok("x-lockstep-save-ram", {"filename": path, "dirty": True})
        check(r["pages"] == len(written), "save carried %r" % r)
        data = open(path, "rb").read()
        check(len(data) == r["bytes"], "bytes reported")
        addrs = page_addrs(data)
        check(addrs == sorted(p * PAGE for p in written), "pages %r" % addrs)
        check(q.cmd_ok("x-lockstep-query-ram")["dirty-pages"] == 0,
              "a stored save clears the log")
        q.cmd_ok("xen-set-global-dirty-log", {"enable": False})
        t.cmd("writeb 0x50000 1")
        check(q.cmd_ok("x-lockstep-query-ram")["dirty-pages"] == 0,
              "log off again: nothing marked")


def page_addrs(data):
    """Addresses of the page records of a RAM stream (docs/ram-format.md)."""
    off, out = 8 + 7 + 8, []
    while True:
        v = int.from_bytes(data[off:off + 8], "big")
        off += 8
        if v == 0x10:
            return out
        if not v & 0x20:
            off += 7
        off += PAGE if v & 0x08 else 1
        out.append(v & ~0xfff)


def test_save_load_all_then_dirty():
    pdm, pq, pt = dm_with_qtest()
    sdm, sq, st = dm_with_qtest()
    with pdm, sdm:
        st.cmd("memset 0x0 0x100000 0x5a")  # every page differs at first
        pt.cmd("write 0x1000 4 0x01020304")
        pq.cmd_ok("xen-set-global-dirty-log", {"enable": True})
        full = pdm.path("full.ram")
        r = pq.cmd_ok("x-lockstep-save-ram", {"filename": full})
        check(r["pages"] == MEM // PAGE and r["zero-pages"] == 255, repr(r))
        sq.cmd_ok("x-lockstep-load-ram", {"filename": full})
        check(st.cmd("read 0xfff 6") == "OK 0x000102030400", "loaded")
        pt.cmd("writeq 0x80000 0x1122334455667788")
        pt.cmd("memset 0x1000 4 0")
        r = pq.cmd_ok("x-lockstep-save-ram", {"filename": pdm.path("d.ram"),
                                              "dirty": True})
        check(r["pages"] == 2 and r["zero-pages"] == 1, repr(r))
        sq.cmd_ok("x-lockstep-load-ram", {"filename": pdm.path("d.ram")})
        check(save_all(pdm, pq, "a") == save_all(sdm, sq, "b"),
              "secondary's RAM equals the primary's after the dirty load")
        check(sq.cmd_ok("x-lockstep-query-ram")["dirty-pages"] == 0,
              "a load does not mark the log")


def test_fdset_and_running():
    dm, q, t = dm_with_qtest()
    with dm:
        t.cmd("writeb 0x2000 0x42")
        fd = os.memfd_create("ram")
        q.cmd_ok("add-fd", {"fdset-id": 7}, fds=[fd])
        q.cmd_ok("x-lockstep-save-ram", {"filename": "/dev/fdset/7"})
        data = os.pread(fd, MEM * 2, 0)
        check(data == save_all(dm, q, "ref"), "fd set gets the same bytes")
        q.cmd_ok("cont")
        q.event_names()
        q.cmd_ok("x-lockstep-save-ram", {"filename": dm.path("run.ram")})
        check(q.event_names() == ["STOP", "RESUME"], "stopped around the save")
        r = q.cmd("x-lockstep-load-ram", {"filename": dm.path("run.ram")})
        check(r["error"]["desc"] == "Cannot update RAM while vm is running",
              repr(r))
        os.close(fd)


def test_corrupt_changes_nothing():
    dm, q, t = dm_with_qtest()
    with dm:
        t.cmd("memset 0x3000 0x2000 0x77")
        before = save_all(dm, q, "before")
        t.cmd("memset 0x3000 0x2000 0x11")
        good = save_all(dm, q, "src.ram")
        t.cmd("memset 0x3000 0x2000 0x77")
        bad = dm.path("bad.ram")
        cases = [
            (good[:-1], "offset %d: truncated (8 bytes needed, 7 left)"
             % (len(good) - 8)),
            (good[:100], "truncated"),
            (good + b"\0", "offset %d: 1 trailing bytes" % len(good)),
            (good[:23] + b"\0" * 7 + b"\x48" + good[31:],
             "offset 23: bad record flags 0x48"),
            (b"\0" * 7 + b"\x04" + good[8:],
             "offset 0: RAM size 0 does not match"),
        ]
        for blob, want in cases:
            open(bad, "wb").write(blob)
            r = q.cmd("x-lockstep-load-ram", {"filename": bad})
            desc = r.get("error", {}).get("desc", "")
            check(desc.startswith(bad + ": RAM stream ") and want in desc,
                  "%r: %r" % (want, r))
            check(save_all(dm, q, "after") == before, "RAM unchanged")


def test_checkpoint_all_or_nothing():
    pdm, pq, pt = dm_with_qtest()
    sdm, sq, st = dm_with_qtest()
    with pdm, sdm:
        pt.cmd("memset 0x4000 0x1000 0x99")
        pt.cmd("outb 0x70 0x0b")  # a device change: CMOS index register
        dev = pdm.path("dev.state")
        pq.cmd_ok("xen-save-devices-state", {"filename": dev})
        ram = pdm.path("ckpt.ram")
        pq.cmd_ok("x-lockstep-save-ram", {"filename": ram})
        sdev0 = sdm.path("sdev0")
        sq.cmd_ok("xen-save-devices-state", {"filename": sdev0})
        sram0 = save_all(sdm, sq, "sram0")
        bad_ram = sdm.path("bad.ram")
        open(bad_ram, "wb").write(open(ram, "rb").read()[:-3])
        bad_dev = sdm.path("bad.dev")
        open(bad_dev, "wb").write(open(dev, "rb").read()[:-3])
        for d, r in ((dev, bad_ram), (bad_dev, ram)):
            rep = sq.cmd("x-lockstep-load-checkpoint", {"devices": d, "ram": r})
            check("error" in rep, "bad half rejected: %r" % rep)
            sq.cmd_ok("xen-save-devices-state", {"filename": sdm.path("s1")})
            check(open(sdm.path("s1"), "rb").read() ==
                  open(sdev0, "rb").read(), "devices unchanged")
            check(save_all(sdm, sq, "s1r") == sram0, "RAM unchanged")
        sq.cmd_ok("x-lockstep-load-checkpoint", {"devices": dev, "ram": ram})
        check(save_all(sdm, sq, "s2r") == open(ram, "rb").read(), "RAM in")
        sq.cmd_ok("xen-save-devices-state", {"filename": sdm.path("s2")})
        check(open(sdm.path("s2"), "rb").read() == open(dev, "rb").read(),
              "devices in")


if __name__ == "__main__":
    run_tests([test_m_option, test_dirty_log_sees_qtest_writes,
               test_save_load_all_then_dirty, test_fdset_and_running,
               test_corrupt_changes_nothing, test_checkpoint_all_or_nothing])
