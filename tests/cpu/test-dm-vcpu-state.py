"""The vCPU's state in lockstep-dm's device state (-accel tcg): a guest
stopped midway, saved (devices and RAM) and loaded into a second daemon
goes on there exactly as it goes on in the first; a corrupted cpu section
is refused with the field and the reason, and changes nothing; -accel
qtest saves no cpu sections."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "dm"))
from dmlib import Dm, check, run_tests  # noqa: E402

BIOS_DIR = os.environ.get("LOCKSTEP_TEST_BIOS_DIR", "")
COUNT = os.path.join(BIOS_DIR, "bios-count100.bin")
# bios-count100 prints 100 counts of 5 bytes, then a newline, and halts
# with interrupts off: its end is the same instruction in every run.
COUNT_LEN = 100 * 5 + 1
ARGS = ["-accel", "tcg", "-bios", COUNT, "-m", "1", "-icount", "shift=0",
        "-rtc", "base=2020-01-01T00:00:00,clock=vm"]


def count_dm():
    """A daemon in prelaunch with bios-count100, COM1 into a file."""
    d = Dm(start=False)
    d.com1 = d.path("com1")
    d.args = ["-nodefaults", "-S", "-serial", "file:" + d.com1] + ARGS + \
        d.args
    d.start()
    return d


def com1(dm):
    with open(dm.com1, "rb") as f:
        return f.read()


def wait_com1(dm, cond, timeout=60.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        out = com1(dm)
        if cond(out):
            return out
        time.sleep(0.005)
    return com1(dm)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def diff(x, y):
    """lockstep diff's account of two device-state files."""
    tool = os.path.join(os.environ.get("LOCKSTEP_BUILD", ""), "lockstep")
    r = subprocess.run([tool, "diff", x, y], capture_output=True, text=True)
    return r.stdout + r.stderr


def save(dm, q, name):
    """Device state and all of RAM: their paths."""
    dev, ram = dm.path(name + ".dev"), dm.path(name + ".ram")
    q.cmd_ok("xen-save-devices-state", {"filename": dev})
    q.cmd_ok("x-lockstep-save-ram", {"filename": ram})
    return dev, ram


def test_transfer_continues():
    """A runs to somewhere in its third count or later, stops, saves; B,
    stopped in its first count, loads that and both run to the guest's
    end (under -icount the same instructions): B prints exactly what A
    printed after the save, and the two end in the same device state and
    RAM."""
    with count_dm() as a, count_dm() as b:
        qa, qb = a.connect(), b.connect()
        qb.cmd_ok("cont")
        wait_com1(b, lambda o: len(o) >= 5)
        qb.cmd_ok("stop")
        b_before = com1(b)
        qa.cmd_ok("cont")
        wait_com1(a, lambda o: len(o) >= 15)
        qa.cmd_ok("stop")
        prefix = com1(a)
        check(15 <= len(prefix) < COUNT_LEN - 100,
              "A stopped at %d bytes of output" % len(prefix))
        dev, ram = save(a, qa, "mid")
        qb.cmd_ok("x-lockstep-load-checkpoint", {"devices": dev, "ram": ram})
        b_in = save(b, qb, "in")[0]
        check(read(b_in) == read(dev), "B differs: %s" % diff(dev, b_in))
        qa.cmd_ok("cont")
        qb.cmd_ok("cont")
        out_a = wait_com1(a, lambda o: len(o) >= COUNT_LEN)
        out_b = wait_com1(b, lambda o: len(o) >= len(b_before) + COUNT_LEN -
                          len(prefix))[len(b_before):]
        check(len(out_a) == COUNT_LEN and out_a.endswith(b"\n"),
              "A printed %r" % out_a)
        check(out_a == prefix + out_b,
              "B's output is not A's continuation:\n%r\n%r" % (out_a, out_b))
        qa.cmd_ok("stop")
        qb.cmd_ok("stop")
        end_a, end_b = save(a, qa, "end"), save(b, qb, "end")
        check(read(end_a[0]) == read(end_b[0]),
              "device states differ: %s" % diff(end_a[0], end_b[0]))
        check(read(end_a[1]) == read(end_b[1]), "RAM differs")
        # the guest's own state made it across: it halted, IF clear
        check(read(end_a[0]) != read(dev), "A's state did not move")


def corrupt_cpu(data, field_offset, value):
    """data with the byte at field_offset (from the cpu section's first
    payload byte) replaced."""
    i = data.find(b"\x03cpu\x00\x00\x00\x00\x00\x00\x00\x0c")
    check(i > 0, "no cpu section header")
    payload = i + 12
    return data[:payload + field_offset] + bytes([value]) + \
        data[payload + field_offset + 1:]


# Offsets in the cpu payload (QEMU 7.2's layout, docs/cpu-state.md).
CR0_LOW = 0x1c8 + 7
SEGS_CS_BASE_LOW = 0x104 + 7


def test_corrupt_cpu_rejected():
    """Protected mode, or a real-mode CS whose base is not its selector
    times 16: the load names the field and why, and B is unchanged."""
    with count_dm() as a, count_dm() as b:
        qa, qb = a.connect(), b.connect()
        qa.cmd_ok("cont")
        wait_com1(a, lambda o: len(o) >= 5)
        qa.cmd_ok("stop")
        dev, ram = save(a, qa, "a")
        before = read(save(b, qb, "b0")[0])
        cases = [(CR0_LOW, 0x11, "field 'env.cr[0]': 0x60000011: protected "
                  "mode "
                  "(PE) is not supported by this vCPU (real mode only)"),
                 (SEGS_CS_BASE_LOW, 0x01, "field 'env.segs[1]': selector "
                  "0xf000 base 0xf0001: a real-mode segment's base is its "
                  "selector times 16")]
        for off, val, want in cases:
            bad = b.path("bad.dev")
            with open(bad, "wb") as f:
                f.write(corrupt_cpu(read(dev), off, val))
            for cmd, args in (("xen-load-devices-state", {"filename": bad}),
                              ("x-lockstep-load-checkpoint",
                               {"devices": bad, "ram": ram})):
                rep = qb.cmd(cmd, args)
                msg = rep.get("error", {}).get("desc", "")
                check("section 'cpu' instance 0" in msg and want in msg,
                      "%s: %r" % (cmd, rep))
                check(read(save(b, qb, "b1")[0]) == before, "B changed")


def test_qtest_has_no_cpu():
    """-accel qtest runs no vCPU: no cpu sections, as before."""
    with Dm("-nodefaults", "-S", "-accel", "qtest") as d:
        q = d.connect()
        q.cmd_ok("xen-save-devices-state", {"filename": d.path("s")})
        data = read(d.path("s"))
        check(b"cpu_common" not in data and b"\x03cpu\x00" not in data,
              "cpu sections under qtest")


if __name__ == "__main__":
    run_tests([test_transfer_continues, test_corrupt_cpu_rejected,
               test_qtest_has_no_cpu])
