#!/usr/bin/env python3
"""lockstep-dm loading hostile times: a saved file whose `timer` section
(the virtual clock) or `i8254` section (the PIT's count_load_time and
next_transition_time) holds 2^60, INT64_MAX, negative values or values
just past the bound. Each load is refused with an error naming the field,
or accepted; either way, after `cont` the daemon keeps answering QMP
within 100 ms (median of five) and SIGTERM ends it with status 0, and
one it accepted settles to idle (catch-up capped, not replayed for
good). Also COM1's
character timeout deadline past its bound (refused)."""
import signal
import socket
import struct
import time

from dmlib import Dm, check, cpu_ticks, fail, run_tests, wait_for_path

INT64_MAX = (1 << 63) - 1
INT64_MIN = -(1 << 63)
MAX_NS = 1 << 62  # HW_CLOCK_MAX_NS in src/hw/clock.h: the clock's bound
MAX_FIELD_NS = MAX_NS + (1 << 55)  # HW_CLOCK_MAX_FIELD_NS: devices' times
ANSWER_S = 0.100
# A loaded machine whose PIT was left far behind its clock must settle:
# without the catch-up cap it replays every missed transition, a few
# thousand per loop pass (HW_CLOCK_MAX_FIRES), answering QMP all the
# while but busy for good (30 to 100 ticks a second, measured); with
# the cap it idles (0 to 2 ticks). The bound is wide for a loaded host.
SETTLE_WINDOW_S = 1.0
SETTLE_MAX_TICKS = 20

# The PIT's channel 0 times, from the start of the i8254 payload: u32
# irq_disabled, then channel 0 (int32 count, u16, 10 x u8, int64
# count_load_time, int64 next_transition_time); the top-level copy of
# next_transition_time ends the section (after 3 x 32-byte channels).
PIT_LOAD_TIME = 4 + 16
PIT_NEXT = (4 + 24, 4 + 3 * 32)


def payload(data, idstr, version):
    """Offset of the fields of section `idstr` (instance 0)."""
    key = bytes([len(idstr)]) + idstr + struct.pack(">II", 0, version)
    at = data.find(key)
    check(at > 0 and data.find(key, at + 1) < 0, "one %r section" % idstr)
    return at + len(key)


def patched(data, fields):
    data = bytearray(data)
    for off, val in fields:
        data[off:off + 8] = struct.pack(">q", val)
    return bytes(data)


def clock_fields(data, val):
    return [(payload(data, b"timer", 2) + 16, val)]


def pit_load_fields(data, val):
    return [(payload(data, b"i8254", 3) + PIT_LOAD_TIME, val)]


def pit_next_fields(data, val):
    p = payload(data, b"i8254", 3)
    return [(p + off, val) for off in PIT_NEXT]


def answers_fast(q, what):
    """Five round trips: each answered within 2 s, and the median within
    ANSWER_S. A daemon stuck replaying timers is slow every time (or
    never answers); one round trip delayed by a busy host is not."""
    times = []
    for _ in range(5):
        t0 = time.monotonic()
        q.sock.settimeout(2.0)
        try:
            st = q.status()
        except OSError as e:
            fail("%s: no QMP answer within 2 s (%s)" % (what, e))
        times.append(time.monotonic() - t0)
        check(st == "running", "%s: status %r" % (what, st))
        time.sleep(0.02)
    times.sort()
    check(times[2] < ANSWER_S, "%s: query-status took %s ms" %
          (what, ", ".join("%.0f" % (t * 1e3) for t in times)))


def run_case(make_fields, val, extra=(), want_error=None):
    """Loads a saved file with `val` patched in, runs it, checks liveness.
    want_error: a substring the refusal must hold, or None (accepted)."""
    what = "%s=%d %s" % (make_fields.__name__, val, " ".join(extra))
    with Dm("-machine", "pc", "-S", "-nodefaults", *extra) as dm:
        q = dm.connect()
        ref = dm.path("ref.devstate")
        q.cmd_ok("xen-save-devices-state", {"filename": ref})
        data = open(ref, "rb").read()
        bad = dm.path("bad.devstate")
        open(bad, "wb").write(patched(data, make_fields(data, val)))
        r = q.cmd("xen-load-devices-state", {"filename": bad})
        if want_error is None:
            check(r == {"return": {}}, "%s: load refused: %r" % (what, r))
        else:
            desc = r.get("error", {}).get("desc", "")
            check(want_error in desc, "%s: want %r in the error, got %r" %
                  (what, want_error, r))
        q.cmd_ok("cont")
        time.sleep(0.2)
        answers_fast(q, what)
        if want_error is None:
            before = cpu_ticks(dm.proc.pid)
            time.sleep(SETTLE_WINDOW_S)
            spent = cpu_ticks(dm.proc.pid) - before
            check(spent <= SETTLE_MAX_TICKS, "%s: still busy after the "
                  "load: %d ticks in %.1f s" % (what, spent, SETTLE_WINDOW_S))
        dm.proc.send_signal(signal.SIGTERM)
        try:
            rc = dm.wait(5)
        except Exception:
            fail("%s: SIGTERM did not end the daemon within 5 s" % what)
        check(rc == 0, "%s: exit status %r" % (what, rc))


def test_clock_far_ahead_runs_bounded():
    """The reported hang: the clock 2^60 ns past every PIT time."""
    run_case(clock_fields, 1 << 60)


def test_clock_at_the_bound_runs_bounded():
    run_case(clock_fields, MAX_NS)
    run_case(clock_fields, MAX_NS, ("-rtc", "clock=vm"))


def test_clock_past_the_bound_refused():
    err = "field 'cpu_clock_offset': "
    for val in (MAX_NS + 1, INT64_MAX, -1, INT64_MIN):
        run_case(clock_fields, val, want_error=err)


def test_pit_times_far_ahead():
    """A count loaded or a transition due 2^60 ns after the clock."""
    run_case(pit_load_fields, 1 << 60)
    run_case(pit_next_fields, 1 << 60)


def test_pit_times_past_the_bound_refused():
    for val in (MAX_FIELD_NS + 1, INT64_MAX, -1, INT64_MIN):
        run_case(pit_load_fields, val, want_error="field 'count_load_time': ")
    for val in (MAX_FIELD_NS + 1, INT64_MAX, -2, INT64_MIN):
        run_case(pit_next_fields, val,
                 want_error="field 'next_transition_time': ")


def test_pit_times_at_the_bound_run_bounded():
    run_case(pit_load_fields, MAX_FIELD_NS)
    run_case(pit_next_fields, MAX_FIELD_NS)


def test_pit_times_with_clock_far_ahead():
    """Clock and PIT both moved: a PIT due long ago, then at the bound."""
    def both(data, val):
        return clock_fields(data, val) + pit_next_fields(data, 1000)
    run_case(both, 1 << 60)
    run_case(both, MAX_NS, ("-rtc", "clock=vm"))


def qtest_lines(path, lines):
    """Sends qtest `lines` to the daemon's qtest socket; each must be OK.
    Returns the last reply."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(path)
    f = s.makefile("rwb")
    for line in lines:
        f.write(line.encode() + b"\n")
        f.flush()
        reply = f.readline().decode().strip()
        check(reply.startswith("OK"), "qtest %r: %r" % (line, reply))
    s.close()
    return reply


def test_serial_deadline_bounded():
    """COM1's receive-FIFO timeout deadline (armed by a looped-back byte)
    set past the bound, or below -1: refused, naming the field. Set 2^60
    ns ahead: accepted, and re-armed from the clock, so the character
    timeout interrupt still comes (IIR 0xcc) a second later."""
    for val, ok in ((MAX_FIELD_NS + 1, False), (INT64_MAX, False),
                    (-2, False), (1 << 60, True)):
        with Dm("-machine", "pc", "-S", "-accel", "qtest", start=False) as dm:
            qt = dm.path("qtest.sock")
            dm.args += ["-qtest", "unix:%s,server=on,wait=off" % qt]
            dm.start()
            wait_for_path(qt, dm.proc)
            q = dm.connect()
            q.cmd_ok("cont")
            # FIFO on, loopback, one byte sent: it lands in the receive
            # FIFO and arms the character-timeout timer
            qtest_lines(qt, ["outb 0x3f9 0x01", "outb 0x3fa 0x01",
                             "outb 0x3fc 0x10", "outb 0x3f8 0x41",
                             "clock_step 2000000"])
            check(qtest_lines(qt, ["inb 0x3fa"]) == "OK 0x00c4",
                  "data ready, no timeout yet")
            q.cmd_ok("stop")
            ref = dm.path("ref.devstate")
            q.cmd_ok("xen-save-devices-state", {"filename": ref})
            data = open(ref, "rb").read()
            key = b"\x19serial/fifo_timeout_timer" + struct.pack(">I", 1)
            at = data.find(key)
            check(at > 0, "the fifo_timeout_timer subsection is saved")
            bad = dm.path("bad.devstate")
            open(bad, "wb").write(patched(data, [(at + len(key), val)]))
            r = q.cmd("xen-load-devices-state", {"filename": bad})
            if ok:
                check(r == {"return": {}}, "%d: refused: %r" % (val, r))
            else:
                desc = r.get("error", {}).get("desc", "")
                check("field 'fifo_timeout_timer': %d out of range -1.." %
                      val in desc, "%d: got %r" % (val, r))
            q.cmd_ok("cont")
            answers_fast(q, "serial deadline %d" % val)
            iir = qtest_lines(qt, ["clock_step 1000000000", "inb 0x3fa"])
            check(iir == "OK 0x00cc", "%d: IIR after 1 s %r" % (val, iir))


if __name__ == "__main__":
    run_tests([test_clock_far_ahead_runs_bounded,
               test_clock_at_the_bound_runs_bounded,
               test_clock_past_the_bound_refused,
               test_pit_times_far_ahead,
               test_pit_times_past_the_bound_refused,
               test_pit_times_at_the_bound_run_bounded,
               test_pit_times_with_clock_far_ahead,
               test_serial_deadline_bounded])
