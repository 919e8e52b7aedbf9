#!/usr/bin/env python3
"""lockstep-dm under hostile or careless clients: garbage and oversized
input, 50 concurrent clients, a client that stops reading, clients that
vanish mid-request. The daemon must stay alive and keep answering others."""
import socket
import time

from dmlib import Dm, Qmp, check, cpu_ticks, run_tests


def test_garbage_input():
    with Dm("-machine", "none", "-S") as dm:
        q = dm.connect()
        q.send_raw(b"\x00\xff\xfe garbage }}}\n")
        q.send_raw(b"]]]\n")
        q.send_raw(b"nul\n")
        q.send({"execute": "query-status", "id": "after"})
        while True:
            r = q.reply()
            if r.get("id") == "after":
                break
            check(isinstance(r, dict), "garbage answered: %r" % r)
        check(r["return"]["status"] == "prelaunch", "session recovers")
        check(dm.alive(), "alive")


def test_oversized_input():
    with Dm("-machine", "none", "-S") as dm:
        q = dm.connect()
        big = b'{"execute": "query-status", "arguments": {"x": "' + \
            b"A" * (2 * 1024 * 1024) + b'"}}\n'
        try:
            q.send_raw(big)
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            r = q.reply()
            check("error" in r, "oversized request refused: %r" % r)
        except (EOFError, ConnectionResetError):
            pass  # dropping the session is an acceptable answer
        check(dm.alive(), "alive after 2 MiB request")
        check(dm.connect().status() == "prelaunch", "others still served")


def test_deep_nesting():
    with Dm("-machine", "none", "-S") as dm:
        q = dm.connect()
        q.send_raw(b"[" * 5000 + b"]" * 5000 + b"\n")
        q.send({"execute": "query-status", "id": 7})
        while True:
            r = q.reply()
            if r.get("id") == 7:
                break
        check(dm.alive(), "alive after deep nesting")


def test_fifty_concurrent_clients():
    with Dm("-machine", "none", "-S") as dm:
        qs = [Qmp(dm.qmp_path, negotiate=False) for _ in range(50)]
        for q in qs:
            q.send({"execute": "qmp_capabilities"})
        for q in qs:
            check(q.reply() == {"return": {}}, "negotiated")
        for i, q in enumerate(qs):
            q.send({"execute": "query-status", "id": i})
        for i, q in enumerate(qs):
            r = q.reply()
            check(r["id"] == i and r["return"]["status"] == "prelaunch",
                  "client %d: %r" % (i, r))
        qs[0].cmd_ok("cont")
        check(qs[0].event_names() == ["RESUME"], "event to the sender")
        for q in qs[1:]:
            check(q.recv()["event"] == "RESUME", "event to all 50")
        for q in qs:
            q.close()


def test_client_stops_reading():
    with Dm("-machine", "none", "-S") as dm:
        lazy = dm.connect()
        lazy.sock.setblocking(False)
        req = b'{"execute": "query-commands"}\n' * 256
        sent = 0
        rounds = 0
        end = time.monotonic() + 5
        while time.monotonic() < end and sent < 64 * 1024 * 1024:
            try:
                sent += lazy.sock.send(req)
            except BlockingIOError:
                time.sleep(0.001)
            except (BrokenPipeError, ConnectionResetError):
                break  # dropped for not reading: fine
            rounds += 1
            if rounds % 500 == 0:  # another client is served meanwhile
                other = dm.connect()
                check(other.status() == "prelaunch", "others served")
                other.close()
        check(dm.alive(), "alive")
        other = dm.connect()
        check(other.status() == "prelaunch", "still serving")


def test_client_vanishes():
    with Dm("-machine", "none", "-S") as dm:
        for partial in (b'{"execute": "query-st', b'{"execute": "quer'):
            q = dm.connect()
            q.send_raw(partial)
            q.close()
        for _ in range(20):
            q = dm.connect()
            q.send({"execute": "query-commands"})
            q.close()  # the reply goes to a closed socket
        s = socket.socket(socket.AF_UNIX)
        s.connect(dm.qmp_path)
        s.close()  # before reading the greeting
        time.sleep(0.05)
        check(dm.alive(), "alive")
        check(dm.connect().status() == "prelaunch", "serving")


def test_idle_after_disconnect():
    """A closed session must leave the poll set: poll() reports POLLHUP for
    any event mask, and a dead session left in it spun the loop at 100%
    CPU. An idle daemon accrues (almost) no CPU time, however loaded the
    machine is, while a spinning one accrues about 100 ticks a second."""
    with Dm("-machine", "none", "-S") as dm:
        for _ in range(3):
            q = dm.connect()
            q.close()
        s = socket.socket(socket.AF_UNIX)
        s.connect(dm.qmp_path)
        s.close()
        time.sleep(0.1)
        before = cpu_ticks(dm.proc.pid)
        time.sleep(1.0)
        spent = cpu_ticks(dm.proc.pid) - before
        check(spent <= 5, "idle daemon used %d ticks in 1 s" % spent)
        check(dm.connect().status() == "prelaunch", "serving")


if __name__ == "__main__":
    run_tests([test_garbage_input, test_oversized_input, test_deep_nesting,
               test_fifty_concurrent_clients, test_client_stops_reading,
               test_client_vanishes, test_idle_after_disconnect])
