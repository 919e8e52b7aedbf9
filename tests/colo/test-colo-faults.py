#!/usr/bin/env python3
"""The primary dm, or the primary side, killed at every phase of a
checkpoint (stop, save, transfer, load, resume), through the primary's
test-only fault hook (--x-fault PHASE@N, --x-fault-kill PID).

Each case: checkpoint 1 with "line 1" on COM1, then "line 2" and
checkpoint 2, which the fault interrupts. The secondary must fail over to
a complete checkpoint, 1 or 2 as the phase allows, never a half-loaded
one: its device state equals, byte for byte (lockstep diff), what the
primary's dm held at that checkpoint. The COM1 sink must hold exactly the
lines of the epochs up to that checkpoint (no gap, no repeat, nothing of
what the secondary's own guest wrote meanwhile), and the
next line the guest writes (now on the secondary) must follow them.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import colorig as R  # noqa: E402

# Checkpoints the secondary may end at, per (victim, phase).
EXPECT = {
    ("side", "stop"): {1}, ("side", "save"): {1}, ("side", "transfer"): {1},
    ("side", "load"): {1, 2}, ("side", "resume"): {2},
    ("dm", "stop"): {1}, ("dm", "save"): {2}, ("dm", "transfer"): {2},
    ("dm", "load"): {2}, ("dm", "resume"): {2},
}


def line(n):
    return "line %d\r\n" % n


def run_case(victim, phase):
    with R.Rig() as rig:
        p, s = rig.dm("p"), rig.dm("s")
        rig.secondary(s)
        extra = ["--interval", "0", "--x-fault", phase + "@2"]
        if victim == "dm":
            extra += ["--x-fault-kill", str(p.proc.pid)]
        pri = rig.primary(p, extra)
        sec = rig.procs[2]
        qt = p.qtest()
        qt.play(R.DRIVER)
        qt.serial_write(line(1))
        R.check(R.checkpoint(pri) == 1, "first checkpoint")
        states = {1: p.save(rig.path("p1.devstate"))}
        # The secondary's guest runs on between checkpoints (its clock, its
        # own console output): a failover must discard all of it.
        s.qtest().cmd("clock_step 5000000")
        s.qtest().serial_write("noise\r\n")
        qt.serial_write(line(2))
        qt.cmd("clock_step 3000000")
        states[2] = p.save(rig.path("p2.devstate"))
        pri.control().send({"execute": "checkpoint"})
        R.check(pri.wait() != 0, "the primary side should die or fail")
        if victim == "side":
            p.kill()
        ev = sec.event("COLO_FAILOVER")
        epoch = ev["data"]["epoch"]
        R.check(epoch in EXPECT[(victim, phase)],
                "%s killed at %s: failed over to %d, expected %s" %
                (victim, phase, epoch, EXPECT[(victim, phase)]))
        got = s.save(rig.path("s.devstate"))
        rc, out = rig.diff(states[epoch], got)
        R.check(rc == 0, "secondary differs from checkpoint %d: %s" %
                (epoch, out))
        want = "".join(line(i) for i in range(1, epoch + 1)).encode()
        R.wait_until(lambda: rig.read("com1-out.txt") == want,
                     "sink == lines 1..%d (has %r)" %
                     (epoch, rig.read("com1-out.txt")))
        s.qtest().serial_write(line(epoch + 1))
        want += line(epoch + 1).encode()
        R.wait_until(lambda: rig.read("com1-out.txt") == want,
                     "the secondary continues the stream (has %r)" %
                     rig.read("com1-out.txt"))
        R.check(sec.alive(), "the secondary side keeps running")
        return epoch


def make(victim, phase):
    def t():
        run_case(victim, phase)
    t.__name__ = "test_%s_killed_at_%s" % (victim, phase)
    return t


TESTS = [make(v, ph) for v in ("side", "dm")
         for ph in ("stop", "save", "transfer", "load", "resume")]

if __name__ == "__main__":
    R.dmlib.run_tests(TESTS)
