"""Helpers for lockstep-dm end-to-end tests (python3 stdlib only).

Starts the real build/lockstep-dm in a temporary directory and talks QMP to
it over its sockets. Every test script uses `Dm` as a context manager so the
process and the temp dir are cleaned up even when an assertion fails.
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

BUILD = os.environ.get("LOCKSTEP_BUILD") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build")
DM = os.path.join(BUILD, "lockstep-dm")
TIMEOUT = 10.0


def fail(msg):
    raise AssertionError(msg)


def check(cond, msg):
    if not cond:
        fail(msg)


def cpu_ticks(pid):
    """utime + stime of a process, in clock ticks (/proc/PID/stat)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def wait_for_path(path, proc=None, timeout=TIMEOUT):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if os.path.exists(path):
            return
        if proc is not None and proc.poll() is not None:
            fail("lockstep-dm exited early (%s): %s" %
                 (proc.returncode, proc.stderr.read() if proc.stderr else ""))
        time.sleep(0.005)
    fail("timed out waiting for " + path)


class Qmp:
    """A QMP connection: lines split on \\r\\n, events kept apart."""

    def __init__(self, addr, negotiate=True, family=socket.AF_UNIX):
        # bind() makes the socket file appear just before listen(): a
        # connect in between is refused, so retry briefly.
        end = time.monotonic() + TIMEOUT
        while True:
            self.sock = socket.socket(family, socket.SOCK_STREAM)
            self.sock.settimeout(TIMEOUT)
            try:
                self.sock.connect(addr)
                break
            except ConnectionRefusedError:
                self.sock.close()
                if time.monotonic() > end:
                    raise
                time.sleep(0.005)
        self.buf = b""
        self.events = []
        self.greeting = self.recv()
        check("QMP" in self.greeting, "bad greeting %r" % self.greeting)
        if negotiate:
            check(self.cmd("qmp_capabilities") == {"return": {}},
                  "negotiation failed")

    @classmethod
    def from_socket(cls, sock, negotiate=True):
        self = cls.__new__(cls)
        self.sock = sock
        self.sock.settimeout(TIMEOUT)
        self.buf = b""
        self.events = []
        self.greeting = self.recv()
        if negotiate:
            check(self.cmd("qmp_capabilities") == {"return": {}},
                  "negotiation failed")
        return self

    def recv_line(self):
        while b"\r\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("connection closed")
            self.buf += data
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def recv(self):
        return json.loads(self.recv_line())

    def send_raw(self, data):
        self.sock.sendall(data)

    def send(self, obj, fds=None):
        data = json.dumps(obj).encode() + b"\n"
        if fds:
            socket.send_fds(self.sock, [data], fds)
        else:
            self.sock.sendall(data)

    def reply(self):
        """Next non-event message; events seen on the way are recorded."""
        while True:
            msg = self.recv()
            if "event" in msg:
                self.events.append(msg)
                continue
            return msg

    def cmd(self, name, args=None, fds=None, **extra):
        req = {"execute": name}
        if args is not None:
            req["arguments"] = args
        req.update(extra)
        self.send(req, fds)
        return self.reply()

    def cmd_ok(self, name, args=None, fds=None):
        r = self.cmd(name, args, fds)
        check("return" in r, "%s %r failed: %r" % (name, args, r))
        return r["return"]

    def event_names(self):
        names = [e["event"] for e in self.events]
        self.events = []
        return names

    def status(self):
        return self.cmd_ok("query-status")["status"]

    def close(self):
        self.sock.close()


class Dm:
    """A lockstep-dm process with one QMP unix socket (self.qmp_path)."""

    def __init__(self, *args, qmp=True, start=True, pass_fds=()):
        self.dir = tempfile.mkdtemp(prefix="lsdm-")
        self.qmp_path = self.path("qmp.sock")
        self.args = list(args)
        if qmp:
            self.args += ["-qmp", "unix:%s,server=on,wait=off" % self.qmp_path]
        self.proc = None
        self.pass_fds = pass_fds
        if start:
            self.start()

    def path(self, name):
        return os.path.join(self.dir, name)

    def start(self):
        self.proc = subprocess.Popen([DM] + self.args, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE,
                                     pass_fds=self.pass_fds)
        if self.qmp_path in " ".join(self.args):
            wait_for_path(self.qmp_path, self.proc)

    def connect(self, negotiate=True):
        return Qmp(self.qmp_path, negotiate)

    def alive(self):
        return self.proc.poll() is None

    def wait(self, timeout=TIMEOUT):
        return self.proc.wait(timeout)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        if self.proc:
            for f in (self.proc.stdout, self.proc.stderr):
                if f:
                    f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
        return False


def run_tests(tests):
    """Runs test functions by name; exit status 1 if any failed."""
    failed = 0
    only = sys.argv[1:]
    for name in only:
        if name not in [t.__name__ for t in tests]:
            failed += 1
            print("FAIL %s: no such test" % name)
    for t in tests:
        if only and t.__name__ not in only:
            continue
        try:
            t()
            print("ok   %s" % t.__name__)
        except Exception as e:  # noqa: report and go on
            failed += 1
            print("FAIL %s: %s: %s" % (t.__name__, type(e).__name__, e))
    sys.exit(1 if failed else 0)
