#!/usr/bin/env python3
"""The secondary side against a raw python primary speaking the wire
protocol (colowire.py): bad hellos, corrupted, truncated and oversized
messages, messages out of order, a state the dm refuses, a second primary
while one is paired. A bad session must end cleanly, never crash the
side; without a complete checkpoint the side listens again, with one it
fails over to exactly that checkpoint (lockstep diff), never to a half
loaded one.
"""
import os
import signal
import socket
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import colorig as R  # noqa: E402
import colowire as W  # noqa: E402


def connect(rig):
    sock = socket.create_connection((R.SECONDARY_ADDR, rig.port), timeout=R.TIMEOUT)
    return sock


def handshake(rig):
    sock = connect(rig)
    sock.sendall(W.hello(W.PRIMARY))
    mtype, payload = W.recv(sock)
    R.check(mtype == W.HELLO, "hello expected, got %d" % mtype)
    magic, version, role, _, _ = struct.unpack(">IHBBI", payload)
    R.check((magic, version, role) == (W.MAGIC, W.VERSION, W.SECONDARY),
            "secondary hello %r" % ((magic, version, role),))
    return sock


def expect_error(sock, code):
    mtype, payload = W.recv_skip_heartbeats(sock)
    R.check(mtype == W.ERROR, "error expected, got type %d" % mtype)
    got = struct.unpack(">I", payload[:4])[0]
    R.check(got == code, "error code %d, expected %d (%r)" %
            (got, code, payload[4:]))
    return payload[4:].decode()


def setup(rig):
    """A secondary (dm s) and a dm p driven to some state, saved."""
    p, s = rig.dm("p"), rig.dm("s")
    s.qmp.cmd_ok("cont")   # out of -S: a checkpoint's stop must show
    p.qmp.cmd_ok("cont")   # both save "running" in their globalstate
    # The raw primary of these tests sends no heartbeats: a long timeout
    # keeps a slow (ASan, loaded) run from failing over in mid-test.
    sec = rig.secondary(s, ["--heartbeat-timeout", "60000"])
    p.qtest().play(R.DRIVER)
    p.qtest().cmd("clock_step 2000000")
    with open(p.save(rig.path("p.devstate")), "rb") as f:
        state = f.read()
    return p, s, sec, state


def checkpoint(sock, s, epoch, state):
    sock.sendall(W.u64(W.BEGIN, epoch))
    R.wait_until(lambda: s.status() == "paused", "secondary dm stopped")
    sock.sendall(W.data(epoch, state))
    mtype, payload = W.recv_skip_heartbeats(sock)
    R.check(mtype == W.ACK, "ack expected, got %d %r" % (mtype, payload))
    R.check(struct.unpack(">Q", payload[:8])[0] == epoch, "ack epoch")
    sock.sendall(W.u64(W.RESUME, epoch))
    R.wait_until(lambda: s.status() == "running", "secondary dm resumed")


def goodbye(sock):
    """A clean end, as the real primary side does it: bye, half-close,
    read until the secondary's EOF. A plain close() with unread
    heartbeats would send a reset, and the secondary's kernel may then
    drop the bye unread: a lost link, not a goodbye."""
    sock.sendall(W.text(W.BYE, 0, "done"))
    sock.shutdown(socket.SHUT_WR)
    sock.settimeout(R.TIMEOUT)
    while sock.recv(4096):
        pass
    sock.close()


def still_listening(rig, sec, s):
    R.wait_until(lambda: sec.status()["state"] == "listening",
                 "secondary listening again")
    R.check(sec.alive() and s.status() == "running", "secondary dm running")
    sock = handshake(rig)   # a new primary can pair
    goodbye(sock)
    R.wait_until(lambda: sec.status()["state"] == "listening",
                 "secondary listening after the probe")


def test_bad_hellos():
    with R.Rig() as rig:
        _, s, sec, _ = setup(rig)
        for bad in (W.hello(W.PRIMARY, version=W.VERSION + 1), W.hello(W.SECONDARY),
                    W.hello(W.PRIMARY, magic=0x12345678),
                    W.u64(W.BEGIN, 1)):
            sock = connect(rig)
            sock.sendall(bad)
            W.recv(sock)                       # its hello
            expect_error(sock, 1)
            sock.close()
            still_listening(rig, sec, s)


def bad_before_checkpoint(frame):
    with R.Rig() as rig:
        _, s, sec, _ = setup(rig)
        sock = handshake(rig)
        sock.sendall(frame)
        expect_error(sock, 1)
        sock.close()
        still_listening(rig, sec, s)


def test_corrupted_before_checkpoint():
    f = bytearray(W.u64(W.BEGIN, 1))
    f[-1] ^= 0x40
    bad_before_checkpoint(bytes(f))


def test_oversized_before_checkpoint():
    bad_before_checkpoint(W.frame(W.DATA, b"", length=W.MAX_DATA + 1))


def test_out_of_order_before_checkpoint():
    bad_before_checkpoint(W.data(1, b"QEVM"))


def bad_after_checkpoint(send_bad):
    """Checkpoint 1 completes; then the primary misbehaves: the secondary
    fails over to checkpoint 1, exactly."""
    with R.Rig() as rig:
        _, s, sec, state = setup(rig)
        sock = handshake(rig)
        checkpoint(sock, s, 1, state)
        s.qtest().cmd("clock_step 7000000")   # the secondary runs on
        send_bad(sock, state)
        ev = sec.event("COLO_FAILOVER")
        R.check(ev["data"]["epoch"] == 1, "failover epoch %r" % ev)
        rc, out = rig.diff(rig.path("p.devstate"),
                           s.save(rig.path("s.devstate")))
        R.check(rc == 0, "secondary not at checkpoint 1: " + out)
        R.check(s.status() == "running", "secondary dm resumed")
        sock.close()


def test_corrupted_after_checkpoint():
    def bad(sock, state):
        f = bytearray(W.data(2, state))
        f[40] ^= 1
        sock.sendall(W.u64(W.BEGIN, 2) + bytes(f))
    bad_after_checkpoint(bad)


def test_truncated_after_checkpoint():
    def bad(sock, state):
        f = W.data(2, state)
        sock.sendall(W.u64(W.BEGIN, 2) + f[:len(f) // 2])
        sock.shutdown(socket.SHUT_WR)
    bad_after_checkpoint(bad)


def test_oversized_after_checkpoint():
    def bad(sock, state):
        sock.sendall(W.u64(W.BEGIN, 2) +
                     W.frame(W.DATA, b"", length=W.MAX_DATA + 1))
    bad_after_checkpoint(bad)


def test_out_of_order_after_checkpoint():
    def bad(sock, state):
        sock.sendall(W.u64(W.BEGIN, 5))
    bad_after_checkpoint(bad)


def test_state_refused():
    """A state the dm refuses: error load-failed, the dm unchanged (all or
    nothing), no failover, listening again."""
    with R.Rig() as rig:
        _, s, sec, state = setup(rig)
        sock = handshake(rig)
        checkpoint(sock, s, 1, state)
        bad = bytearray(state)
        bad[len(bad) // 2] ^= 0xff
        bad = bytes(bad[:len(bad) - 7])
        sock.sendall(W.u64(W.BEGIN, 2))
        sock.sendall(W.data(2, bad))
        why = expect_error(sock, 4)
        R.check("xen-load-devices-state" in why, "reason: " + why)
        sock.close()
        still_listening(rig, sec, s)
        rc, out = rig.diff(rig.path("p.devstate"),
                           s.save(rig.path("s.devstate")))
        R.check(rc == 0, "a refused load changed the dm: " + out)


def test_second_primary_busy():
    with R.Rig() as rig:
        _, s, sec, state = setup(rig)
        first = handshake(rig)
        checkpoint(first, s, 1, state)
        other = connect(rig)
        other.sendall(W.hello(W.PRIMARY))
        W.recv(other)
        R.check("paired" in expect_error(other, 5), "busy")
        other.close()
        checkpoint(first, s, 2, state)   # the first session is unharmed
        goodbye(first)
        still_listening(rig, sec, s)


def test_sigterm_after_failover_without_sink():
    """Without --serial-out (and --dm-serial) a secondary that failed over
    ends cleanly on SIGTERM: it used to flush the sink it does not have
    (SIGSEGV; found by the colo-secondary fuzz target)."""
    with R.Rig() as rig:
        p, s = rig.dm("p"), rig.dm("s")
        s.qmp.cmd_ok("cont")
        p.qmp.cmd_ok("cont")
        sec = rig.secondary(s, ["--heartbeat-timeout", "60000"], sink=False)
        with open(p.save(rig.path("p.devstate")), "rb") as f:
            state = f.read()
        sock = handshake(rig)
        checkpoint(sock, s, 1, state)
        sock.close()
        sec.event("COLO_FAILOVER")
        rc = sec.kill(signal.SIGTERM)
        R.check(rc == 0, "exit %r after SIGTERM:\n%s" % (rc, sec.output()))


if __name__ == "__main__":
    R.dmlib.run_tests([
        test_bad_hellos, test_corrupted_before_checkpoint,
        test_oversized_before_checkpoint, test_out_of_order_before_checkpoint,
        test_corrupted_after_checkpoint, test_truncated_after_checkpoint,
        test_oversized_after_checkpoint, test_out_of_order_after_checkpoint,
        test_state_refused, test_second_primary_busy,
        test_sigterm_after_failover_without_sink,
    ])
