"""lockstep-dm with a vCPU (-accel tcg -bios FILE): real processes, test
BIOS images assembled from tests/cpu/bios-*.s."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "dm"))
from dmlib import Dm, check, run_tests  # noqa: E402

BIOS_DIR = os.environ.get("LOCKSTEP_TEST_BIOS_DIR", "")


def bios(name):
    return os.path.join(BIOS_DIR, "bios-%s.bin" % name)


def wait_file(path, want, timeout=10.0):
    end = time.monotonic() + timeout
    data = b""
    while time.monotonic() < end:
        if os.path.exists(path):
            with open(path, "rb") as f:
                data = f.read()
            if len(data) >= len(want):
                break
        time.sleep(0.01)
    return data


def vcpu_dm(name, *extra):
    """A started daemon running bios-NAME, COM1 into its own file."""
    d = Dm(start=False)
    d.com1 = d.path("com1")
    d.args = ["-nodefaults", "-accel", "tcg", "-bios", bios(name),
              "-serial", "file:" + d.com1] + list(extra) + d.args
    d.start()
    return d


HELLO = b"hello from F000:FFF0\n"


def test_hello():
    """The BIOS runs from the reset vector; its `out`s reach COM1."""
    with vcpu_dm("hello") as dm:
        data = wait_file(dm.com1, HELLO)
        check(data == HELLO, "COM1 got %r" % data)
        q = dm.connect()
        check(q.status() == "running", "not running")


def test_prelaunch_waits():
    """-S: the vCPU does not run until cont; system_reset runs it again."""
    with vcpu_dm("hello", "-S") as dm:
        q = dm.connect()
        time.sleep(0.2)
        with open(dm.com1, "rb") as f:
            check(f.read() == b"", "ran in prelaunch")
        q.cmd_ok("cont")
        data = wait_file(dm.com1, HELLO)
        check(data == HELLO, "COM1 got %r" % data)
        q.cmd_ok("system_reset")
        data = wait_file(dm.com1, HELLO * 2)
        check(data == HELLO * 2, "after reset COM1 got %r" % data)


def test_timer_and_resets():
    """PIT interrupts wake the vCPU from hlt; port 92 and then the i8042
    reset the machine (RAM survives, so the guest counts its boots), each
    a RESET event from the guest."""
    want = b"B1ttttt\nB2ttttt\nB3\n"
    with vcpu_dm("tick", "-m", "1", "-S") as dm:
        q = dm.connect()
        q.cmd_ok("cont")
        data = wait_file(dm.com1, want)
        check(data == want, "COM1 got %r" % data)
        q.cmd_ok("query-status")
        resets = [e for e in q.events if e["event"] == "RESET"]
        check([e["data"] for e in resets] ==
              [{"guest": True, "reason": "guest-reset"}] * 2,
              "RESET events %r" % resets)


def size(path):
    return os.path.getsize(path) if os.path.exists(path) else 0


def test_stop_and_liveness():
    """A vCPU that never halts leaves QMP answering (a generous bound),
    and `stop` stops it: COM1 stops growing until `cont`."""
    with vcpu_dm("spin") as dm:
        q = dm.connect()
        wait_file(dm.com1, b"...")
        check(size(dm.com1) >= 3, "the guest does not run")
        for _ in range(20):
            t0 = time.monotonic()
            q.cmd_ok("query-status")
            check(time.monotonic() - t0 < 0.5, "QMP starved by the vCPU")
        q.cmd_ok("stop")
        before = size(dm.com1)
        time.sleep(0.3)
        check(size(dm.com1) == before, "the vCPU ran while stopped")
        q.cmd_ok("cont")
        end = time.monotonic() + 10
        while size(dm.com1) == before and time.monotonic() < end:
            time.sleep(0.01)
        check(size(dm.com1) > before, "the vCPU did not resume")


def count_run(*extra):
    """bios-count to its end; COM1 text and the saved device state. The
    RTC follows the virtual clock from a fixed date: the same inputs."""
    with vcpu_dm("count", "-S", "-rtc", "base=2020-01-01T00:00:00,clock=vm",
                 *extra) as dm:
        q = dm.connect()
        q.cmd_ok("cont")
        end = time.monotonic() + 20
        while time.monotonic() < end:
            with open(dm.com1, "rb") as f:
                out = f.read()
            if out.endswith(b"\n"):
                break
            time.sleep(0.01)
        check(out.endswith(b"\n") and len(out) == 51, "COM1 got %r" % out)
        q.cmd_ok("stop")
        q.cmd_ok("xen-save-devices-state", {"filename": dm.path("state")})
        with open(dm.path("state"), "rb") as f:
            return out, f.read()


def test_icount_deterministic():
    """-icount shift=N: two runs give the same output and the same saved
    state; another shift gives other counts."""
    out1, st1 = count_run("-icount", "shift=3")
    out2, st2 = count_run("-icount", "3")
    check(out1 == out2, "outputs differ:\n%r\n%r" % (out1, out2))
    check(st1 == st2, "saved states differ")
    out3, _ = count_run("-icount", "shift=4")
    check(out3 != out1, "shift changes nothing: %r" % out3)


def test_icount_option():
    """QEMU's spelling, and its bounds."""
    for bad in ("shift=11", "auto", "shift=x", "shift=3,align=on"):
        with Dm("-nodefaults", "-icount", bad, qmp=False) as d:
            check(d.wait() == 1, "-icount %s accepted" % bad)


def test_dirty_log():
    """xen-set-global-dirty-log sees exactly the pages the guest wrote
    (bios-dirty: 6 pages), and a dirty RAM save carries them."""
    with vcpu_dm("dirty", "-S") as dm:
        q = dm.connect()
        q.cmd_ok("xen-set-global-dirty-log", {"enable": True})
        q.cmd_ok("cont")
        check(wait_file(dm.com1, b"D") == b"D", "the guest did not finish")
        ram = q.cmd_ok("x-lockstep-query-ram")
        check(ram["dirty-log"] and ram["dirty-pages"] == 6,
              "dirty log %r" % ram)
        saved = q.cmd_ok("x-lockstep-save-ram",
                         {"filename": dm.path("ram"), "dirty": True})
        check(saved["pages"] == 6, "dirty save %r" % saved)


# Debian's QEMU 7.2, `qemu-system-x86_64 -machine pc -accel tcg -nodefaults
# -display none -S`, thread-id aside (a host thread id).
QEMU_CPUS_FAST = ('{"return": [{"thread-id": %d, "props": {"core-id": 0, '
                  '"thread-id": 0, "socket-id": 0}, "qom-path": '
                  '"/machine/unattached/device[0]", "cpu-index": 0, '
                  '"target": "x86_64"}]}')


def test_query_cpus_fast():
    """QEMU 7.2's answer, byte for byte; none without a vCPU."""
    with vcpu_dm("hello", "-S") as dm:
        q = dm.connect()
        q.send({"execute": "query-cpus-fast"})
        line = q.recv_line()
        check(line == (QEMU_CPUS_FAST % dm.proc.pid).encode(),
              "query-cpus-fast: %r" % line)
    with Dm("-S", "-nodefaults") as dm:
        q = dm.connect()
        check(q.cmd_ok("query-cpus-fast") == [], "cpus without a vCPU")


GUEST = os.path.join(os.environ.get("LOCKSTEP_BUILD", ""), "guest",
                     "guest.bin")


def guest_lines(n):
    """The tree's guest program (guest/) under -icount: its first n
    tick lines."""
    d = Dm(start=False)
    with d:
        com1 = d.path("com1")
        d.args = ["-nodefaults", "-accel", "tcg", "-bios", GUEST,
                  "-icount", "shift=5", "-rtc",
                  "base=2020-01-01T00:00:00,clock=vm",
                  "-serial", "file:" + com1] + d.args
        d.start()
        end = time.monotonic() + 20
        lines = []
        while time.monotonic() < end and len(lines) < n + 1:
            time.sleep(0.05)
            with open(com1, "rb") as f:
                lines = f.read().split(b"\r\n")[:-1]
        return lines[:n + 1]


def test_guest_program():
    """guest/guest.bin runs: an rtc line, then tick lines numbered 1, 2,
    ... in order; and under -icount two runs print the same bytes."""
    a = guest_lines(20)
    check(len(a) == 21 and a[0] == b"rtc 00:00:00", "guest printed %r" % a)
    for i, line in enumerate(a[1:], 1):
        check(line.startswith(b"tick %d sum " % i), "line %d: %r" % (i, line))
    check(guest_lines(20) == a, "two -icount runs differ")


def test_bad_bios():
    """A BIOS of a wrong size is refused at start, with the reason."""
    with Dm("-nodefaults", qmp=False, start=False) as d:
        img = d.path("bad.bin")
        with open(img, "wb") as f:
            f.write(b"\x90" * 4096)
        d.args = ["-nodefaults", "-accel", "tcg", "-bios", img]
        d.start()
        check(d.wait() == 1, "started with a bad BIOS")
        err = d.proc.stderr.read().decode()
        check("could not load PC BIOS" in err and
              "multiple of 65536" in err, "stderr %r" % err)
        d2 = Dm("-nodefaults", "-accel", "tcg", "-bios", d.path("none.bin"),
                qmp=False)
        with d2:
            check(d2.wait() == 1, "started without a BIOS file")
            err = d2.proc.stderr.read().decode()
            check("could not load PC BIOS" in err and
                  "No such file" in err, "stderr %r" % err)


if __name__ == "__main__":
    run_tests([test_hello, test_prelaunch_waits, test_timer_and_resets,
               test_stop_and_liveness, test_icount_deterministic,
               test_icount_option, test_dirty_log, test_query_cpus_fast,
               test_guest_program, test_bad_bios])
