#!/usr/bin/env python3
"""`lockstep qmp` as people use it, on a pseudo-terminal against a real
lockstep-dm: readline editing (arrow keys recall history instead of
printing ^[[A), history kept across sessions in LOCKSTEP_QMP_HISTORY, tab
completion of command names and of argument names, events printed as
they arrive while the prompt waits, and --pretty."""
import json
import os
import pty
import select
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "dm"))
from dmlib import BUILD, Dm, Qmp, check, run_tests  # noqa: E402

LOCKSTEP = os.path.join(BUILD, "lockstep")
UP = b"\x1b[A"


class Shell:
    """lockstep qmp ADDR with a pty as its terminal."""

    def __init__(self, dm, *opts):
        master, slave = pty.openpty()
        env = dict(os.environ, TERM="xterm",
                   LOCKSTEP_QMP_HISTORY=dm.path("history"))
        self.proc = subprocess.Popen(
            [LOCKSTEP, "qmp"] + list(opts) + ["unix:" + dm.qmp_path],
            stdin=slave, stdout=slave, stderr=slave, env=env)
        os.close(slave)
        self.fd = master
        self.seen = b""
        self.expect(b"(QMP) ")

    def expect(self, needle, timeout=10):
        """Reads until `needle` appears after what earlier calls took."""
        end = time.monotonic() + timeout
        while needle not in self.seen:
            left = end - time.monotonic()
            check(left > 0, "no %r in %r" % (needle, self.seen))
            if select.select([self.fd], [], [], left)[0]:
                try:
                    data = os.read(self.fd, 4096)
                except OSError:
                    data = b""
                check(data, "shell ended; output %r" % self.seen)
                self.seen += data
        got, self.seen = self.seen.split(needle, 1)
        return got + needle

    def type(self, data):
        os.write(self.fd, data)

    def prompt(self):
        """Waits for the prompt: readline has the terminal in raw mode
        again (between a line and the next prompt it is cooked, where a
        ^D would be the tty's end of file, lost on the switch)."""
        self.expect(b"(QMP) ")

    def quit(self):
        self.prompt()
        self.type(b"\x04")
        check(self.proc.wait(10) == 0, "exit 0 on end of input")
        os.close(self.fd)


def test_completion():
    with Dm("-machine", "none", "-S") as dm:
        sh = Shell(dm)
        sh.type(b"query-sta\t")
        sh.expect(b"query-status ")
        sh.type(b"\r")
        sh.expect(b'"status": "prelaunch"')
        sh.prompt()
        sh.type(b"qom-get pa\t")
        sh.expect(b"path=")
        sh.type(b"/machine pro\t")
        sh.expect(b"property=")
        sh.type(b"type\r")
        sh.expect(b'"none-machine"')
        sh.quit()


def test_history_across_sessions():
    with Dm("-machine", "none", "-S", "-name", "hist") as dm:
        sh = Shell(dm)
        sh.type(b"query-name\r")
        sh.expect(b'{"name": "hist"}')
        sh.quit()
        check("query-name" in open(dm.path("history")).read(),
              "history file written")
        sh = Shell(dm)
        sh.type(UP)
        sh.expect(b"query-name")
        sh.type(b"\r")
        sh.expect(b'{"name": "hist"}')
        check(b"^[[A" not in sh.seen, "no raw escape printed")
        sh.quit()


def test_events_as_they_arrive():
    with Dm("-machine", "none", "-S") as dm:
        sh = Shell(dm)
        sh.type(b"query-st")
        q = Qmp(dm.qmp_path)
        q.cmd_ok("cont")
        sh.expect(b'"event": "RESUME"')
        sh.expect(b"(QMP) query-st")  # the edited line is redrawn
        sh.type(b"atus\r")
        sh.expect(b'"status": "running"')
        sh.quit()


def test_pretty():
    with Dm("-machine", "none", "-S") as dm:
        out = subprocess.run([LOCKSTEP, "qmp", "--pretty",
                              "unix:" + dm.qmp_path, "query-status"],
                             capture_output=True, text=True, timeout=10)
        check(out.returncode == 0, out.stderr)
        check(out.stdout.count("\n") == 5 and json.loads(out.stdout) == {
            "status": "prelaunch", "singlestep": False, "running": False},
            "indented: %r" % out.stdout)
        sh = Shell(dm, "--pretty")
        sh.type(b"query-status\r")
        sh.expect(b'{\r\n    "status": "prelaunch",')
        sh.quit()


if __name__ == "__main__":
    run_tests([test_completion, test_history_across_sessions,
               test_events_as_they_arrive, test_pretty])
