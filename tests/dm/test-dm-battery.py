#!/usr/bin/env python3
"""Malformed device-state files through QMP: truncations at every offset,
bad magic, version 2, structural byte flips, missing EOF, trailing bytes,
garbage. Every failure must be a precise GenericError (where and why, never
QEMU's "An IO error has occurred"), the process must stay alive, and a save
afterwards must be byte-identical to the save before (nothing changed)."""
import os

from dmlib import Dm, check, run_tests

# Deterministic machine: stepped clock, RTC on the virtual clock, paused.
DET = ("-S", "-accel", "qtest", "-nodefaults", "-rtc",
       "base=2006-06-17T16:01:21,clock=vm")


def sections(data):
    """Offsets of the section type bytes, found via footers (7e + id)."""
    offs = [8]
    pos = 8
    while data[pos] == 0x04:
        idlen = data[pos + 5]
        sid = data[pos + 1:pos + 5]
        foot = data.find(b"\x7e" + sid, pos + 6 + idlen + 8)
        while foot > 0 and data[foot + 5] not in (0x00, 0x04):
            foot = data.find(b"\x7e" + sid, foot + 1)
        check(foot > 0, "footer not found")
        pos = foot + 5
        offs.append(pos)
    return offs


class Battery:
    def __init__(self, dm):
        self.dm = dm
        self.q = dm.connect()
        self.ref = dm.path("ref.devstate")
        self.q.cmd_ok("xen-save-devices-state", {"filename": self.ref})
        self.data = open(self.ref, "rb").read()
        self.bad = dm.path("bad.devstate")
        self.failures = 0

    def load(self, blob, must_fail=True):
        with open(self.bad, "wb") as f:
            f.write(blob)
        r = self.q.cmd("xen-load-devices-state", {"filename": self.bad})
        if "return" in r:
            check(not must_fail, "malformed file loaded (len %d)" % len(blob))
            # A payload change may be valid input: restore the reference.
            self.q.cmd_ok("xen-load-devices-state", {"filename": self.ref})
            return True
        e = r["error"]
        check(e["class"] == "GenericError", "class %r" % e)
        check(e["desc"] != "An IO error has occurred", "vague error")
        check("offset 0x" in e["desc"] or "cap" in e["desc"],
              "error says where: %r" % e["desc"])
        self.failures += 1
        return False

    def check_unchanged(self):
        again = self.dm.path("again.devstate")
        self.q.cmd_ok("xen-save-devices-state", {"filename": again})
        check(open(again, "rb").read() == self.data,
              "state changed by failed loads")
        check(self.dm.alive(), "process alive")
        check(self.q.status() == "prelaunch", "run state unchanged")


def test_truncations():
    with Dm(*DET) as dm:
        b = Battery(dm)
        n = len(b.data)
        offsets = sorted(set(list(range(0, min(n, 128))) +
                             list(range(128, n, 13)) + [n - 2, n - 1]))
        for off in offsets:
            b.load(b.data[:off])
        b.check_unchanged()


def test_header_and_trailer():
    with Dm(*DET) as dm:
        b = Battery(dm)
        d = b.data
        b.load(b"")
        b.load(d[:8])
        b.load(b"QEVX" + d[4:])                      # bad magic
        b.load(d[:4] + b"\0\0\0\2" + d[8:])         # version 2
        b.load(d[:4] + b"\0\0\0\4" + d[8:])         # version 4
        b.load(d[:-1])                               # EOF byte removed
        b.load(d + b"\0")                            # trailing bytes
        b.load(d + b"garbage")
        b.load(os.urandom(4096))
        b.load(d[:8] + b"\x09" + d[9:])              # section type 9
        b.check_unchanged()


def test_structural_flips():
    with Dm(*DET) as dm:
        b = Battery(dm)
        d = b.data
        for off in sections(d)[:-1]:
            idlen = d[off + 5]
            hdr = range(off, off + 6 + idlen + 8)   # type, id, idstr, ...
            for i in hdr:
                if i in (off + 1, off + 2, off + 3, off + 4):
                    continue  # section id: only used by footers (QEMU too)
                blob = bytearray(d)
                blob[i] ^= 0xFF
                b.load(bytes(blob))
        b.check_unchanged()


def test_payload_flips():
    """Flips inside payloads may be valid; none may crash or half-load."""
    with Dm(*DET) as dm:
        b = Battery(dm)
        d = b.data
        for i in range(8, len(d), 5):
            blob = bytearray(d)
            blob[i] ^= 0x5A
            b.load(bytes(blob), must_fail=False)
        b.check_unchanged()


if __name__ == "__main__":
    run_tests([test_truncations, test_header_and_trailer,
               test_structural_flips, test_payload_flips])
