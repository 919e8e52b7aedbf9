#!/usr/bin/env python3
"""Tests scripts/check-guest-output, the checker of the guest's COM1 stream
that the end-to-end COLO tests and `make demo` use.

The good streams come from a model of the guest written here independently
of the checker's shortcut (it keeps the whole 256 KiB buffer and adds all
of it after every step); a capture from QEMU 7.2 running the real guest
ties both to the program. Each bad stream (gap, repeat, reorder, wrong sum,
bad framing) must be rejected with the reason named."""
import array
import os
import subprocess
import sys
import unittest

SRC = os.environ.get("LOCKSTEP_SRC",
                     os.path.join(os.path.dirname(__file__), "..", ".."))
CHECKER = os.path.join(SRC, "scripts", "check-guest-output")
QEMU_CAPTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                            "qemu-7.2-shift3.out")
MASK = 0xFFFFFFFF
STEPS = 150                 # more than two passes over the 64 pages


def xorshift_words(seed, count):
    x, out = seed, []
    for _ in range(count):
        x ^= (x << 13) & MASK
        x ^= x >> 17
        x ^= (x << 5) & MASK
        out.append(x)
    return out


def model_stream(steps, lose_step=None):
    """The guest as guest.S does it: fill, then step m rewrites page
    (m - 1) mod 64, updates its running sum by the page's old and new
    words, and prints it. With lose_step, that step's page write is undone
    after its line is printed, as a checkpoint that lost the page would."""
    buf = array.array("I", bytes(4 * 65536))
    assert buf.itemsize == 4

    def write_page(m, q):
        seed = ((m * 0x9E3779B1) ^ (q * 0x85EBCA77)) & MASK
        old = buf[q * 1024:(q + 1) * 1024]
        buf[q * 1024:(q + 1) * 1024] = array.array(
            "I", xorshift_words(seed, 1024))
        return old, sum(buf[q * 1024:(q + 1) * 1024]) - sum(old)

    for q in range(64):
        write_page(0, q)
    running = sum(buf) & MASK
    lines = [b"rtc 12:34:56\r\n"]
    for m in range(1, steps + 1):
        q = (m - 1) % 64
        old, delta = write_page(m, q)
        running = (running + delta) & MASK
        if lose_step is None:
            assert running == sum(buf) & MASK
        lines.append(b"tick %d sum %08x\r\n" % (m, running))
        if m == lose_step:
            buf[q * 1024:(q + 1) * 1024] = old
    return lines


def run(data, *args):
    p = subprocess.run([sys.executable, CHECKER, *args], input=data,
                       capture_output=True, timeout=120)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


class GuestCheck(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.lines = model_stream(STEPS)
        cls.good = b"".join(cls.lines)

    def assertRejected(self, data, reason, *args):
        rc, out, err = run(data, *args)
        self.assertEqual(rc, 1, "accepted: %r" % out)
        self.assertIn(reason, err)

    def test_xorshift32_reference(self):
        # Marsaglia's xorshift32 (13, 17, 5) from seed 1: 270369 first.
        self.assertEqual(xorshift_words(1, 1), [270369])

    def test_model_stream_accepted(self):
        rc, out, err = run(self.good)
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(out, "ok: rtc 12:34:56, ticks 1..%d\n" % STEPS)

    def test_qemu_capture_accepted(self):
        with open(QEMU_CAPTURE, "rb") as f:
            data = f.read()
        rc, out, err = run(data)
        self.assertEqual((rc, err), (0, ""))
        self.assertRegex(out, r"^ok: rtc \d\d:\d\d:\d\d, ticks 1\.\.\d{3}")

    def test_cut_mid_line_accepted(self):
        rc, out, _ = run(self.good[:-7])
        self.assertEqual(rc, 0)
        self.assertIn("ticks 1..%d, cut-off last line" % (STEPS - 1), out)
        # The rtc line must be complete; tick lines: at least --min-ticks.
        self.assertRejected(b"rtc 1", "no complete 'rtc HH:MM:SS' line",
                            "--min-ticks", "0")
        self.assertRejected(self.lines[0] + b"tick 1 s",
                            "0 tick lines, at least 1 wanted")
        rc, out, _ = run(self.lines[0] + b"tick 1 s", "--min-ticks", "0")
        self.assertEqual((rc, out), (0, "ok: rtc 12:34:56, no tick line, "
                                        "cut-off last line\n"))

    def test_bad_cut_off_line(self):
        bad = self.good + self.lines[1][:9]      # "tick 1 su" after 150
        self.assertRejected(bad, "line %d: cut-off last line" % (STEPS + 2))
        self.assertRejected(b"rtc x", "cut-off last line")

    def test_gap(self):
        bad = b"".join(self.lines[:5] + self.lines[6:])
        self.assertRejected(bad, "line 6: gap: tick 6 follows tick 4 "
                                 "(missing 5)")
        bad = b"".join(self.lines[:5] + self.lines[9:])
        self.assertRejected(bad, "(missing 5..8)")
        self.assertRejected(b"".join(self.lines[:1] + self.lines[2:]),
                            "line 2: gap: tick 2 follows tick 0")

    def test_repeat(self):
        bad = b"".join(self.lines[:71] + self.lines[70:])
        self.assertRejected(bad, "line 72: repeat or reorder: tick 70 "
                                 "follows tick 70")

    def test_reorder(self):
        ls = list(self.lines)
        ls[20], ls[21] = ls[21], ls[20]
        self.assertRejected(b"".join(ls), "line 21: gap: tick 21 follows "
                                          "tick 19")

    def test_wrong_sum(self):
        for n in (1, 64, 65, 129, STEPS):
            ls = list(self.lines)
            line = bytearray(ls[n])
            line[-3] = ord("0") if line[-3] != ord("0") else ord("1")
            ls[n] = bytes(line)
            self.assertRejected(b"".join(ls), "line %d: tick %d: sum"
                                % (n + 1, n))

    def test_lost_page_shows(self):
        # Step 40's page reverts after its line: lines up to 103 still hold
        # (the guest has not read that page again), tick 104 rereads it.
        bad = model_stream(STEPS, lose_step=40)
        self.assertEqual(bad[:104], self.lines[:104])
        self.assertRejected(b"".join(bad), "line 105: tick 104: sum")

    def test_framing(self):
        self.assertRejected(b"", "no complete 'rtc HH:MM:SS' line")
        self.assertRejected(b"".join(self.lines[1:]), "line 1: expected "
                                                      "'rtc HH:MM:SS'")
        self.assertRejected(b"rtc 24:00:00\r\n" + b"".join(self.lines[1:]),
                            "rtc time out of range")
        self.assertRejected(self.good.replace(b"\r\n", b"\n", 3),
                            "line 1: ends in \\n without \\r")
        self.assertRejected(self.lines[0] + b"x" * 100, "line 2: longer than")
        self.assertRejected(self.lines[0] + b"tick 01 sum 00000000\r\n",
                            "line 2: expected 'tick 1 sum XXXXXXXX'")
        self.assertRejected(self.good.upper(), "expected 'rtc HH:MM:SS'")

    def test_min_ticks(self):
        self.assertRejected(self.good, "%d tick lines, at least %d wanted"
                            % (STEPS, STEPS + 1), "--min-ticks",
                            str(STEPS + 1))
        rc, _, _ = run(self.good, "--min-ticks", str(STEPS))
        self.assertEqual(rc, 0)
        rc, _, err = run(self.good, "--min-ticks", "x")
        self.assertEqual(rc, 2)


if __name__ == "__main__":
    unittest.main()
