"""A COLO rig for end-to-end tests and the demo (python3 stdlib only).

Starts real processes in a temporary directory: lockstep-dm instances
(-accel qtest, so the virtual clock moves only when the workload steps
it; COM1 served on a unix socket; qtest served on a unix socket for the
workload; or, with guest=True, a vCPU running the tree's guest program
from build/guest/guest.bin with guest RAM), and `lockstep colo
primary|secondary` sides with control sockets. Talks QMP to the dms and to the control sockets, drives the
workload through qtest as a guest driver would, and compares device state
with `lockstep diff`.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "dm"))
import dmlib  # noqa: E402

BUILD = dmlib.BUILD
DM = dmlib.DM
LOCKSTEP = os.path.join(BUILD, "lockstep")
GUEST = os.path.join(BUILD, "guest", "guest.bin")
GUEST_RAM = "16M"
CHECK_GUEST = os.path.join(HERE, "..", "..", "scripts", "check-guest-output")
TIMEOUT = 10.0
RTC = ["-rtc", "base=2024-02-29T23:59:50,clock=vm"]
# The two "hosts" sit on different loopback addresses: the secondary
# listens on SECONDARY_ADDR, the primary side's connection comes from
# 127.0.0.1 (Linux routes all of 127/8 to lo).
SECONDARY_ADDR = "127.0.0.2"

check = dmlib.check
fail = dmlib.fail

# A guest driver's set-up of the devices: i8259 pair (IRQ 0, 2, 4, 8
# unmasked), i8254 channel 0 at 1 kHz, MC146818 time + alarm + 64 Hz
# periodic, 16550A COM1 115200 8N1 with FIFO and RX interrupts.
DRIVER = [
    "outb 0x20 0x11", "outb 0x21 0x08", "outb 0x21 0x04", "outb 0x21 0x01",
    "outb 0x21 0xea",
    "outb 0xa0 0x11", "outb 0xa1 0x70", "outb 0xa1 0x02", "outb 0xa1 0x01",
    "outb 0xa1 0xfe",
    "outb 0x43 0x34", "outb 0x40 0xa9", "outb 0x40 0x04",
    "outb 0x70 0x0b", "outb 0x71 0x86",
    "outb 0x70 0x00", "outb 0x71 55", "outb 0x70 0x02", "outb 0x71 59",
    "outb 0x70 0x04", "outb 0x71 23", "outb 0x70 0x07", "outb 0x71 29",
    "outb 0x70 0x08", "outb 0x71 2", "outb 0x70 0x09", "outb 0x71 24",
    "outb 0x70 0x01", "outb 0x71 2", "outb 0x70 0x03", "outb 0x71 0",
    "outb 0x70 0x05", "outb 0x71 0",
    "outb 0x70 0x0a", "outb 0x71 0x2a",
    "outb 0x70 0x0b", "outb 0x71 0x66",
    "outb 0x3fb 0x80", "outb 0x3f8 0x01", "outb 0x3f9 0x00",
    "outb 0x3fb 0x03", "outb 0x3fa 0xc7", "outb 0x3f9 0x01",
    "outb 0x3fc 0x0b",
]


def free_port(addr="127.0.0.1"):
    s = socket.socket()
    s.bind((addr, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_until(cond, what, timeout=TIMEOUT):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(0.01)
    fail("timed out waiting for " + what)


class Qtest:
    """A qtest client on the dm's qtest socket."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(TIMEOUT)
        self.sock.connect(path)
        self.buf = b""

    def cmd(self, line):
        self.sock.sendall(line.encode() + b"\n")
        while True:
            while b"\n" not in self.buf:
                data = self.sock.recv(65536)
                if not data:
                    raise EOFError("qtest connection closed")
                self.buf += data
            reply, self.buf = self.buf.split(b"\n", 1)
            reply = reply.decode()
            if not reply.startswith("IRQ"):
                check(reply.startswith("OK"), "qtest %r: %r" % (line, reply))
                return reply

    def play(self, lines):
        for line in lines:
            self.cmd(line)

    def serial_write(self, text):
        """As a polling driver: waits for THRE (LSR bit 5) before each byte
        (while the dm is stopped for a checkpoint, the UART does not
        transmit, and a byte written into a full FIFO would be lost)."""
        for ch in text.encode():
            end = time.monotonic() + TIMEOUT
            while not int(self.cmd("inb 0x3fd").split()[1], 16) & 0x20:
                check(time.monotonic() < end, "COM1 THRE never came back")
            self.cmd("outb 0x3f8 0x%02x" % ch)

    def close(self):
        self.sock.close()


class Proc:
    """A process with its output in files (no pipe can fill up)."""

    def __init__(self, argv, logpath, env=None):
        self.argv = argv
        self.logpath = logpath
        self.log = open(logpath, "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     env=env)

    def alive(self):
        return self.proc.poll() is None

    def kill(self, sig=signal.SIGKILL):
        if self.alive():
            self.proc.send_signal(sig)
        return self.proc.wait(TIMEOUT)

    def wait(self, timeout=TIMEOUT):
        return self.proc.wait(timeout)

    def output(self):
        with open(self.logpath, "rb") as f:
            return f.read().decode("utf-8", "replace")


class DmProc(Proc):
    def __init__(self, rig, name, extra=(), guest=False):
        """guest: run the guest program on a vCPU (-accel tcg, -m
        GUEST_RAM) instead of -accel qtest; no qtest socket then. Both
        start paused (-S)."""
        self.name = name
        self.qmp_path = rig.path(name + "-qmp.sock")
        self.serial_path = rig.path(name + "-com1.sock")
        self.qtest_path = None if guest else rig.path(name + "-qtest.sock")
        argv = [DM, "-S", "-machine", "pc", "-nodefaults",
                "-qmp", "unix:%s,server=on,wait=off" % self.qmp_path,
                "-serial", "unix:%s,server=on,wait=off" % self.serial_path]
        if guest:
            argv += ["-accel", "tcg", "-bios", GUEST, "-m", GUEST_RAM]
        else:
            argv += ["-accel", "qtest", "-qtest",
                     "unix:%s,server=on,wait=off" % self.qtest_path]
        argv += RTC + list(extra)
        super().__init__(argv, rig.path(name + "-dm.log"))
        for p in (self.qmp_path, self.qtest_path, self.serial_path):
            if p:
                dmlib.wait_for_path(p, self.proc)
        self.qmp = dmlib.Qmp(self.qmp_path)
        self.qt = None

    def qtest(self):
        if not self.qt:
            self.qt = Qtest(self.qtest_path)
        return self.qt

    def save(self, path):
        r = self.qmp.cmd("xen-save-devices-state", {"filename": path})
        check("return" in r, "save on %s: %r" % (self.name, r))
        return path

    def status(self):
        return self.qmp.status()


class Side(Proc):
    def __init__(self, rig, role, dm, extra=(), sink=None):
        """sink: the --serial-out file (None: com1-out.txt; False: no
        COM1 handling at all)."""
        self.role = role
        self.ctl_path = rig.path("%s-%s-ctl.sock" % (role, dm.name))
        argv = [LOCKSTEP, "colo", role, "--qmp", "unix:" + dm.qmp_path,
                "--control", "unix:" + self.ctl_path]
        if sink is not False:
            argv += ["--dm-serial", "unix:" + dm.serial_path,
                     "--serial-out", sink or rig.path("com1-out.txt")]
        argv += list(extra)
        argv += [] if any("--tls-" in a for a in extra) else ["--insecure"]
        super().__init__(argv, rig.path("%s-%s.log" % (role, dm.name)))
        self.ctl = None

    def control(self):
        if not self.ctl:
            wait_until(lambda: os.path.exists(self.ctl_path) or
                       not self.alive(), self.ctl_path)
            check(self.alive(), "%s side exited: %s" % (self.role,
                                                        self.output()))
            self.ctl = dmlib.Qmp(self.ctl_path)
        return self.ctl

    def status(self):
        return self.control().cmd_ok("query-colo-status")

    def event(self, name, timeout=TIMEOUT):
        """Waits for event `name` on the control socket; returns it."""
        ctl = self.control()
        end = time.monotonic() + timeout
        while True:
            for i, e in enumerate(ctl.events):
                if e["event"] == name:
                    del ctl.events[i]
                    return e
            left = end - time.monotonic()
            check(left > 0, "no %s event from the %s side; log:\n%s" %
                  (name, self.role, self.output()))
            ctl.sock.settimeout(left)
            try:
                msg = ctl.recv()
            except socket.timeout:
                continue
            finally:
                ctl.sock.settimeout(TIMEOUT)
            if "event" in msg:
                ctl.events.append(msg)


class Rig:
    """Temp dir + every process started, all killed on exit."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="lscolo-")
        self.procs = []
        self.port = free_port(SECONDARY_ADDR)

    def path(self, name):
        return os.path.join(self.dir, name)

    def dm(self, name, extra=(), guest=False):
        d = DmProc(self, name, extra, guest)
        self.procs.append(d)
        return d

    def guest_pair(self, interval_ms=20, pri_extra=(), sec_extra=(),
                   dm_extra=()):
        """The guest under COLO: two guest dms, both sides with output
        commit into com1-out.txt, checkpoints every `interval_ms`; the
        primary dm is resumed once paired. `pri_extra` may be a function
        of the primary's DmProc (to name its pid). Returns (pdm, sdm, pri,
        sec)."""
        pdm = self.dm("p", dm_extra, guest=True)
        sdm = self.dm("s", dm_extra, guest=True)
        if callable(pri_extra):
            pri_extra = pri_extra(pdm)
        # Generous bounds: the first (full) checkpoint saves and loads all
        # 16 MiB, on a machine that may be busy.
        slack = ["--heartbeat-timeout", "3000", "--qmp-timeout", "5000"]
        sec = self.secondary(sdm, slack + list(sec_extra))
        pri = self.primary(pdm, ["--interval", str(interval_ms)] + slack +
                           list(pri_extra))
        r = pdm.qmp.cmd("cont")
        check("return" in r, "cont on the primary dm: %r" % r)
        return pdm, sdm, pri, sec

    def check_guest_output(self, min_ticks=1, name="com1-out.txt"):
        """scripts/check-guest-output on the sink: (ok, its message)."""
        r = subprocess.run([sys.executable, CHECK_GUEST, "--min-ticks",
                            str(min_ticks), self.path(name)],
                           capture_output=True, text=True, timeout=60)
        return r.returncode == 0, (r.stdout + r.stderr).strip()

    def guest_ticks(self, name="com1-out.txt"):
        """The number of the last complete tick line in the sink (0: none)."""
        try:
            data = self.read(name)
        except FileNotFoundError:
            return 0
        lines = data.split(b"\n")[:-1]
        for line in reversed(lines):
            if line.startswith(b"tick "):
                return int(line.split()[1])
        return 0

    def secondary(self, dm, extra=(), sink=None, port=None):
        s = Side(self, "secondary", dm, ["--listen", "%s:%d" % (SECONDARY_ADDR,
                                         port or self.port)] + list(extra),
                 sink)
        self.procs.append(s)
        s.control()
        return s

    def primary(self, dm, extra=(), sink=None, port=None, wait_paired=True):
        p = Side(self, "primary", dm, ["--peer", "%s:%d" % (SECONDARY_ADDR,
                                       port or self.port)] + list(extra),
                 sink)
        self.procs.append(p)
        if wait_paired:
            wait_until(lambda: p.status()["state"] == "protected",
                       "the primary side paired")
        return p

    def diff(self, a, b):
        r = subprocess.run([LOCKSTEP, "diff", a, b], capture_output=True,
                           text=True, timeout=60)
        return r.returncode, r.stdout + r.stderr

    def read(self, name):
        with open(self.path(name), "rb") as f:
            return f.read()

    def __enter__(self):
        return self

    def stop_sides(self):
        """SIGTERM to every coordinator side still running: each must exit
        0 (under ASan this also checks the exit path for leaks)."""
        bad = []
        for p in self.procs:
            if isinstance(p, Side) and p.alive():
                rc = p.kill(signal.SIGTERM)
                if rc != 0:
                    bad.append("%s side exited %d on SIGTERM:\n%s" %
                               (p.role, rc, p.output()[-3000:]))
        check(not bad, "\n".join(bad))

    def __exit__(self, *exc):
        if exc[0] is None:
            self.stop_sides()
        for p in reversed(self.procs):
            try:
                p.kill()
            except Exception:  # noqa: cleanup goes on
                pass
            p.log.close()
        if exc[0] is None or not os.environ.get("LOCKSTEP_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)
        else:
            print("kept " + self.dir)
        return False


def checkpoint(primary):
    """Requests a checkpoint on the primary's control socket and waits
    until it is confirmed; returns its epoch."""
    epoch = primary.control().cmd_ok("checkpoint")["epoch"]
    wait_until(lambda: primary.status()["last-complete-epoch"] >= epoch,
               "checkpoint %d confirmed" % epoch)
    return epoch
