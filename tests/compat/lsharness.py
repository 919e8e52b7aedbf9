"""Test harness for lockstep-dm and QEMU 7.2 driven by qtest + QMP.

Standard library only. Launches a process the way QEMU's libqtest does
(the harness listens on two unix sockets; the process connects out with
`-qtest unix:Q` and `-chardev socket,path=M,id=char0 -mon
chardev=char0,mode=control`), plays qtest lines, talks QMP, and splits
device-state files into sections for byte comparison.

Used by tests/dm/test_*.py, scripts/make-fixtures and scripts/demo.
"""

import json
import os
import select
import shlex
import shutil
import socket
import struct
import subprocess
import tempfile
import time

SRC = os.environ.get("LOCKSTEP_SRC") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("LOCKSTEP_BUILD") or os.path.join(SRC, "build")
SEQ_DIR = os.path.join(SRC, "tests", "compat", "seq")
FIXTURE_DIR = os.path.join(SRC, "tests", "fixtures", "qemu-compat")
TIMEOUT = 20.0


class HarnessError(Exception):
    pass


def dm_binary():
    return os.path.join(BUILD, "lockstep-dm")


def shared_dir():
    return os.path.normpath(os.path.join(SRC, "..", "shared"))


def qemu_command():
    """Debian's QEMU 7.2 with the qtest accelerator module, or None."""
    exe = shutil.which("qemu-system-x86_64")
    mod = os.path.join(shared_dir(), "tools", "qemu-qtest-accel")
    if not exe or not os.path.isdir(mod):
        return None, None
    env = dict(os.environ, QEMU_MODULE_DIR=mod)
    return [exe], env


# ---- sequences ----

def load_seq(path):
    """Returns (extra args, [qtest lines]) of a tests/compat/seq file."""
    args, lines = [], []
    with open(path) as f:
        for i, raw in enumerate(f):
            line = raw.rstrip("\n").rstrip("\r")
            if i == 0 and line.startswith("# args:"):
                args = shlex.split(line[len("# args:"):])
                continue
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            lines.append(stripped)
    return args, lines


def seq_names():
    if not os.path.isdir(SEQ_DIR):
        return []
    return sorted(f[:-6] for f in os.listdir(SEQ_DIR) if f.endswith(".qtest"))


# ---- clients ----

class LineSocket:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def readline(self, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise HarnessError("timeout waiting for a reply line")
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                continue
            chunk = self.sock.recv(65536)
            if not chunk:
                raise HarnessError("connection closed by peer")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode("utf-8", "replace").rstrip("\r")

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class Qtest:
    """qtest client. cmd() returns the list of lines the command produced:
    async IRQ lines first (in arrival order), then the reply line."""

    def __init__(self, sock):
        self.ls = LineSocket(sock)

    def cmd(self, line):
        self.ls.send((line + "\n").encode())
        out = []
        while True:
            r = self.ls.readline()
            out.append(r)
            if not r.startswith("IRQ "):
                return out

    def value(self, line):
        """Sends an in*/clock command and returns the integer in 'OK N'."""
        out = self.cmd(line)
        last = out[-1].split()
        if len(last) != 2 or last[0] != "OK":
            raise HarnessError("%r -> %r" % (line, out))
        return int(last[1], 0)

    def close(self):
        self.ls.close()


class Qmp:
    def __init__(self, sock):
        self.ls = LineSocket(sock)
        self.events = []
        self.greeting = json.loads(self.ls.readline())
        self.execute("qmp_capabilities")

    def execute(self, name, **args):
        """Returns the full reply object ({'return':..} or {'error':..})."""
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.ls.send((json.dumps(msg) + "\r\n").encode())
        while True:
            obj = json.loads(self.ls.readline())
            if "event" in obj:
                self.events.append(obj)
                continue
            return obj

    def ok(self, name, **args):
        r = self.execute(name, **args)
        if "error" in r:
            raise HarnessError("%s failed: %s" % (name, r["error"]))
        return r["return"]

    def close(self):
        self.ls.close()


# ---- processes ----

class Machine:
    """A QEMU or lockstep-dm process with its qtest and QMP connections."""

    def __init__(self, kind, args, workdir=None, qtest=True):
        self.kind = kind
        self.tmp = tempfile.mkdtemp(prefix="ls-%s-" % kind, dir=workdir)
        self.proc = None
        self.qt = None
        self.qmp = None
        self.stderr_path = os.path.join(self.tmp, "stderr")
        try:
            self._start(args, qtest)
        except Exception:
            self.kill()
            raise

    def _listen(self, name):
        path = os.path.join(self.tmp, name)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
        s.listen(1)
        return s, path

    def _command(self, args, qsock, msock):
        if self.kind == "qemu":
            cmd, env = qemu_command()
            if cmd is None:
                raise HarnessError("QEMU 7.2 with the qtest accel not found")
            cmd = cmd + ["-machine", "pc", "-accel", "qtest", "-nodefaults",
                         "-display", "none"]
        else:
            cmd, env = [dm_binary(), "-machine", "pc", "-accel", "qtest",
                        "-nodefaults", "-display", "none"], None
        # a later -machine in args overrides ours, as QEMU's merge does
        cmd += list(args)
        if qsock:
            cmd += ["-qtest", "unix:" + qsock, "-qtest-log", "/dev/null"]
        cmd += ["-chardev", "socket,path=%s,id=char0" % msock,
                "-mon", "chardev=char0,mode=control"]
        return cmd, env

    def _accept(self, listeners):
        """Accepts one connection on each listener, in whatever order."""
        conns = {}
        deadline = time.monotonic() + TIMEOUT
        while len(conns) < len(listeners):
            if self.proc.poll() is not None:
                raise HarnessError("%s exited early (%d): %s" % (
                    self.kind, self.proc.returncode, self.stderr()))
            r, _, _ = select.select(listeners, [], [], 0.1)
            for s in r:
                c, _ = s.accept()
                conns[s] = c
            if time.monotonic() > deadline:
                raise HarnessError("%s did not connect: %s" % (
                    self.kind, self.stderr()))
        return conns

    def _start(self, args, qtest):
        ql, qpath = self._listen("qtest.sock") if qtest else (None, None)
        ml, mpath = self._listen("qmp.sock")
        cmd, env = self._command(args, qpath, mpath)
        self.cmdline = cmd
        err = open(self.stderr_path, "w")
        self.proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL,
                                     stdout=err, stderr=err)
        err.close()
        listeners = [s for s in (ql, ml) if s]
        conns = self._accept(listeners)
        for s in listeners:
            s.close()
        if ql:
            self.qt = Qtest(conns[ql])
        self.qmp = Qmp(conns[ml])

    def stderr(self):
        try:
            with open(self.stderr_path) as f:
                return f.read()[-2000:]
        except OSError:
            return ""

    def play(self, lines):
        """Plays qtest lines; returns a transcript ('> cmd' + outputs)."""
        out = []
        for line in lines:
            out.append("> " + line)
            out.extend(self.qt.cmd(line))
        return out

    def save(self, name="save.devstate"):
        path = os.path.join(self.tmp, name)
        self.qmp.ok("xen-save-devices-state", filename=path, live=False)
        with open(path, "rb") as f:
            return f.read()

    def load(self, data, name="load.devstate"):
        """Returns the QMP reply (so callers can check errors)."""
        path = os.path.join(self.tmp, name)
        with open(path, "wb") as f:
            f.write(data)
        return self.qmp.execute("xen-load-devices-state", filename=path)

    def kill(self):
        for c in (self.qt, self.qmp):
            if c:
                c.close()
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def quit(self):
        try:
            self.qmp.execute("quit")
        except (HarnessError, OSError):
            pass
        self.kill()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()


# ---- device-state files ----

class Section:
    def __init__(self, idstr, instance, version, section_id, payload, offset):
        self.idstr = idstr
        self.instance = instance
        self.version = version
        self.section_id = section_id
        self.payload = payload
        self.offset = offset   # file offset of the payload

    @property
    def key(self):
        return (self.idstr, self.instance)


def _plausible_next(data, n):
    if n == len(data) - 1 and data[n] == 0:
        return True
    if n + 6 >= len(data) or data[n] != 0x04:
        return False
    idlen = data[n + 5]
    end = n + 6 + idlen
    return idlen > 0 and end + 8 <= len(data) and all(
        32 <= b < 127 for b in data[n + 6:end])


def split_devstate(data):
    """Sections of a QEVM v3 stream with section footers (QEMU's default,
    and lockstep's): payloads end at footer 0x7e + be32(section id) when a
    plausible record follows (payload lengths are not self-describing)."""
    if data[:8] != b"QEVM\x00\x00\x00\x03":
        raise HarnessError("not a QEVM v3 stream")
    pos, out = 8, []
    while True:
        if pos >= len(data):
            raise HarnessError("stream ends without EOF")
        if data[pos] == 0:
            return out
        if data[pos] != 0x04:
            raise HarnessError("record type 0x%02x at 0x%x" % (data[pos], pos))
        sid, = struct.unpack(">I", data[pos + 1:pos + 5])
        idlen = data[pos + 5]
        idstr = data[pos + 6:pos + 6 + idlen].decode()
        inst, ver = struct.unpack(">II", data[pos + 6 + idlen:pos + 14 + idlen])
        start = pos + 14 + idlen
        foot = b"\x7e" + struct.pack(">I", sid)
        at = start
        while True:
            i = data.find(foot, at)
            if i < 0:
                raise HarnessError("no footer for section %r" % idstr)
            if _plausible_next(data, i + 5):
                break
            at = i + 1
        out.append(Section(idstr, inst, ver, sid, data[start:i], start))
        pos = i + 5


def subsections(payload, base_len):
    """Splits a payload into (name, offset, bytes) for the base fields and
    each subsection, given the base length; sizes of subsections come from
    the next 0x05 marker with a plausible name (heuristic, as QEMU's loader
    peeks)."""
    parts = [("", 0, payload[:base_len])]
    pos = base_len
    while pos < len(payload):
        if payload[pos] != 0x05:
            parts.append(("?", pos, payload[pos:]))
            break
        nlen = payload[pos + 1]
        name = payload[pos + 2:pos + 2 + nlen].decode("ascii", "replace")
        body = pos + 2 + nlen + 4
        nxt = body
        while nxt < len(payload):
            j = payload.find(b"\x05", nxt)
            if j < 0:
                nxt = len(payload)
                break
            if _plausible_sub(payload, j, name):
                nxt = j
                break
            nxt = j + 1
        parts.append((name, body, payload[body:nxt]))
        pos = nxt
    return parts


def _plausible_sub(payload, j, prev):
    if j + 2 >= len(payload):
        return False
    nlen = payload[j + 1]
    name = payload[j + 2:j + 2 + nlen]
    parent = prev.split("/")[0].encode()
    return nlen > 0 and name.startswith(parent + b"/") and \
        j + 2 + nlen + 4 <= len(payload)
