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


def dm_usable():
    """True when lockstep-dm is built and starts (-version exits 0). For
    scripts/demo's message only: tests start the daemon and fail when it
    does not start."""
    try:
        return subprocess.run([dm_binary(), "-version"], capture_output=True,
                              timeout=10).returncode == 0
    except OSError:
        return False


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

    def __init__(self, kind, args, workdir=None, qtest=True, machine="pc"):
        self.kind = kind
        self.machine = machine
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
            cmd = cmd + ["-machine", self.machine]
        else:
            # As QEMU's libqtest launches a machine, -audio none included.
            cmd, env = [dm_binary(), "-machine", self.machine, "-audio",
                        "none"], None
        cmd += ["-accel", "qtest", "-nodefaults", "-display", "none"]
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
                raise HarnessError("%s did not start: it exited with status "
                                   "%d: %s" % (self.program(),
                                               self.proc.returncode,
                                               self.stderr()))
            r, _, _ = select.select(listeners, [], [], 0.1)
            for s in r:
                c, _ = s.accept()
                conns[s] = c
            if time.monotonic() > deadline:
                raise HarnessError("%s did not start: no connection in "
                                   "%g s: %s" % (self.program(), TIMEOUT,
                                                 self.stderr()))
        return conns

    def program(self):
        return "QEMU" if self.kind == "qemu" else dm_binary()

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


# ---- the read-back sequence (played after a save, or after a load) ----

def readback_lines(args):
    """Reads back the guest-visible registers of every modelled device and
    lets time run on, so that two machines in the same state answer the
    same. RTC time registers are read only with a deterministic RTC."""
    deterministic_rtc = any("clock=vm" in a for a in args)
    out = ["inb 0x21", "inb 0xa1"]
    for base in (0x20, 0xa0):
        out += ["outb 0x%x 0x0a" % base, "inb 0x%x" % base,
                "outb 0x%x 0x0b" % base, "inb 0x%x" % base]
    out += ["inb 0x4d0", "inb 0x4d1", "inb 0x61"]
    for ch in range(3):   # read-back: latch status and count
        out += ["outb 0x43 0x%02x" % (0xc0 | (2 << ch))]
        out += ["inb 0x%x" % (0x40 + ch)] * 3
    regs = range(0x0e) if deterministic_rtc else (0x0b, 0x0d)
    for r in list(regs) + [0x0e, 0x0f, 0x10, 0x14, 0x32, 0x34, 0x35, 0x3d]:
        out += ["outb 0x70 0x%02x" % r, "inb 0x71"]
    for base in (0x3f8, 0x2f8, 0x3e8, 0x2e8):
        out += ["inb 0x%x" % (base + off) for off in (1, 2, 3, 4, 5, 6, 7)]
    # REG_C's update flag follows the RTC's own clock: with a host-clock
    # RTC a loaded file's update deadline lies in the past (the fixture was
    # recorded earlier), so the flag is only compared on the virtual clock.
    late_rtc = 0x0c if deterministic_rtc else 0x0d
    out += ["inb 0x64", "inb 0x92", "clock_step 2000000", "inb 0x21",
            "outb 0x20 0x0a", "inb 0x20", "inb 0x3fd", "inb 0x64",
            "outb 0x70 0x%02x" % late_rtc, "inb 0x71", "clock_step 3000000"]
    return out


def replies_only(transcript):
    """The reply lines of a transcript, without IRQ lines or commands."""
    return [l for l in transcript
            if not l.startswith("> ") and not l.startswith("IRQ ")]


def last_clock(transcript):
    """Virtual time after the last clock command of a transcript (0 if
    none), i.e. the machine's time at the end of it."""
    t, pending = 0, False
    for l in transcript:
        if l.startswith("> "):
            pending = l[2:].startswith("clock_")
        elif pending and l.startswith("OK "):
            t = int(l.split()[1])
    return t


def with_clock(data, now_ns):
    """The stream with its `timer` section holding virtual time `now_ns`
    as a paused machine saves it (cpu_clock_offset). QEMU's qtest-accel
    saves host offsets there, meaningless to another process."""
    for sec in split_devstate(data):
        if sec.idstr == "timer" and len(sec.payload) == 24:
            new = struct.pack(">q8sq", 0, b"\0" * 8, now_ns)
            return data[:sec.offset] + new + data[sec.offset + 24:]
    return data


# ---- section comparison ----

MODELLED = ("i8259", "mc146818rtc", "i8254", "pcspk", "serial", "ps2kbd",
            "ps2mouse", "pckbd", "port92", "globalstate", "timer")

SERIAL_BASE = [("divider", 2), ("rbr", 1), ("ier", 1), ("iir", 1),
               ("lcr", 1), ("mcr", 1), ("lsr", 1), ("msr", 1), ("scr", 1),
               ("fcr_vmstate", 1)]
FIFO_SUBS = ("serial/recv_fifo", "serial/xmit_fifo")


def _vmdesc_layouts():
    path = os.path.join(shared_dir(), "reference", "qemu-7.2",
                        "vmdesc-pc.json")
    try:
        with open(path) as f:
            devs = json.load(f)["devices"]
    except (OSError, ValueError, KeyError):
        return {}
    return {d["name"]: d for d in devs}


def _flatten(fields, prefix=""):
    out = []
    for fd in fields:
        name = prefix + fd["name"]
        n = fd.get("array_len", 1)
        st = fd.get("struct")
        for i in range(n):
            nm = name if n == 1 else "%s[%d]" % (name, i)
            if st and not st.get("subsections"):
                out += _flatten(st["fields"], nm + ".")
            else:
                out.append((nm, fd["size"]))
    return out


_LAYOUTS = None


def field_at(idstr, payload, off):
    """Best-effort name of the field at payload offset `off`."""
    global _LAYOUTS
    if _LAYOUTS is None:
        _LAYOUTS = _vmdesc_layouts()
    if idstr == "serial":
        flat = SERIAL_BASE
    elif idstr in _LAYOUTS:
        flat = _flatten(_LAYOUTS[idstr]["fields"])
    else:
        return "?"
    pos = 0
    for name, size in flat:
        if pos <= off < pos + size:
            return "%s+%d" % (name, off - pos) if size > 1 else name
        pos += size
    for name, body, chunk in subsections(payload, pos)[1:]:
        if body <= off < body + len(chunk):
            return "subsection %s +%d" % (name, off - body)
        if body - 6 - len(name) <= off < body:
            return "subsection %s header" % name
    return "beyond the known fields"


def _fifo_dead_bytes(payload):
    """Offsets of UART FIFO slots outside the live window: not guest
    visible, and QEMU leaves never-written ones as heap garbage."""
    dead = set()
    for name, body, chunk in subsections(payload, 11)[1:]:
        if name in FIFO_SUBS and len(chunk) == 24:
            head, num = struct.unpack(">II", chunk[16:24])
            live = {(head + i) % 16 for i in range(min(num, 16))}
            dead |= {body + i for i in range(16) if i not in live}
    return dead


def diff_payload(sec_q, sec_o):
    """Lines describing every differing byte run of two payloads."""
    a, b = sec_q.payload, sec_o.payload
    masked = _fifo_dead_bytes(a) if sec_q.idstr == "serial" else set()
    out = []
    if len(a) != len(b):
        out.append("  length: QEMU %d bytes, lockstep %d" % (len(a), len(b)))
    diffs = [i for i in range(min(len(a), len(b)))
             if a[i] != b[i] and i not in masked]
    runs = []
    for i in diffs:
        if runs and i == runs[-1][1] + 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    for lo, hi in runs[:12]:
        out.append("  payload 0x%03x-0x%03x (%s): QEMU %s, lockstep %s" % (
            lo, hi, field_at(sec_q.idstr, a, lo), a[lo:hi + 1].hex(),
            b[lo:hi + 1].hex()))
    if len(runs) > 12:
        out.append("  ... %d more differing runs" % (len(runs) - 12))
    return out


def compare_devstate(qemu_data, ours_data, skip=("timer",)):
    """Compares every section both streams hold (payload bytes, section id,
    order). Returns (ok, report lines)."""
    q = {s.key: s for s in split_devstate(qemu_data)}
    o = {s.key: s for s in split_devstate(ours_data)}
    ok, rep = True, []
    for key, so in o.items():
        if key not in q:
            ok = False
            rep.append("section %r instance %d: lockstep writes it, QEMU "
                       "does not" % key)
    for key, sq in q.items():
        if key not in o:
            if key[0] in MODELLED:
                ok = False
                rep.append("section %r instance %d: missing from lockstep's "
                           "file" % key)
            continue
        so = o[key]
        if sq.section_id != so.section_id or sq.version != so.version:
            ok = False
            rep.append("section %r instance %d: id/version QEMU %d/%d, "
                       "lockstep %d/%d" % (key + (sq.section_id, sq.version,
                                                  so.section_id, so.version)))
        if key[0] in skip:
            continue
        lines = diff_payload(sq, so)
        if lines:
            ok = False
            rep.append("section %r instance %d differs:" % key)
            rep += lines
    shared_q = [s.key for s in split_devstate(qemu_data) if s.key in o]
    shared_o = [s.key for s in split_devstate(ours_data) if s.key in q]
    if shared_q != shared_o:
        ok = False
        rep.append("section order differs: QEMU %r, lockstep %r" % (
            shared_q, shared_o))
    return ok, rep


def diff_transcripts(want, got, label):
    """Line diff of two transcripts; [] when equal."""
    out = []
    for i in range(max(len(want), len(got))):
        w = want[i] if i < len(want) else "<missing>"
        g = got[i] if i < len(got) else "<missing>"
        if w != g:
            cmd = ""
            for j in range(min(i, len(want) - 1), -1, -1):
                if want[j].startswith("> "):
                    cmd = want[j][2:]
                    break
            out.append("%s line %d (after '%s'): QEMU %r, lockstep %r" % (
                label, i + 1, cmd, w, g))
            if len(out) >= 10:
                out.append("  (further differences not shown)")
                break
    return out
