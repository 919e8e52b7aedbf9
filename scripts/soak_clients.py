"""The QMP clients of `make soak` (scripts/soak): they connect to the
device models' QMP sockets (and the coordinator sides' control sockets),
behave or misbehave, and vanish. Python 3 stdlib only.

Each behaviour is one function taking (Clients, target) that opens its
own connection(s), does its thing within a few seconds and closes. The
well-behaved ones check what they get back and count a failure when the
answer is wrong or late; the misbehaving ones only require that the
server does not hang them (every socket has a timeout) and keeps serving
the well-behaved ones.
"""
import json
import random
import socket
import struct
import threading
import time

# Every blocking socket operation of a client is bounded by this.
CLIENT_TIMEOUT = 5.0
# A valid command must be answered within this (a liveness bound with a
# wide margin: replies take well under a millisecond on an idle machine).
REPLY_BOUND = 2.0
# Idle clients hold their connection this long (seconds, drawn uniformly).
IDLE_HOLD = (2.0, 20.0)
# At most this many idle connections are held open at once.
MAX_IDLERS = 24
# QMP_MAX_MESSAGE (src/qmp/json-stream.h) is 1 MiB: an over-long line is
# a little more than that.
OVERLONG = 1024 * 1024 + 4096
# A client that never reads sends this many requests, then holds on for
# up to NEVER_READ_HOLD seconds.
NEVER_READ_REQUESTS = 2000
NEVER_READ_HOLD = 3.0
# Connections opened and closed back to back by the rapid behaviour.
RAPID_COUNT = 20

DM_QUERIES = ["query-status", "query-cpus-fast", "x-lockstep-query-ram",
              "query-version", "query-name", "query-fdsets"]
CTL_QUERIES = ["query-colo-status"]

GARBAGE = [
    b'{"execute": ]\n', b"}}}}\n", b"\x00\xff\xfe garbage \x80\n",
    b'{"execute": "query-status", "arguments": [1, 2]}\n',
    b'{"execute": 42}\n', b"[" * 2000 + b"\n", b'"just a string"\n',
    b'{"execute": "no-such-command"}\n', b"{'execute': 'query-status'\n",
    b'{"execute": "query-status", "id": {"x": [1, {"y": null}]}}\n',
]


class Target:
    """A QMP socket: a dm's (queries DM_QUERIES) or a control socket."""

    def __init__(self, name, path, queries):
        self.name = name
        self.path = path
        self.queries = queries


class Conn:
    """A raw connection that can read QMP lines with a deadline."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        # A blocking connect, as most clients do: it waits while the
        # listen backlog is full (a socket with a Python timeout is
        # non-blocking, and its connect fails with EAGAIN then), bounded
        # by SO_SNDTIMEO, which a unix connect honours.
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO,
                             struct.pack("ll", int(CLIENT_TIMEOUT), 0))
        self.sock.connect(path)
        self.sock.settimeout(CLIENT_TIMEOUT)
        self.buf = b""

    def line(self, bound=CLIENT_TIMEOUT):
        end = time.monotonic() + bound
        while b"\r\n" not in self.buf:
            left = end - time.monotonic()
            if left <= 0:
                raise socket.timeout("no reply within %.1f s" % bound)
            self.sock.settimeout(left)
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("connection closed")
            self.buf += data
        msg, self.buf = self.buf.split(b"\r\n", 1)
        return json.loads(msg)

    def reply(self, bound=REPLY_BOUND):
        while True:
            msg = self.line(bound)
            if "event" not in msg:
                return msg

    def send(self, obj):
        self.sock.sendall(json.dumps(obj).encode() + b"\n")

    def cmd(self, name, bound=REPLY_BOUND):
        t0 = time.monotonic()
        self.send({"execute": name})
        r = self.reply(bound)
        return r, time.monotonic() - t0

    def negotiate(self):
        greeting = self.line()
        if "QMP" not in greeting:
            raise ValueError("bad greeting %r" % greeting)
        r, _ = self.cmd("qmp_capabilities")
        if r != {"return": {}}:
            raise ValueError("qmp_capabilities: %r" % r)

    def drain(self, bound=1.0):
        """Reads until the server closes or `bound` passes."""
        end = time.monotonic() + bound
        try:
            while time.monotonic() < end:
                self.sock.settimeout(max(0.01, end - time.monotonic()))
                if not self.sock.recv(65536):
                    return
        except OSError:
            return

    def close(self):
        self.sock.close()


def b_valid(c, t):
    conn = Conn(t.path)
    try:
        conn.negotiate()
        for name in random.sample(t.queries, len(t.queries)):
            r, took = conn.cmd(name)
            c.latency(took)
            if "return" not in r:
                c.failure("%s %s: %r" % (t.name, name, r))
    finally:
        conn.close()


def b_pipelined(c, t):
    """Many valid requests in one write, every reply read, ids in order."""
    conn = Conn(t.path)
    try:
        conn.negotiate()
        n = 50
        reqs = [{"execute": random.choice(t.queries), "id": i}
                for i in range(n)]
        conn.sock.sendall(b"".join(json.dumps(r).encode() + b"\n"
                                   for r in reqs))
        for i in range(n):
            r = conn.reply()
            if r.get("id") != i or "return" not in r:
                c.failure("%s pipelined reply %d: %r" % (t.name, i, r))
                return
    finally:
        conn.close()


def b_garbage(c, t):
    conn = Conn(t.path)
    try:
        conn.line()
        if random.random() < 0.5:
            conn.cmd("qmp_capabilities")
        conn.sock.sendall(random.choice(GARBAGE))
        conn.drain(0.2)
    finally:
        conn.close()


def b_overlong(c, t):
    conn = Conn(t.path)
    try:
        conn.line()
        body = b'{"execute": "query-status", "id": "' + b"x" * OVERLONG
        conn.sock.sendall(body + b'"}\n')
        conn.drain(1.0)
    except OSError:
        pass  # the server may drop the session while we still send
    finally:
        conn.close()


def b_half_sent(c, t):
    conn = Conn(t.path)
    try:
        if random.random() < 0.5:
            conn.negotiate()
        msg = json.dumps({"execute": random.choice(t.queries)}).encode()
        conn.sock.sendall(msg[:random.randrange(1, len(msg))])
    finally:
        conn.close()


def b_never_reads(c, t):
    conn = Conn(t.path)
    try:
        conn.negotiate()
        req = json.dumps({"execute": t.queries[0]}).encode() + b"\n"
        conn.sock.settimeout(NEVER_READ_HOLD)
        conn.sock.sendall(req * NEVER_READ_REQUESTS)
        time.sleep(random.uniform(0, NEVER_READ_HOLD))
    except OSError:
        pass  # a server that dropped us for piling up output: fine
    finally:
        conn.close()


def b_idle(c, t):
    conn = Conn(t.path)
    try:
        if random.random() < 0.5:
            conn.line()
    except (OSError, EOFError, ValueError):
        conn.close()
        raise
    c.hold(conn, time.monotonic() + random.uniform(*IDLE_HOLD))


def b_rapid(c, t):
    for i in range(RAPID_COUNT):
        conn = Conn(t.path)
        if i % 2:
            conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                 b"\x01\x00\x00\x00\x00\x00\x00\x00")
        conn.close()


def b_caps_twice(c, t):
    conn = Conn(t.path)
    try:
        greeting = conn.line()
        if "QMP" not in greeting:
            c.failure("%s greeting %r" % (t.name, greeting))
            return
        r, _ = conn.cmd(t.queries[0])
        if r.get("error", {}).get("class") != "CommandNotFound":
            c.failure("%s command before negotiation: %r" % (t.name, r))
        for i in range(2):
            r, _ = conn.cmd("qmp_capabilities")
            ok = r == {"return": {}} if i == 0 else \
                r.get("error", {}).get("class") == "CommandNotFound"
            if not ok:
                c.failure("%s qmp_capabilities #%d: %r" % (t.name, i + 1, r))
        r, _ = conn.cmd(t.queries[0])
        if "return" not in r:
            c.failure("%s %s after two negotiations: %r" % (t.name,
                                                           t.queries[0], r))
    finally:
        conn.close()


def b_getfd_vanish(c, t):
    """Passes an fd with getfd and vanishes: the dm must close it with
    the session (named fds belong to their session)."""
    conn = Conn(t.path)
    r, w = socket.socketpair()
    try:
        conn.negotiate()
        msg = json.dumps({"execute": "getfd",
                          "arguments": {"fdname": "soak"}}).encode() + b"\n"
        socket.send_fds(conn.sock, [msg], [r.fileno()])
        reply = conn.reply()
        if "return" not in reply:
            c.failure("%s getfd: %r" % (t.name, reply))
    finally:
        r.close()
        w.close()
        conn.close()


# (behaviour, weight, on control sockets too)
BEHAVIOURS = [
    (b_valid, 6, True), (b_pipelined, 2, True), (b_garbage, 3, True),
    (b_overlong, 1, True), (b_half_sent, 3, True), (b_never_reads, 1, True),
    (b_idle, 2, True), (b_rapid, 2, True), (b_caps_twice, 2, True),
    (b_getfd_vanish, 1, False),
]


class Clients:
    """Worker threads running random behaviours against random targets
    until stop(); the counts, failures and worst reply latency."""

    def __init__(self, targets, workers, pause, only=None, t0=None):
        self.targets = targets
        self.behaviours = [b for b in BEHAVIOURS
                           if not only or b[0].__name__[2:] in only]
        self.t0 = t0 if t0 is not None else time.monotonic()
        self.journal = []        # (start s, seconds, behaviour, target, error)
        self.pause = pause
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.counts = {b.__name__[2:]: 0 for b, _, _ in BEHAVIOURS}
        self.errors = {}         # behaviour -> exceptions (misbehaving: ok)
        self.failures = []       # wrong or late answers to valid requests
        self.max_latency = 0.0
        self.idlers = []         # (conn, close at)
        self.threads = [threading.Thread(target=self.run, daemon=True)
                        for _ in range(workers)]

    def start(self):
        for th in self.threads:
            th.start()

    def failure(self, what):
        with self.lock:
            self.failures.append(what)

    def latency(self, took):
        with self.lock:
            self.max_latency = max(self.max_latency, took)

    def hold(self, conn, until):
        with self.lock:
            if len(self.idlers) < MAX_IDLERS:
                self.idlers.append((conn, until))
                return
        conn.close()

    def open_count(self):
        with self.lock:
            return len(self.idlers)

    def reap_idlers(self, everything=False):
        now = time.monotonic()
        with self.lock:
            done = [i for i in self.idlers if everything or i[1] <= now]
            self.idlers = [i for i in self.idlers if i not in done]
        for conn, _ in done:
            conn.close()

    def one(self):
        t = random.choice(self.targets)
        usable = [b for b in self.behaviours
                  if b[2] or t.queries is DM_QUERIES]
        if not usable:
            return
        fn = random.choices(usable, [w for _, w, _ in usable])[0][0]
        name = fn.__name__[2:]
        start, err = time.monotonic(), ""
        try:
            fn(self, t)
        except (OSError, EOFError, ValueError) as e:
            err = repr(e)
            key = "%s on %s: %s" % (name, t.name, type(e).__name__)
            with self.lock:
                self.errors[key] = self.errors.get(key, 0) + 1
            if fn in (b_valid, b_pipelined, b_caps_twice, b_getfd_vanish):
                self.failure("%s on %s: %r" % (name, t.name, e))
        with self.lock:
            self.counts[name] += 1
            self.journal.append((start - self.t0, time.monotonic() - start,
                                 name, t.name, err))

    def run(self):
        try:
            while not self.stopping.is_set():
                self.reap_idlers()
                self.one()
                self.stopping.wait(random.uniform(0, self.pause))
        except Exception as e:  # noqa: a harness bug must fail the run
            self.failure("client worker died: %r" % e)
            raise

    def stop(self):
        for th in self.threads:
            if not th.is_alive():
                self.failure("a client worker ended before the stop")
        self.stopping.set()
        for th in self.threads:
            th.join(CLIENT_TIMEOUT * 4)
        self.reap_idlers(everything=True)
