"""One run of the guest under COLO with its primary dm killed (python3
stdlib only), shared by test-colo-guest.py (in `make check`) and
guest-kill-many (longer, by hand).

A run: the guest program on a primary and a secondary lockstep-dm
(colorig.Rig.guest_pair: -accel tcg, -m 16M, output commit of COM1 into a
FILE sink), checkpoints every 20 ms (50 per second). The primary dm is
killed with SIGKILL either at a phase of checkpoint N, through the
primary's test-only hook (--x-fault PHASE@N --x-fault-kill PID), or after
a random delay. Then:
- the secondary fails over (COLO_FAILOVER) to a complete checkpoint;
- the guest keeps printing on the secondary: at least MORE_TICKS tick
  lines past the last one seen before the kill reach the sink;
- the sink holds every line exactly once, in order, with checksums that
  verify (scripts/check-guest-output), across the failover.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import colorig as R  # noqa: E402

PHASES = ("stop", "save", "transfer", "load", "resume")
INTERVAL_MS = 20
MORE_TICKS = 20


def _fault(phase, epoch):
    if not phase:
        return []
    return lambda pdm: ["--x-fault", "%s@%d" % (phase, epoch),
                        "--x-fault-kill", str(pdm.proc.pid)]


def _kill(rig, pdm, pri, phase, epoch, delay):
    """Waits for the fault hook to kill the dm, or kills it after
    `delay` s of guest output. Returns the ticks in the sink then."""
    if phase:
        R.wait_until(lambda: not pdm.alive(),
                     "the dm killed at %s of checkpoint %d" % (phase, epoch),
                     timeout=30)
        hit = "x-fault at %s of checkpoint %d" % (phase, epoch)
        R.wait_until(lambda: hit in pri.output(), "primary log: " + hit)
        return rig.guest_ticks()
    R.wait_until(lambda: rig.guest_ticks() >= 1, "the guest's first tick",
                 timeout=30)
    time.sleep(delay)
    ticks = rig.guest_ticks()
    pdm.kill()
    return ticks


def run(phase=None, epoch=None, delay=None):
    """Kills the primary dm at `phase` of checkpoint `epoch`, or (phase
    None) `delay` seconds after the guest's first tick reached the sink.
    Returns (epoch failed over to, ticks at the kill, ticks at the end);
    raises on any failed check."""
    with R.Rig() as rig:
        pdm, sdm, pri, sec = rig.guest_pair(INTERVAL_MS,
                                            pri_extra=_fault(phase, epoch))
        before = _kill(rig, pdm, pri, phase, epoch, delay)
        ev = sec.event("COLO_FAILOVER", timeout=30)
        R.check(pri.wait(30) == 1, "primary side after its dm died: " +
                pri.output()[-2000:])
        want = before + MORE_TICKS
        R.wait_until(lambda: rig.guest_ticks() >= want,
                     "tick %d on the secondary (sink at %d)" %
                     (want, rig.guest_ticks()), timeout=30)
        ok, msg = rig.check_guest_output(want)
        R.check(ok, "the COM1 sink after failover to checkpoint %d: %s" %
                (ev["data"]["epoch"], msg))
        R.check(sec.alive(), "the secondary side keeps running")
        return ev["data"]["epoch"], before, rig.guest_ticks()
