#!/usr/bin/env python3
"""lockstep-dm command line end to end: errors and exit status, -version,
-help, keys in any order, -pidfile, -daemonize, -qtest failure, machine
options that show in the saved stream."""
import os
import signal
import socket
import subprocess
import time

from dmlib import DM, Dm, check, run_tests, wait_for_path


def run(*args):
    p = subprocess.run([DM] + list(args), capture_output=True, text=True,
                       timeout=10, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


def test_unknown_option():
    rc, out, errtext = run("-foo")
    check(rc == 1, "exit 1, got %d" % rc)
    check(errtext == "lockstep-dm: -foo: invalid option\n",
          "stderr %r" % errtext)
    rc, _, errtext = run("-machine", "none", "-qmp")
    check(rc == 1 and "-qmp: requires an argument" in errtext, errtext)
    rc, _, errtext = run("-machine", "q35")
    check(rc == 1 and "machine" in errtext, errtext)


def test_version_help():
    rc, out, _ = run("-version")
    check(rc == 0, "exit 0")
    check("lockstep" in out and "7.2.0" in out, "version line %r" % out)
    rc, out, _ = run("-help")
    check(rc == 0 and "-qmp" in out and "-machine" in out, "help %r" % out)


def test_keys_any_order():
    with Dm(qmp=False, start=False) as dm:
        dm.qmp_path = dm.path("q.sock")
        dm.args = ["-machine", "section-footers=off,type=none", "-S",
                   "-mon", "mode=control,chardev=c0",
                   "-chardev", "socket,wait=off,path=%s,server=on,id=c0" %
                   dm.qmp_path, "-qmp"]
        dm.args += ["unix:%s,wait=off,server=on" % dm.path("q2.sock")]
        dm.start()
        q = dm.connect()
        check(q.status() == "prelaunch", "-S")
        f = dm.path("nf.devstate")
        q.cmd_ok("xen-save-devices-state", {"filename": f})
        data = open(f, "rb").read()
        # timer section: header(8) + 1+4+1+5+4+4 + 24 payload = 0x33; with
        # footers off the next byte starts a section, not 0x7e.
        check(data[0x33] != 0x7E, "section-footers=off honoured")
        wait_for_path(dm.path("q2.sock"), dm.proc)


def test_footers_default_on():
    with Dm("-machine", "none", "-S") as dm:
        q = dm.connect()
        f = dm.path("f.devstate")
        q.cmd_ok("xen-save-devices-state", {"filename": f})
        data = open(f, "rb").read()
        check(data[0x33:0x38] == b"\x7e\0\0\0\0", "timer footer, id 0")
        check(data[-1] == 0, "EOF byte")


def test_pidfile():
    with Dm("-machine", "none", "-S", start=False) as dm:
        pidfile = dm.path("dm.pid")
        dm.args += ["-pidfile", pidfile]
        dm.start()
        dm.connect()
        check(open(pidfile).read() == "%d\n" % dm.proc.pid, "pid file")
        dm.proc.send_signal(signal.SIGTERM)
        check(dm.wait() == 0, "exit 0")
        check(not os.path.exists(pidfile), "pid file removed at exit")


def test_second_instance_leaves_first_alone():
    """A second instance with the same -pidfile fails before it opens (or
    unlinks) any endpoint, and its exit removes nothing of the first's: the
    first stays reachable on its QMP, serial and qtest sockets."""
    with Dm("-machine", "pc", "-S", start=False) as dm:
        pidfile = dm.path("dm.pid")
        ser = dm.path("ser.sock")
        qt = dm.path("qtest.sock")
        dm.args += ["-pidfile", pidfile, "-nodefaults",
                    "-serial", "unix:%s,server=on,wait=off" % ser,
                    "-qtest", "unix:%s,server=on,wait=off" % qt]
        dm.start()
        dm.connect()
        rc, _, errtext = run(*dm.args)
        check(rc == 1, "second instance exits 1, got %d" % rc)
        check("cannot create PID file: Cannot lock pid file" in errtext,
              "QEMU's message: %r" % errtext)
        for path in (pidfile, dm.qmp_path, ser, qt):
            check(os.path.exists(path), "%s kept" % path)
        check(open(pidfile).read() == "%d\n" % dm.proc.pid, "first's pid")
        check(dm.connect().status() == "prelaunch", "first still reachable")
        for path in (ser, qt):
            s = socket.socket(socket.AF_UNIX)
            s.connect(path)
            s.close()


def test_second_instance_without_pidfile():
    """Without -pidfile, a socket another process listens on is not
    replaced: the second instance fails and the first keeps its socket."""
    with Dm("-machine", "none", "-S") as dm:
        dm.connect()
        rc, _, errtext = run(*dm.args)
        check(rc == 1, "second instance exits 1, got %d" % rc)
        check("Failed to bind socket to %s: Address already in use" %
              dm.qmp_path in errtext, "message %r" % errtext)
        check(dm.connect().status() == "prelaunch", "first still reachable")


def test_stale_socket_replaced():
    """A socket file nobody listens on (a killed instance's) is replaced;
    a regular file at the path is not."""
    with Dm("-machine", "none", "-S", start=False) as dm:
        s = socket.socket(socket.AF_UNIX)
        s.bind(dm.qmp_path)
        s.close()
        dm.start()
        check(dm.connect().status() == "prelaunch", "stale socket replaced")
        dm.stop()
        check(os.path.exists(dm.qmp_path), "SIGKILL leaves the socket")
        os.unlink(dm.qmp_path)
        open(dm.qmp_path, "w").close()
        rc, _, errtext = run(*dm.args)
        check(rc == 1 and "Address already in use" in errtext,
              "regular file kept: %d %r" % (rc, errtext))
        check(os.path.isfile(dm.qmp_path), "regular file still there")


def test_exit_unlinks_only_own_socket():
    """At exit the daemon unlinks its socket only if the path still names
    the socket it bound."""
    with Dm("-machine", "none", "-S") as dm:
        dm.connect()
        os.unlink(dm.qmp_path)
        other = socket.socket(socket.AF_UNIX)
        other.bind(dm.qmp_path)
        dm.proc.send_signal(signal.SIGTERM)
        check(dm.wait() == 0, "exit 0")
        check(os.path.exists(dm.qmp_path), "someone else's socket kept")
        other.close()


def test_comma_in_socket_paths():
    """",," is a comma in every socket path, as QemuOpts reads it: QMP,
    -serial unix: (also through -chardev socket,path=) and -qtest."""
    with Dm(qmp=False, start=False) as dm:
        dm.qmp_path = dm.path("q,1.sock")
        ser = dm.path("s,1.sock")
        ser2 = dm.path("s,2.sock")
        qt = dm.path("t,1.sock")
        esc = lambda p: p.replace(",", ",,")
        dm.args = ["-machine", "pc", "-S", "-nodefaults",
                   "-qmp", "unix:%s,server=on,wait=off" % esc(dm.qmp_path),
                   "-serial", "unix:%s,server=on,wait=off" % esc(ser),
                   "-chardev", "socket,id=c1,path=%s,server=on,wait=off" %
                   esc(ser2), "-serial", "chardev:c1",
                   "-qtest", "unix:%s,server=on,wait=off" % esc(qt)]
        dm.start()
        wait_for_path(dm.qmp_path, dm.proc)
        check(dm.connect().status() == "prelaunch", "QMP at its path")
        for path in (ser, ser2, qt):
            wait_for_path(path, dm.proc)
            s = socket.socket(socket.AF_UNIX)
            s.connect(path)
            s.close()


def test_daemonize():
    with Dm("-machine", "none", "-S", start=False) as dm:
        pidfile = dm.path("dm.pid")
        p = subprocess.run([DM] + dm.args + ["-daemonize", "-pidfile",
                                             pidfile],
                           capture_output=True, timeout=10,
                           stdin=subprocess.DEVNULL)
        check(p.returncode == 0, "parent exits 0: %r" % p.stderr)
        check(os.path.exists(dm.qmp_path), "listening before parent exits")
        pid = int(open(pidfile).read())
        try:
            q = dm.connect()
            check(q.status() == "prelaunch", "daemon answers")
            q.send({"execute": "quit"})
            q.reply()
        finally:
            end = time.monotonic() + 5
            while time.monotonic() < end:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.01)
            else:
                os.kill(pid, signal.SIGKILL)
                check(False, "daemon did not exit after quit")


def test_daemonize_failure():
    rc, _, errtext = run("-machine", "none", "-daemonize", "-qmp",
                         "unix:/nonexistent-dir/x.sock,server=on,wait=off")
    check(rc == 1, "parent reports the child's failure: %d" % rc)
    check("lockstep-dm:" in errtext, "message %r" % errtext)


def test_qtest_failure_exits():
    rc, _, errtext = run("-machine", "none", "-qtest",
                         "unix:/nonexistent-dir/qt.sock")
    check(rc == 1, "bad -qtest exits 1, got %d" % rc)
    check(errtext.startswith("lockstep-dm: "), "message %r" % errtext)


def test_noop_options():
    with Dm("-machine", "none", "-S", "-nographic", "-display", "none",
            "-audio", "none", "-nodefaults", "-no-fd-bootchk", "-boot",
            "order=cd,once=n", "-rtc", "base=utc,clock=vm") as dm:
        check(dm.connect().status() == "prelaunch", "accepted")


def test_sockets_owner_only():
    """Every unix socket the daemon listens on (QMP, -chardev monitor,
    -qtest, -serial) is mode 0600 even under umask 0: whoever can connect
    controls the VM or reads its console (docs/security.md)."""
    paths = ("q.sock", "mon.sock", "qt.sock", "com1.sock")
    with Dm(qmp=False, start=False) as dm:
        q, mon, qt, ser = (dm.path(p) for p in paths)
        dm.qmp_path = q
        dm.args = ["-machine", "pc", "-S", "-nodefaults",
                   "-qmp", "unix:%s,server=on,wait=off" % q,
                   "-chardev", "socket,id=m,path=%s,server=on,wait=off" % mon,
                   "-mon", "chardev=m,mode=control",
                   "-qtest", "unix:%s,server=on,wait=off" % qt,
                   "-serial", "unix:%s,server=on,wait=off" % ser]
        old = os.umask(0)
        try:
            dm.start()
        finally:
            os.umask(old)
        for path in (q, mon, qt, ser):
            wait_for_path(path, dm.proc)
            mode = os.lstat(path).st_mode & 0o777
            check(mode == 0o600, "%s: mode %o" % (path, mode))


def test_tcp_qmp_beyond_loopback_warns():
    """A tcp QMP listener on a non-loopback address warns at start (the
    address here is TEST-NET-1, never assigned: the bind then fails, so
    the test listens on no real interface); loopback ones do not."""
    port = "4444"
    for spec in ("-qmp tcp:192.0.2.1:%s,server=on,wait=off",
                 "-qmp tcp::%s,server=on,wait=off",
                 "-chardev socket,id=m,host=192.0.2.1,port=%s,server=on,"
                 "wait=off -mon chardev=m,mode=control"):
        rc, _, errtext = run("-machine", "none", *(spec % port).split(),
                             "-pidfile", "/nonexistent-dir/x.pid")
        check(rc == 1 and "beyond loopback" in errtext, "%s: %r" %
              (spec, errtext))
    for host in ("127.0.0.1", "[::1]", "localhost", "127.3.4.5"):
        rc, _, errtext = run("-machine", "none", "-qmp",
                             "tcp:%s:%s,server=on,wait=off" % (host, port),
                             "-pidfile", "/nonexistent-dir/x.pid")
        check(rc == 1 and "beyond loopback" not in errtext and
              "x.pid" in errtext, "%s: %r" % (host, errtext))


if __name__ == "__main__":
    run_tests([test_unknown_option, test_version_help, test_keys_any_order,
               test_footers_default_on, test_pidfile,
               test_second_instance_leaves_first_alone,
               test_second_instance_without_pidfile,
               test_stale_socket_replaced, test_exit_unlinks_only_own_socket,
               test_comma_in_socket_paths,
               test_daemonize,
               test_daemonize_failure, test_qtest_failure_exits,
               test_noop_options, test_sockets_owner_only,
               test_tcp_qmp_beyond_loopback_warns])
