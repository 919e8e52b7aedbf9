#!/usr/bin/env python3
"""A primary and a secondary side with real dms: the secondary equals the
primary after checkpoints under a running workload; output is held until
its checkpoint is confirmed; the secondary killed; the TCP link cut and
gone silent (through a proxy the test controls); a second primary pairing
with the same secondary; re-protection after a failover.
"""
import os
import select
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import colorig as R  # noqa: E402


def line(n):
    return "line %d\r\n" % n


def lines(a, b):
    return "".join(line(i) for i in range(a, b + 1)).encode()


def same_state(rig, p, s, tag, tries=1):
    """Saves both dms and diffs. With periodic checkpoints running, a
    save may catch one dm paused by a checkpoint, and the run state is in
    the 'globalstate' section: `tries` saves again then (the devices do
    not change meanwhile: the workload is paused), so only a difference
    that persists fails."""
    for i in range(tries):
        # resume(N) reaches the secondary just after the primary confirmed N
        R.wait_until(lambda: s.status() == "running" and
                     p.status() == "running", "both dms running")
        rc, out = rig.diff(p.save(rig.path("p-%s.devstate" % tag)),
                           s.save(rig.path("s-%s.devstate" % tag)))
        if rc == 0 or "globalstate" not in out:
            break
    R.check(rc == 0, "secondary differs from primary (%s): %s" % (tag, out))


def wait_epoch_past(side, epoch):
    return R.wait_until(
        lambda: side.status()["last-complete-epoch"] > epoch and
        side.status()["last-complete-epoch"], "a checkpoint after %d" % epoch)


def dm_lost(pri):
    """A primary side whose dm is killed sees COM1 close and exits 1 by
    itself. Wait for that here: a SIGTERM from the rig's clean-up could
    otherwise land while it is already exiting (under ASan, during the
    leak check) and kill it."""
    R.check(pri.wait() == 1, "primary side after its dm died: " +
            pri.output()[-2000:])


def test_equal_under_workload():
    """Periodic checkpoints (20 ms) while the workload runs; after each
    burst, the next checkpoint leaves the secondary equal to the primary,
    and the sink holds every line written before it, once."""
    with R.Rig() as rig:
        p, s = rig.dm("p"), rig.dm("s")
        rig.secondary(s)
        pri = rig.primary(p, ["--interval", "20"])
        qt = p.qtest()
        qt.play(R.DRIVER)
        n = 0
        for burst in range(5):
            end = time.monotonic() + 0.3
            while time.monotonic() < end:
                n += 1
                qt.cmd("clock_step 1000000")
                qt.cmd("outb 0x70 0x0c")
                qt.cmd("inb 0x71")
                qt.serial_write(line(n))
            last = pri.status()["last-complete-epoch"]
            wait_epoch_past(pri, last + 1)
            same_state(rig, p, s, str(burst), tries=20)
            got = rig.read("com1-out.txt")
            R.check(got == lines(1, n), "sink after burst %d: %d bytes, "
                    "want %d; ends %r" % (burst, len(got), len(lines(1, n)),
                                          got[-60:]))
        st = pri.status()
        R.check(st["last-complete-epoch"] >= 10 and
                st["triggers"]["periodic"] >= 10 and
                st["triggers"]["request"] == 0, "checkpoints ran: %r" % st)


def test_output_held_until_confirmed():
    """Without a checkpoint, nothing reaches the sink."""
    with R.Rig() as rig:
        p, s = rig.dm("p"), rig.dm("s")
        rig.secondary(s)
        pri = rig.primary(p, ["--interval", "0"])
        p.qtest().play(R.DRIVER)
        p.qtest().serial_write(line(1))
        time.sleep(0.3)
        R.check(rig.read("com1-out.txt") == b"", "output escaped early")
        R.checkpoint(pri)
        R.wait_until(lambda: rig.read("com1-out.txt") == lines(1, 1),
                     "released after the checkpoint")


def test_secondary_killed():
    """The primary carries on alone: held output released, later output
    passed straight through, its dm running."""
    with R.Rig() as rig:
        p, s = rig.dm("p"), rig.dm("s")
        sec = rig.secondary(s)
        pri = rig.primary(p, ["--interval", "0"])
        qt = p.qtest()
        qt.play(R.DRIVER)
        qt.serial_write(line(1))
        R.checkpoint(pri)
        qt.serial_write(line(2))
        time.sleep(0.1)
        R.check(rig.read("com1-out.txt") == lines(1, 1), "line 2 held")
        sec.kill()
        ev = pri.event("COLO_SECONDARY_LOST")
        R.check(ev["data"]["last-epoch"] == 1, "event %r" % ev)
        R.wait_until(lambda: rig.read("com1-out.txt") == lines(1, 2),
                     "held output released")
        qt.serial_write(line(3))
        R.wait_until(lambda: rig.read("com1-out.txt") == lines(1, 3),
                     "output passes straight through")
        R.check(pri.status()["state"] == "alone", "state alone")
        R.check(p.status() == "running", "primary dm running")


def test_secondary_dm_killed():
    """The secondary's dm dies: its side tells the primary and exits 1;
    the primary carries on alone with its output released."""
    with R.Rig() as rig:
        p, s = rig.dm("p"), rig.dm("s")
        sec = rig.secondary(s)
        pri = rig.primary(p, ["--interval", "0"])
        qt = p.qtest()
        qt.play(R.DRIVER)
        qt.serial_write(line(1))
        R.checkpoint(pri)
        qt.serial_write(line(2))
        s.kill()
        R.check(sec.wait() == 1, "secondary side exit status")
        pri.event("COLO_SECONDARY_LOST")
        R.wait_until(lambda: rig.read("com1-out.txt") == lines(1, 2),
                     "held output released")
        R.check(pri.status()["state"] == "alone" and
                p.status() == "running", "primary alone, dm running")


def test_exit_on_failover():
    """--exit-on-failover: the side fails over, then exits 0, leaving its
    dm running at the checkpoint."""
    with R.Rig() as rig:
        p, s = rig.dm("p"), rig.dm("s")
        sec = rig.secondary(s, ["--exit-on-failover"])
        pri = rig.primary(p, ["--interval", "0"])
        p.qtest().play(R.DRIVER)
        R.checkpoint(pri)
        want = p.save(rig.path("p1.devstate"))
        p.kill()
        dm_lost(pri)
        R.check(sec.wait() == 0, "exit status: " + sec.output())
        R.check("COLO_FAILOVER" in sec.output(), "failover logged")
        R.check(s.status() == "running", "dm left running")
        rc, out = rig.diff(want, s.save(rig.path("s1.devstate")))
        R.check(rc == 0, "secondary not at the checkpoint: " + out)


def test_sigterm_after_output_error():
    """A failover whose sink cannot be taken over (the secondary's sink
    file lacks what the primary's held: here, another file) reports
    COLO_OUTPUT_ERROR and runs on; SIGTERM then ends the side with status
    0, as after any failover (it crashed there, flushing a sink it did
    not have: found by make soak)."""
    with R.Rig() as rig:
        p, s = rig.dm("p"), rig.dm("s")
        with open(rig.path("p-sink.txt"), "wb") as f:
            f.write(b"earlier output\r\n")
        sec = rig.secondary(s, sink=rig.path("s-sink.txt"))
        pri = rig.primary(p, ["--interval", "0"], sink=rig.path("p-sink.txt"))
        p.qtest().play(R.DRIVER)
        p.qtest().serial_write(line(1))
        R.checkpoint(pri)
        p.kill()
        dm_lost(pri)
        sec.event("COLO_OUTPUT_ERROR")
        sec.event("COLO_FAILOVER")
        rc = sec.kill(signal.SIGTERM)
        R.check(rc == 0, "exit status %d on SIGTERM: %s" %
                (rc, sec.output()[-2000:]))


class UnixSinkServer:
    """A unix-socket sink: accepts any number of connections (the primary
    side's, then after a failover the secondary's) and keeps what each
    sent."""

    def __init__(self, path):
        self.lsock = socket.socket(socket.AF_UNIX)
        self.lsock.bind(path)
        self.lsock.listen(4)
        self.conns = []
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        while True:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            got = bytearray()
            self.conns.append(got)
            threading.Thread(target=self.read, args=(c, got),
                             daemon=True).start()

    @staticmethod
    def read(c, got):
        while True:
            data = c.recv(65536)
            if not data:
                return
            got.extend(data)

    def data(self):
        return [bytes(g) for g in self.conns]


def test_unix_sink_failover():
    """--serial-out unix:PATH: released output reaches the socket; after a
    failover the secondary connects anew and the stream goes on from the
    end of the last checkpoint's epoch."""
    with R.Rig() as rig:
        srv = UnixSinkServer(rig.path("sink.sock"))
        sink = "unix:" + rig.path("sink.sock")
        p, s = rig.dm("p"), rig.dm("s")
        sec = rig.secondary(s, sink=sink)
        pri = rig.primary(p, ["--interval", "0"], sink=sink)
        qt = p.qtest()
        qt.play(R.DRIVER)
        qt.serial_write(line(1))
        R.checkpoint(pri)
        R.wait_until(lambda: srv.data() == [lines(1, 1)], "line 1 sent")
        qt.serial_write(line(2))
        p.kill()
        dm_lost(pri)
        sec.event("COLO_FAILOVER")
        s.qtest().serial_write(line(2) + line(3))
        R.wait_until(lambda: srv.data() == [lines(1, 1), lines(2, 3)],
                     "the secondary's stream (got %r)" % srv.data())


class Proxy:
    """TCP proxy primary -> secondary that the test can cut or silence."""

    def __init__(self, target_port):
        self.lsock = socket.socket()
        self.lsock.bind((R.SECONDARY_ADDR, 0))
        self.lsock.listen(1)
        self.port = self.lsock.getsockname()[1]
        self.target = target_port
        self.silent = False
        self.socks = []
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        a, _ = self.lsock.accept()
        b = socket.create_connection((R.SECONDARY_ADDR, self.target))
        self.socks = [a, b]
        peer = {a: b, b: a}
        try:
            while True:
                r, _, _ = select.select([a, b], [], [], 0.05)
                for s in r:
                    data = s.recv(65536)
                    if not data:
                        return
                    if not self.silent:
                        peer[s].sendall(data)
        except OSError:
            return

    def cut(self):
        for s in self.socks:
            s.shutdown(socket.SHUT_RDWR)
            s.close()


def link_case(how):
    with R.Rig() as rig:
        p, s = rig.dm("p"), rig.dm("s")
        sec = rig.secondary(s, ["--heartbeat-timeout", "400"],
                            sink=rig.path("s-out.txt"))
        proxy = Proxy(rig.port)
        pri = rig.primary(p, ["--interval", "0", "--heartbeat-timeout",
                              "400"], port=proxy.port)
        p.qtest().play(R.DRIVER)
        R.checkpoint(pri)
        t = time.monotonic()
        if how == "cut":
            proxy.cut()
        else:
            proxy.silent = True
        ev = sec.event("COLO_FAILOVER")
        R.check(ev["data"]["epoch"] == 1, "failover %r" % ev)
        pri.event("COLO_SECONDARY_LOST")
        took = time.monotonic() - t
        if how == "silence":
            R.check(took >= 0.3, "silence noticed after %.3f s, before the "
                    "heartbeat timeout" % took)
        R.check(pri.status()["state"] == "alone", "primary alone")
        R.check(sec.status()["state"] == "active", "secondary active")
        R.check(p.status() == "running" and s.status() == "running",
                "both dms run (split brain: documented, not covered)")


def test_link_cut():
    link_case("cut")


def test_link_silent():
    link_case("silence")


def test_second_primary():
    """A primary that finishes (bye) leaves the secondary listening; a
    second primary, with another dm, pairs and brings it in step."""
    with R.Rig() as rig:
        p, s, q = rig.dm("p"), rig.dm("s"), rig.dm("q")
        sec = rig.secondary(s)
        p.qtest().play(R.DRIVER)
        first = rig.primary(p, ["--interval", "10", "--checkpoints", "3"],
                            wait_paired=False)
        R.check(first.wait() == 0, "first primary: " + first.output())
        R.wait_until(lambda: sec.status()["state"] == "listening",
                     "secondary listening again")
        same_state(rig, p, s, "first")
        q.qtest().play(R.DRIVER[:5])
        q.qtest().cmd("clock_step 12345678")
        second = rig.primary(q, ["--interval", "0"],
                             sink=rig.path("q-out.txt"))
        R.checkpoint(second)
        same_state(rig, q, s, "second")


def test_reprotect():
    """After a failover the survivor is paired with a fresh secondary: the
    first checkpoint brings it in step, and the COM1 stream goes on
    through the handover with no line lost or repeated."""
    with R.Rig() as rig:
        p, s = rig.dm("p"), rig.dm("s")
        old = rig.secondary(s)
        pri = rig.primary(p, ["--interval", "0"])
        p.qtest().play(R.DRIVER)
        p.qtest().serial_write(line(1))
        R.checkpoint(pri)
        p.kill()
        dm_lost(pri)
        old.event("COLO_FAILOVER")
        s.qtest().serial_write(line(2))
        R.wait_until(lambda: rig.read("com1-out.txt") == lines(1, 2),
                     "survivor's output")
        # The survivor's side stopped listening: no primary can pair.
        other = rig.dm("o")
        refused = rig.primary(other, ["--interval", "0"], sink=False,
                              wait_paired=False)
        R.check(refused.wait() == 2 and
                "Connection refused" in refused.output(),
                "a primary after the failover: " + refused.output())
        # A fresh secondary; the survivor's side hands over to a primary.
        t = rig.dm("t")
        port2 = R.free_port(R.SECONDARY_ADDR)
        rig.secondary(t, port=port2, sink=rig.path("t-out.txt"))
        old.kill(signal.SIGTERM)
        R.check(s.status() == "paused", "survivor left paused for handover")
        s.qtest().cmd("clock_step 4000000")
        new = rig.primary(s, ["--interval", "0"], port=port2)
        R.checkpoint(new)
        same_state(rig, s, t, "reprotected")
        s.qtest().serial_write(line(3))
        R.checkpoint(new)
        R.wait_until(lambda: rig.read("com1-out.txt") == lines(1, 3),
                     "stream continues once (has %r)" %
                     rig.read("com1-out.txt"))


def test_figures():
    """--stats FILE (a JSON line per checkpoint: phases, pause, bytes,
    output held and released), query-colo-status, --metrics (Prometheus
    text), the summary at exit."""
    import json
    import urllib.request
    with R.Rig() as rig:
        p, s = rig.dm("p"), rig.dm("s")
        rig.secondary(s)
        mport = R.free_port()
        pri = rig.primary(p, ["--interval", "0", "--checkpoints", "3",
                              "--stats", rig.path("stats.jsonl"),
                              "--metrics", "tcp:127.0.0.1:%d" % mport])
        p.qtest().play(R.DRIVER)
        p.qtest().serial_write(line(1))
        R.checkpoint(pri)
        st = pri.status()
        R.check(st["role"] == "primary" and st["checkpoints"] == 1 and
                st["output-released-bytes"] == len(line(1)) and
                st["triggers"] == {"periodic": 0, "request": 1,
                                   "output": 0}, "status %r" % st)
        body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % mport,
                                      timeout=R.TIMEOUT).read().decode()
        R.check("lockstep_colo_checkpoints_total 1" in body, body[:400])
        p.qtest().serial_write(line(2) + line(3))
        R.checkpoint(pri)
        pri.control().send({"execute": "checkpoint"})
        R.check(pri.wait() == 0, "exit after --checkpoints 3")
        with open(rig.path("stats.jsonl")) as f:
            recs = [json.loads(x) for x in f]
        R.check([r["epoch"] for r in recs] == [1, 2, 3], "records %r" % recs)
        R.check(all(r["ok"] and r["devstate_bytes"] > 0 and
                    set(r["phases_us"]) == {"stop", "save", "transfer",
                                            "load", "resume"}
                    for r in recs), "record fields %r" % recs[0])
        R.check([r["output_held"] for r in recs] ==
                [len(line(1)), 2 * len(line(2)), 0] and
                [r["output_released"] for r in recs] ==
                [len(line(1)), 2 * len(line(2)), 0], "output %r" % recs)
        R.check("p50" in pri.output() and "pause" in pri.output(),
                "summary at exit: " + pri.output())


def test_cli_errors():
    """Bad options and start-up failures: exit 2 and a precise message."""
    import subprocess

    def run(*args):
        r = subprocess.run([R.LOCKSTEP, "colo"] + list(args) + ["--insecure"],
                           capture_output=True, text=True, timeout=30)
        return r.returncode, r.stderr

    with R.Rig() as rig:
        p = rig.dm("p")
        qmp = "unix:" + p.qmp_path
        cases = [
            (["secondary", "--qmp", qmp], "--listen is required"),
            (["primary", "--peer", "127.0.0.2:1"], "--qmp is required"),
            (["primary", "--qmp", qmp, "--peer", "127.0.0.2:1",
              "--interval", "-1"], "--interval must be"),
            (["primary", "--qmp", qmp, "--peer", "127.0.0.2:1",
              "--serial-out", rig.path("o")], "go together"),
            (["primary", "--qmp", qmp, "--peer", "127.0.0.2:1",
              "--x-fault", "sideways@1"], "--x-fault wants PHASE@N"),
            (["primary", "--qmp", qmp, "--peer", "127.0.0.2:1",
              "--x-fault", "save@0"], "--x-fault wants PHASE@N"),
            (["primary", "--qmp", "unix:" + rig.path("none"), "--peer",
              "127.0.0.2:1"], "Failed to connect"),
            (["primary", "--qmp", qmp, "--peer", "127.0.0.2:%d" %
              R.free_port(R.SECONDARY_ADDR)], "cannot connect to 127.0.0.2"),
            (["secondary", "--qmp", qmp, "--listen", "nonsense"],
             "want HOST:PORT"),
            (["both"], "usage: lockstep colo primary|secondary"),
        ]
        for args, msg in cases:
            rc, err = run(*args)
            R.check(rc == 2 and msg in err, "%r: rc %d, %r" % (args, rc, err))
        R.check(p.status() == "prelaunch", "the dm was left as it was")


if __name__ == "__main__":
    R.dmlib.run_tests([
        test_cli_errors,
        test_figures,
        test_equal_under_workload, test_output_held_until_confirmed,
        test_secondary_killed, test_secondary_dm_killed,
        test_exit_on_failover, test_sigterm_after_output_error,
        test_unix_sink_failover, test_link_cut,
        test_link_silent,
        test_second_primary, test_reprotect,
    ])
