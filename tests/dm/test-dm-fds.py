#!/usr/bin/env python3
"""lockstep-dm as its real clients drive it: fd passing (add-fd +
/dev/fdset/N) for save and load, libxl's one-connection-per-command
pattern, several monitors at once (-qmp twice, -chardev + -mon), an
inherited listening fd (libxl), connecting out (libqtest), tcp; and
QEMU 7.2's rule for when fd set fds are closed (monitor_fdset_cleanup)."""
import os
import select
import socket
import time

from dmlib import Dm, Qmp, check, run_tests, wait_for_path

DET = ("-S", "-accel", "qtest", "-nodefaults", "-rtc",
       "base=2006-06-17T16:01:21,clock=vm")


def test_fdset_round_trip():
    with Dm(*DET) as dm:
        q = dm.connect()
        ref = dm.path("ref.devstate")
        q.cmd_ok("xen-save-devices-state", {"filename": ref})
        out = dm.path("fd.devstate")
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        r = q.cmd_ok("add-fd", {"fdset-id": 1}, fds=[fd])
        os.close(fd)
        check(r["fdset-id"] == 1, "add-fd %r" % r)
        q.cmd_ok("xen-save-devices-state", {"filename": "/dev/fdset/1",
                                            "live": False})
        check(open(out, "rb").read() == open(ref, "rb").read(),
              "save through an fd set writes the same bytes")
        fd = os.open(out, os.O_RDONLY)
        r = q.cmd_ok("add-fd", fds=[fd])
        os.close(fd)
        q.cmd_ok("xen-load-devices-state",
                 {"filename": "/dev/fdset/%d" % r["fdset-id"]})
        check(q.status() == "prelaunch", "load keeps prelaunch")
        again = dm.path("again.devstate")
        q.cmd_ok("xen-save-devices-state", {"filename": again})
        check(open(again, "rb").read() == open(ref, "rb").read(),
              "round trip through fd sets")
        r = q.cmd("xen-save-devices-state", {"filename": "/dev/fdset/99"})
        check("error" in r and r["error"]["desc"].startswith(
            "Unable to open /dev/fdset/99: "), "missing fd set %r" % r)


def test_memfd_fdset():
    """COLO passes O_RDWR memfds: accepted for both directions."""
    with Dm(*DET) as dm:
        q = dm.connect()
        mfd = os.memfd_create("devstate")
        r = q.cmd_ok("add-fd", fds=[mfd])
        q.cmd_ok("xen-save-devices-state",
                 {"filename": "/dev/fdset/%d" % r["fdset-id"]})
        size = os.lseek(mfd, 0, os.SEEK_END)
        check(size > 8, "memfd written")
        os.lseek(mfd, 0, os.SEEK_SET)
        check(os.read(mfd, 4) == b"QEVM", "magic in memfd")
        os.lseek(mfd, 0, os.SEEK_SET)
        r = q.cmd_ok("add-fd", fds=[mfd])
        q.cmd_ok("xen-load-devices-state",
                 {"filename": "/dev/fdset/%d" % r["fdset-id"]})
        os.close(mfd)


def test_libxl_one_connection_per_command():
    with Dm(*DET) as dm:
        f = dm.path("x.devstate")
        for i in range(20):
            q = Qmp(dm.qmp_path, negotiate=False)
            q.send({"execute": "qmp_capabilities", "id": 1})
            check(q.reply() == {"return": {}, "id": 1}, "caps")
            cmd = ("xen-save-devices-state" if i % 2 == 0
                   else "xen-load-devices-state")
            q.send({"execute": cmd, "arguments": {"filename": f},
                    "id": i + 2})
            check(q.reply() == {"return": {}, "id": i + 2}, "%s #%d" % (cmd, i))
            q.close()
        check(dm.alive(), "alive after 20 connections")


def test_two_qmp_monitors_and_chardev():
    with Dm("-machine", "none", "-S", start=False) as dm:
        p2, p3 = dm.path("q2.sock"), dm.path("q3.sock")
        dm.args += ["-qmp", "unix:%s,server,nowait" % p2,
                    "-chardev", "socket,id=mon3,path=%s,server=on,wait=off" % p3,
                    "-mon", "chardev=mon3,mode=control"]
        dm.start()
        wait_for_path(p2, dm.proc)
        wait_for_path(p3, dm.proc)
        qs = [dm.connect(), Qmp(p2), Qmp(p3)]
        qs[1].cmd_ok("cont")
        check(qs[1].event_names() == ["RESUME"], "RESUME to the sender")
        for q in (qs[0], qs[2]):
            check(q.recv()["event"] == "RESUME", "RESUME on every monitor")
        for q in qs:
            check(q.status() == "running", "shared state")


def test_inherited_listening_fd():
    with Dm("-machine", "none", "-S", qmp=False, start=False) as dm:
        lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        path = dm.path("libxl.sock")
        lsock.bind(path)
        lsock.listen(1)
        fd = lsock.fileno()
        dm.pass_fds = (fd,)
        dm.args += ["-chardev",
                    "socket,id=libxl-cmd,fd=%d,server=on,wait=off" % fd,
                    "-mon", "chardev=libxl-cmd,mode=control"]
        dm.start()
        lsock.close()
        for _ in range(3):
            q = Qmp(path)
            check(q.status() == "prelaunch", "answers on the inherited fd")
            q.close()


def test_connect_out_like_libqtest():
    with Dm("-machine", "none", "-S", qmp=False, start=False) as dm:
        lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        path = dm.path("qtest.qmp")
        lsock.bind(path)
        lsock.listen(1)
        lsock.settimeout(10)
        dm.args += ["-chardev", "socket,path=%s,id=char0" % path,
                    "-mon", "chardev=char0,mode=control", "-display", "none"]
        dm.start()
        conn, _ = lsock.accept()
        lsock.close()
        q = Qmp.from_socket(conn)
        check(q.status() == "prelaunch", "QMP over the outgoing connection")


def test_tcp():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with Dm("-machine", "none", "-S", qmp=False, start=False) as dm:
        dm.args += ["-qmp", "tcp:127.0.0.1:%d,server=on,wait=off" % port]
        dm.start()
        # Qmp() retries a refused connect for TIMEOUT; a daemon that has
        # exited fails here at once instead of after every retry.
        try:
            q = Qmp(("127.0.0.1", port), family=socket.AF_INET)
        except ConnectionRefusedError:
            check(dm.alive(), "lockstep-dm exited: %s" % dm.proc.stderr.read())
            raise
        check(q.status() == "prelaunch", "tcp monitor")


# ---- QEMU 7.2's fd set cleanup rule --------------------------------------
# An fd set fd is closed only while the VM is running, and then only if it
# was removed with remove-fd, or no monitor is left (and no dup of its set
# is in use). The fd passed is a pipe's write end: once the daemon closes
# its copy, our read end sees EOF.

def dm_fd_count(dm):
    return len(os.listdir("/proc/%d/fd" % dm.proc.pid))


def close_and_sync(dm, q):
    """Closes monitor `q` and waits until the daemon has dropped it (its
    socket fd is closed after the session's cleanup ran)."""
    n = dm_fd_count(dm)
    q.close()
    end = time.monotonic() + 10
    while dm_fd_count(dm) >= n:
        check(time.monotonic() < end, "daemon never dropped the monitor")
        time.sleep(0.005)


def add_pipe(q):
    """add-fd of a pipe's write end; returns (read end, fd set id)."""
    r, w = os.pipe()
    info = q.cmd_ok("add-fd", fds=[w])
    os.close(w)
    return r, info["fdset-id"]


def closed_by_dm(r, timeout=0.0):
    return bool(select.select([r], [], [], timeout)[0])


def test_fdset_paused_kept_after_last_monitor():
    """libxl: add-fd on one connection, load on the next, VM paused."""
    with Dm(*DET) as dm:
        q = dm.connect()
        ref = dm.path("ref.devstate")
        q.cmd_ok("xen-save-devices-state", {"filename": ref})
        fd = os.open(ref, os.O_RDONLY)
        r, pid = add_pipe(q)
        info = q.cmd_ok("add-fd", fds=[fd])
        os.close(fd)
        close_and_sync(dm, q)
        check(not closed_by_dm(r), "paused: fd kept with no monitor left")
        q = dm.connect()
        q.cmd_ok("xen-load-devices-state",
                 {"filename": "/dev/fdset/%d" % info["fdset-id"]})
        sets = q.cmd_ok("query-fdsets")
        check([s["fdset-id"] for s in sets] == [info["fdset-id"], pid],
              "both sets kept after the load: %r" % sets)
        q.cmd_ok("stop")
        close_and_sync(dm, q)
        check(not closed_by_dm(r), "paused (stop): fd kept")


def test_fdset_running_closed_with_last_monitor():
    with Dm("-machine", "none") as dm:
        q = dm.connect()
        r, _ = add_pipe(q)
        close_and_sync(dm, q)
        check(closed_by_dm(r, 5), "running: fd closed with the last monitor")
        q = dm.connect()
        check(q.cmd_ok("query-fdsets") == [], "set freed")


def test_fdset_running_two_monitors():
    with Dm("-machine", "none") as dm:
        q1, q2 = dm.connect(), dm.connect()
        r, pid = add_pipe(q1)
        close_and_sync(dm, q1)
        check(not closed_by_dm(r), "running, a monitor left: fd kept")
        sets = q2.cmd_ok("query-fdsets")
        check(len(sets) == 1 and sets[0]["fdset-id"] == pid, "%r" % sets)
        close_and_sync(dm, q2)
        check(closed_by_dm(r, 5), "running: closed with the last monitor")


def test_fdset_removed_running():
    with Dm("-machine", "none") as dm:
        q, q2 = dm.connect(), dm.connect()
        r, pid = add_pipe(q)
        q.cmd_ok("remove-fd", {"fdset-id": pid})
        check(closed_by_dm(r), "running: remove-fd closes at once")
        check(q2.cmd_ok("query-fdsets") == [], "set freed")


def test_fdset_removed_paused():
    with Dm("-machine", "none", "-S") as dm:
        q, q2 = dm.connect(), dm.connect()
        r, pid = add_pipe(q)
        r2, pid2 = add_pipe(q)
        q.cmd_ok("remove-fd", {"fdset-id": pid})
        check(not closed_by_dm(r), "paused: remove-fd keeps the fd")
        sets = q.cmd_ok("query-fdsets")
        check([s["fdset-id"] for s in sets] == [pid2, pid],
              "a removed fd is still listed while held: %r" % sets)
        q.cmd_ok("cont")
        check(not closed_by_dm(r), "cont alone closes nothing")
        close_and_sync(dm, q)
        check(closed_by_dm(r, 5), "running: a removed fd goes at a close")
        check(not closed_by_dm(r2), "one not removed stays (monitor left)")
        check([s["fdset-id"] for s in q2.cmd_ok("query-fdsets")] == [pid2],
              "only the removed set is freed")


if __name__ == "__main__":
    run_tests([test_fdset_round_trip, test_memfd_fdset,
               test_libxl_one_connection_per_command,
               test_two_qmp_monitors_and_chardev, test_inherited_listening_fd,
               test_connect_out_like_libqtest, test_tcp,
               test_fdset_paused_kept_after_last_monitor,
               test_fdset_running_closed_with_last_monitor,
               test_fdset_running_two_monitors, test_fdset_removed_running,
               test_fdset_removed_paused])
