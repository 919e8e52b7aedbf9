#!/usr/bin/env python3
"""Snapshot round trips through the real lockstep-dm, every device busy.

Machine A is driven (qtest) into mid-operation: PICs initialised with an
interrupt in service (poll-mode acknowledge) and others pending, PIT
channel 0 counting in mode 2 and channel 2 in mode 3 with its gate open,
the RTC periodic interrupt armed, UART FIFOs half full (loopback), the
i8042 with keyboard and mouse replies queued, port 92 A20 set. A saves
(xen-save-devices-state); a fresh machine B (same options) stops, loads
the file, continues. Then both get the same further sequence (which
starts by intercepting IRQs, so both report from the same point) and
must answer identically (replies and IRQ lines), and their re-saves must
be identical byte for byte.

A lockstep-dm that does not start is a failure, as any other.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "compat"))
import lsharness as H  # noqa: E402

ARGS = ["-rtc", "base=2021-06-01T12:00:00,clock=vm",
        "-serial", "null", "-serial", "null"]

BUSY = os.path.join(H.SRC, "tests", "compat", "snapshot-busy.qtest")
FURTHER = os.path.join(H.SRC, "tests", "compat", "snapshot-further.qtest")


def lines(path):
    return H.load_seq(path)[1]


def check_busy(snap):
    """The snapshot must really hold mid-operation state."""
    import struct
    secs = {sec.key: sec.payload for sec in H.split_devstate(snap)}
    out = []
    pic = secs.get(("i8259", 0), b"")
    if len(pic) < 4 or pic[3] == 0:
        out.append("master PIC has nothing in service (isr)")
    rtc = secs.get(("mc146818rtc", 0), b"")
    if len(rtc) < 205 or struct.unpack(">I", rtc[201:205])[0] == 0:
        out.append("RTC periodic timer not armed (period)")
    fifo = [c for n, _, c in H.subsections(secs.get(("serial", 0), b""), 11)
            if n == "serial/recv_fifo"]
    if not fifo or struct.unpack(">I", fifo[0][20:24])[0] < 4:
        out.append("COM1 receive FIFO not half full")
    kbd = secs.get(("ps2kbd", 0), b"")
    if len(kbd) < 16 or struct.unpack(">i", kbd[12:16])[0] == 0:
        out.append("keyboard queue empty")
    return out


def main():
    try:
        return round_trip()
    except (H.HarnessError, OSError) as e:
        print("FAIL snapshot round trip: %s" % e)
        return 1


def round_trip():
    problems = []
    with H.Machine("dm", ARGS) as a, H.Machine("dm", ARGS) as b:
        a.play(lines(BUSY))
        snap = a.save("a.devstate")
        problems += check_busy(snap)
        b.qmp.ok("stop")
        r = b.load(snap)
        if "error" in r:
            print("FAIL: load refused: %s" % r["error"])
            return 1
        b.qmp.ok("cont")
        ta = a.play(lines(FURTHER))
        tb = b.play(lines(FURTHER))
        problems += H.diff_transcripts(ta, tb, "further")
        sa, sb = a.save("a2.devstate"), b.save("b2.devstate")
        if sa != sb:
            ok, rep = H.compare_devstate(sa, sb, skip=())
            problems.append("re-saves differ (%d vs %d bytes)" % (
                len(sa), len(sb)))
            problems += rep
        busy = [s.idstr for s in H.split_devstate(snap)]
    for p in problems:
        print("    " + p.replace("QEMU", "A").replace("lockstep", "B"))
    print("%s snapshot round trip (sections: %s)" % (
        "FAIL" if problems else "ok", " ".join(busy)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
