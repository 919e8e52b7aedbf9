#!/usr/bin/env python3
"""lockstep-dm's I/O never busies or blocks its loop: idle CPU with every
serial backend connected to a peer; a FIFO or a pipe given to
xen-load-devices-state, or a full pipe or tty to xen-save-devices-state,
while another client is served; a qtest client that does not read its
replies."""
import os
import re
import socket
import subprocess
import time

from dmlib import (DM, Dm, Qmp, check, cpu_ticks, fail, run_tests,
                   wait_for_path)

# An idle daemon accrues (almost) no CPU time however loaded the machine
# is; a spinning one accrues about 100 ticks a second of the window.
IDLE_WINDOW_S = 1.0
IDLE_MAX_TICKS = 5


def check_idle(dm, what):
    time.sleep(0.1)
    before = cpu_ticks(dm.proc.pid)
    time.sleep(IDLE_WINDOW_S)
    spent = cpu_ticks(dm.proc.pid) - before
    check(spent <= IDLE_MAX_TICKS,
          "%s: idle daemon used %d ticks in %.1f s" %
          (what, spent, IDLE_WINDOW_S))
    check(dm.connect().status() == "running", "%s: still serving" % what)


def serial_dm(spec, **kw):
    return Dm("-machine", "pc", "-nodefaults", "-serial", spec, **kw)


def test_idle_serial_null():
    with serial_dm("null") as dm:
        check_idle(dm, "null")


def test_idle_serial_file():
    with Dm(qmp=False, start=False) as dm:
        dm.qmp_path = dm.path("qmp.sock")
        dm.args = ["-machine", "pc", "-nodefaults",
                   "-serial", "file:" + dm.path("out.txt"),
                   "-qmp", "unix:%s,server=on,wait=off" % dm.qmp_path]
        dm.start()
        check_idle(dm, "file")


def test_idle_serial_unix_server_with_client():
    with Dm(qmp=False, start=False) as dm:
        dm.qmp_path = dm.path("qmp.sock")
        ser = dm.path("ser.sock")
        dm.args = ["-machine", "pc", "-nodefaults",
                   "-serial", "unix:%s,server=on,wait=off" % ser,
                   "-qmp", "unix:%s,server=on,wait=off" % dm.qmp_path]
        dm.start()
        wait_for_path(ser, dm.proc)
        check_idle(dm, "unix server without a client")
        c = socket.socket(socket.AF_UNIX)
        c.connect(ser)
        check_idle(dm, "unix server with a client")
        # Input the guest never reads: the UART's receive buffer is full
        # and the rest waits in the kernel, unpolled.
        c.sendall(b"x" * 1000)
        check_idle(dm, "unix server with unread input")
        c.close()


def test_idle_serial_unix_client():
    with Dm(qmp=False, start=False) as dm:
        dm.qmp_path = dm.path("qmp.sock")
        ser = dm.path("ser.sock")
        lst = socket.socket(socket.AF_UNIX)
        lst.bind(ser)
        lst.listen(1)
        dm.args = ["-machine", "pc", "-nodefaults", "-serial", "unix:" + ser,
                   "-qmp", "unix:%s,server=on,wait=off" % dm.qmp_path]
        dm.start()
        lst.settimeout(10)
        peer, _ = lst.accept()
        check_idle(dm, "unix client")
        peer.close()
        lst.close()


def test_idle_serial_pty_with_reader():
    with serial_dm("pty") as dm:
        # "char device redirected to /dev/pts/N (label serial0)"
        line = dm.proc.stderr.readline().decode()
        m = re.search(r"redirected to (\S+) ", line)
        check(m is not None, "pty line %r" % line)
        check_idle(dm, "pty without a reader")
        fd = os.open(m.group(1), os.O_RDWR | os.O_NOCTTY)
        try:
            # The pty backend looks for a reader once a second.
            time.sleep(1.2)
            check_idle(dm, "pty with a reader")
        finally:
            os.close(fd)


def test_idle_serial_stdio_open_pipe():
    with Dm(qmp=False, start=False) as dm:
        dm.qmp_path = dm.path("qmp.sock")
        dm.proc = subprocess.Popen(
            [DM, "-machine", "pc", "-nodefaults", "-serial", "stdio",
             "-qmp", "unix:%s,server=on,wait=off" % dm.qmp_path],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE)
        wait_for_path(dm.qmp_path, dm.proc)
        try:
            check_idle(dm, "stdio on an open pipe")
        finally:
            dm.proc.stdin.close()


# A load that could block must answer at once; "at once" here is a
# liveness bound with a wide margin, not a timing target.
ANSWER_S = 3.0


def saved_stream(q, dm):
    path = dm.path("ref.devstate")
    q.cmd_ok("xen-save-devices-state", {"filename": path})
    with open(path, "rb") as f:
        return f.read()


def check_served(dm, what):
    """A new client gets its greeting and an answer while the load's
    client waits for its reply."""
    other = dm.connect()
    check(other.status() == "prelaunch", "%s: others served" % what)
    other.close()


def load_reply(q, filename):
    q.sock.settimeout(ANSWER_S)
    q.send({"execute": "xen-load-devices-state",
            "arguments": {"filename": filename}})
    r = q.reply()
    q.sock.settimeout(10)
    return r


def test_load_fifo_without_writer():
    with Dm("-machine", "pc", "-S") as dm:
        q = dm.connect()
        fifo = dm.path("state.fifo")
        os.mkfifo(fifo)
        r = load_reply(q, fifo)
        check(r.get("error", {}).get("desc") ==
              "Unable to read device state from %s: no data and no writer "
              "(lockstep-dm does not wait on a pipe or FIFO)"
              % fifo, "FIFO refused: %r" % r)
        check_served(dm, "FIFO")


def test_load_fifo_writer_keeps_open():
    with Dm("-machine", "pc", "-S") as dm:
        q = dm.connect()
        data = saved_stream(q, dm)
        fifo = dm.path("state.fifo")
        os.mkfifo(fifo)
        w = os.open(fifo, os.O_RDWR)  # a writer that never closes
        try:
            os.write(w, data[:100])
            r = load_reply(q, fifo)
            check("error" in r and "its writer has not closed it" in
                  r["error"]["desc"], "FIFO refused: %r" % r)
            check_served(dm, "FIFO with a writer")
        finally:
            os.close(w)


def test_load_pipe_fdset():
    """A pipe passed with add-fd is read as far as it holds data now: its
    writer still open is an error, at once; closed, the load works."""
    with Dm("-machine", "pc", "-S") as dm:
        q = dm.connect()
        data = saved_stream(q, dm)
        rfd, wfd = os.pipe()
        fdset = q.cmd_ok("add-fd", fds=[rfd])["fdset-id"]
        os.close(rfd)
        os.write(wfd, data[:100])
        r = load_reply(q, "/dev/fdset/%d" % fdset)
        check("error" in r and "its writer has not closed it" in
              r["error"]["desc"], "open pipe refused: %r" % r)
        check_served(dm, "pipe")
        os.close(wfd)

        rfd, wfd = os.pipe()
        check(len(data) < 65536, "the stream fits in a pipe")
        os.write(wfd, data)
        os.close(wfd)
        fdset = q.cmd_ok("add-fd", fds=[rfd])["fdset-id"]
        os.close(rfd)
        r = load_reply(q, "/dev/fdset/%d" % fdset)
        check(r == {"return": {}}, "closed pipe loads: %r" % r)


def test_load_char_device_refused():
    with Dm("-machine", "pc", "-S") as dm:
        q = dm.connect()
        r = load_reply(q, "/dev/zero")
        check(r.get("error", {}).get("desc") ==
              "Unable to read device state from /dev/zero: not a regular "
              "file, pipe, FIFO or socket", "char device: %r" % r)


def test_save_pipe_fdset():
    """A save into a pipe passed with add-fd writes only what the pipe
    takes now: a full pipe is an error at once, an empty one works."""
    import fcntl
    with Dm("-machine", "pc", "-S") as dm:
        q = dm.connect()
        data = saved_stream(q, dm)
        rfd, wfd = os.pipe()
        os.set_blocking(wfd, False)
        try:
            while True:
                os.write(wfd, b"x" * 4096)
        except BlockingIOError:
            pass
        os.set_blocking(wfd, True)  # the daemon must not rely on the flag
        fdset = q.cmd_ok("add-fd", fds=[wfd])["fdset-id"]
        os.close(wfd)
        q.sock.settimeout(ANSWER_S)
        r = q.cmd("xen-save-devices-state",
                  {"filename": "/dev/fdset/%d" % fdset})
        check(r.get("error", {}).get("desc") ==
              "Unable to write device state to /dev/fdset/%d: the pipe is "
              "full and its reader is not taking the data (lockstep-dm "
              "does not wait on a pipe or FIFO)" % fdset,
              "full pipe refused: %r" % r)
        check_served(dm, "full pipe")
        os.close(rfd)

        rfd, wfd = os.pipe()
        fdset = q.cmd_ok("add-fd", fds=[wfd])["fdset-id"]
        os.close(wfd)
        q.cmd_ok("xen-save-devices-state",
                 {"filename": "/dev/fdset/%d" % fdset})
        q.cmd_ok("remove-fd", {"fdset-id": fdset})
        got = b""
        while len(got) < len(data):
            got += os.read(rfd, 65536)
        check(got == data, "pipe got the stream")
        os.close(rfd)


def fill_tty(fd):
    """Writes into a pty slave until it takes nothing more, even after
    the kernel moved what it held to the (unread) master side."""
    os.set_blocking(fd, False)
    full = 0
    while full < 5:
        try:
            while True:
                os.write(fd, b"x" * 1024)
        except BlockingIOError:
            pass
        time.sleep(0.05)
        try:
            os.write(fd, b"x")
            full = 0
        except BlockingIOError:
            full += 1
    os.set_blocking(fd, True)  # the daemon must not rely on the flag


def test_save_tty_fdset():
    """A save into a tty passed with add-fd writes only what the tty takes
    now: a pty whose master is never read, filled first so that the save
    cannot complete, fails the save at once; another client is served and
    SIGTERM ends the daemon (a blocking write held the loop, QMP silent
    and SIGTERM ignored, until the tty drained)."""
    import signal
    import tty
    master, slave = os.openpty()
    try:
        fill_tty(slave)
        with Dm("-machine", "pc", "-S") as dm:
            q = dm.connect()
            fdset = q.cmd_ok("add-fd", fds=[slave])["fdset-id"]
            q.sock.settimeout(ANSWER_S)
            r = q.cmd("xen-save-devices-state",
                      {"filename": "/dev/fdset/%d" % fdset})
            desc = r.get("error", {}).get("desc", "")
            check(desc.startswith("Unable to write device state to "
                                  "/dev/fdset/%d: the character device is "
                                  "not taking the data now (0 of " % fdset)
                  and desc.endswith(" bytes written; lockstep-dm does not "
                                    "wait on a character device)"),
                  "full tty refused at once: %r" % r)
            check_served(dm, "full tty")
            dm.proc.send_signal(signal.SIGTERM)
            try:
                dm.proc.wait(timeout=ANSWER_S)
            except subprocess.TimeoutExpired:
                fail("SIGTERM did not end the daemon")
            check(True, "SIGTERM ends the daemon")
    finally:
        os.close(master)
        os.close(slave)
    master, slave = os.openpty()
    tty.setraw(slave)
    try:
        with Dm("-machine", "pc", "-S") as dm:
            q = dm.connect()
            data = saved_stream(q, dm)
            fdset = q.cmd_ok("add-fd", fds=[slave])["fdset-id"]
            q.cmd_ok("xen-save-devices-state",
                     {"filename": "/dev/fdset/%d" % fdset})
            got = b""
            while len(got) < len(data):
                got += os.read(master, 65536)
            check(got == data, "a tty with room got the whole stream")
    finally:
        os.close(master)
        os.close(slave)


def test_pipe_of_another_user():
    """A daemon that may not reopen a pipe (another user's: /proc/self/fd
    gives EACCES) polls it instead: an open pipe still fails the load at
    once, a full one the save, and a closed one loads."""
    if os.geteuid() != 0:
        print("SKIP test_pipe_of_another_user: needs root to run the "
              "daemon as another user")
        return
    with Dm(start=False) as dm:
        os.chmod(dm.dir, 0o777)
        dm.proc = subprocess.Popen([DM, "-machine", "pc", "-S"] + dm.args,
                                   stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, user=65534)
        wait_for_path(dm.qmp_path, dm.proc)
        q = dm.connect()
        data = saved_stream(q, dm)
        rfd, wfd = os.pipe()
        fdset = q.cmd_ok("add-fd", fds=[rfd])["fdset-id"]
        os.write(wfd, data[:100])
        r = load_reply(q, "/dev/fdset/%d" % fdset)
        check("error" in r and "its writer has not closed it" in
              r["error"]["desc"], "open pipe refused: %r" % r)
        check_served(dm, "another user's pipe")
        os.close(wfd)
        os.close(rfd)

        rfd, wfd = os.pipe()
        os.write(wfd, data)
        os.close(wfd)
        fdset = q.cmd_ok("add-fd", fds=[rfd])["fdset-id"]
        os.close(rfd)
        r = load_reply(q, "/dev/fdset/%d" % fdset)
        check(r == {"return": {}}, "closed pipe loads: %r" % r)

        rfd, wfd = os.pipe()
        os.set_blocking(wfd, False)
        try:
            while True:
                os.write(wfd, b"x" * 4096)
        except BlockingIOError:
            pass
        os.set_blocking(wfd, True)
        fdset = q.cmd_ok("add-fd", fds=[wfd])["fdset-id"]
        q.sock.settimeout(ANSWER_S)
        r = q.cmd("xen-save-devices-state",
                  {"filename": "/dev/fdset/%d" % fdset})
        check("error" in r and "the pipe is full" in r["error"]["desc"],
              "full pipe refused: %r" % r)
        os.close(wfd)
        os.close(rfd)


def qtest_dm(dm_dir_path):
    return ["-machine", "pc", "-S", "-accel", "qtest", "-qtest",
            "unix:%s,server=on,wait=off" % dm_dir_path]


def qtest_connect(path):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    end = time.monotonic() + 10
    while True:
        try:
            s.connect(path)
            return s
        except (ConnectionRefusedError, FileNotFoundError):
            if time.monotonic() > end:
                raise
            time.sleep(0.01)


def read_lines(s, n):
    buf = b""
    while buf.count(b"\n") < n:
        data = s.recv(65536)
        if not data:
            fail("qtest connection closed after %d lines" % buf.count(b"\n"))
        buf += data
    return buf.split(b"\n")[:n]


def test_qtest_replies_wait_for_a_slow_reader():
    """Replies a client has not read yet wait in the daemon, in order,
    while QMP is served."""
    with Dm(start=False) as dm:
        qt = dm.path("qtest.sock")
        dm.args = qtest_dm(qt) + dm.args
        dm.start()
        s = qtest_connect(qt)
        n = 20000
        s.sendall(b"inb 0x64\n" * n)
        time.sleep(0.2)
        q = dm.connect()
        q.sock.settimeout(ANSWER_S)
        check(q.status() == "prelaunch", "QMP served")
        lines = read_lines(s, n)
        check(all(l.startswith(b"OK 0x") for l in lines), "replies in order")
        s.close()


def test_qtest_client_not_reading_does_not_stall_qmp():
    """A client that sends without ever reading is dropped once its unread
    replies pass the cap; QMP answers throughout, and the next qtest
    client is served."""
    import threading
    with Dm(start=False) as dm:
        qt = dm.path("qtest.sock")
        dm.args = qtest_dm(qt) + dm.args
        dm.start()
        s = qtest_connect(qt)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        chunk = b"inb 0x64\n" * 10000

        def flood():
            try:
                for _ in range(100):  # 9 MB of requests, ~10 MB of replies
                    s.sendall(chunk)
            except OSError:
                pass  # dropped by the daemon: expected
        t = threading.Thread(target=flood, daemon=True)
        t.start()
        time.sleep(0.5)
        q = dm.connect()
        q.sock.settimeout(ANSWER_S)
        for _ in range(5):
            check(q.status() == "prelaunch", "QMP answers during the flood")
            time.sleep(0.1)
        t.join(20)
        check(not t.is_alive(), "the flooding client was dropped")
        s.close()
        s2 = qtest_connect(qt)
        s2.sendall(b"endianness\n")
        check(read_lines(s2, 1) == [b"OK little"], "next client served")
        s2.close()


if __name__ == "__main__":
    run_tests([test_idle_serial_null, test_idle_serial_file,
               test_idle_serial_unix_server_with_client,
               test_idle_serial_unix_client,
               test_idle_serial_pty_with_reader,
               test_idle_serial_stdio_open_pipe,
               test_load_fifo_without_writer, test_load_fifo_writer_keeps_open,
               test_load_pipe_fdset, test_load_char_device_refused,
               test_save_pipe_fdset, test_save_tty_fdset,
               test_pipe_of_another_user,
               test_qtest_replies_wait_for_a_slow_reader,
               test_qtest_client_not_reading_does_not_stall_qmp])
