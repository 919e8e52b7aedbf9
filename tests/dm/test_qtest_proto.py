#!/usr/bin/env python3
"""qtest endpoint of the real lockstep-dm, over its sockets.

- libqtest's way (the harness listens, -qtest unix:PATH connects out):
  QEMU's reply formats, async IRQ lines before the reply, errors.
- -qtest unix:PATH,server=on,wait=off: the daemon listens; a client can
  connect, leave, and a new one connect again.
- -qtest-log PATH records received and sent lines.
- A line over DM_QTEST_MAX_LINE gets one FAIL and the connection stays
  usable.
A lockstep-dm that does not start is a failure, as any other.
"""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "compat"))
import lsharness as H  # noqa: E402

MAX_LINE = 4096
failures = []


def check(what, got, want):
    if got != want:
        failures.append("%s: got %r, want %r" % (what, got, want))


def test_connect_out():
    with H.Machine("dm", []) as m:
        q = m.qt
        check("inb unmapped", q.cmd("inb 0x1234"), ["OK 0x00ff"])
        check("inl unmapped", q.cmd("inl 0x1234"), ["OK 0xffffffff"])
        check("endianness", q.cmd("endianness"), ["OK little"])
        check("unknown", q.cmd("frobnicate 1"),
              ["FAIL Unknown command 'frobnicate'"])
        check("intercept other", q.cmd("irq_intercept_in i8259"),
              ["FAIL Unknown device"])
        check("intercept", q.cmd("irq_intercept_in ioapic"), ["OK"])
        check("pit mode 2", [q.cmd(l) for l in (
            "outb 0x43 0x34", "outb 0x40 0x10", "outb 0x40 0x00")],
            [["OK"]] * 3)
        out = q.cmd("clock_step 100000")
        check("IRQ lines precede the reply", out[-1], "OK 100000")
        check("IRQ 0 pulses reported", out[0], "IRQ raise 0")
        check("long line", q.cmd("x" * (MAX_LINE + 100)),
              ["FAIL line longer than %d bytes" % MAX_LINE])
        check("usable after long line", q.cmd("endianness"), ["OK little"])


def connect(path):
    deadline = time.monotonic() + H.TIMEOUT
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            return H.Qtest(s)
        except OSError:
            s.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_server_and_log():
    work = H.tempfile.mkdtemp(prefix="ls-qtest-")
    sock, log = os.path.join(work, "q.sock"), os.path.join(work, "q.log")
    args = ["-qtest", "unix:%s,server=on,wait=off" % sock, "-qtest-log", log]
    with H.Machine("dm", args, qtest=False) as m:
        q = connect(sock)
        check("server inb", q.cmd("inb 0x21"), ["OK 0x0000"])
        q.close()
        q = connect(sock)
        check("second client", q.cmd("outb 0x21 0x5a"), ["OK"])
        check("state kept", q.cmd("inb 0x21"), ["OK 0x005a"])
        q.close()
        m.quit()
    with open(log) as f:
        text = f.read()
    for want in ("] inb 0x21", "] OK 0x005a", "] OPENED", "] CLOSED"):
        if want not in text:
            failures.append("log lacks %r" % want)
    H.shutil.rmtree(work, ignore_errors=True)


def main():
    for t in (test_connect_out, test_server_and_log):
        try:
            t()
        except (H.HarnessError, OSError) as e:
            failures.append("%s: %s" % (t.__name__, e))
    for f in failures:
        print("FAIL " + f)
    print("%s qtest protocol over sockets" % ("FAIL" if failures else "ok"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
