#!/usr/bin/env python3
"""QEMU 7.2's own Python tooling driving lockstep-dm, unchanged: the
QEMUMachine class (python/qemu/machine) launches it with its usual
arguments (-display none -vga none -chardev socket,id=mon,fd=N -mon ...,
N one end of a connected socketpair), runs commands, waits for events and
shuts it down; qmp-shell (python/qemu/qmp/qmp_shell.py) talks to it in QMP
and in HMP (-H) mode.

Needs QEMU's python/ on PYTHONPATH (scripts/peer-tests sets it from
Debian's QEMU 7.2 source); run by `make peer-tests`, not by make check.
"""
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "dm"))
from dmlib import DM, Dm, check, run_tests  # noqa: E402
from qemu.machine import QEMUMachine  # noqa: E402


def test_qemumachine_socketpair():
    vm = QEMUMachine(DM, args=["-machine", "pc", "-S", "-nodefaults",
                               "-name", "peer"])
    vm.launch()
    try:
        check(vm.command("query-status")["status"] == "prelaunch", "status")
        check(vm.command("query-name") == {"name": "peer"}, "name")
        r = vm.qmp("human-monitor-command",
                   **{"command-line": "info status"})
        check(r == {"return": "VM status: paused (prelaunch)\r\n"}, "%r" % r)
        vm.command("cont")
        ev = vm.event_wait("RESUME", timeout=10)
        check(ev is not None and ev["event"] == "RESUME", "RESUME %r" % ev)
        r = vm.qmp("qom-get", path="/machine", property="type")
        check(r == {"return": "pc-i440fx-7.2-machine"}, "%r" % r)
    finally:
        vm.shutdown()
    check(vm.exitcode() == 0, "exit code %r" % vm.exitcode())


def test_qemumachine_unix_monitor():
    d = tempfile.mkdtemp(prefix="lsqm-")
    try:
        vm = QEMUMachine(DM, args=["-machine", "none"],
                         monitor_address=os.path.join(d, "m.sock"))
        vm.launch()
        check(vm.command("query-status")["status"] == "running", "status")
        vm.shutdown()
        check(vm.exitcode() == 0, "exit code %r" % vm.exitcode())
    finally:
        shutil.rmtree(d, ignore_errors=True)


def qmp_shell(sock, lines, *opts):
    out = subprocess.run(
        [sys.executable, "-m", "qemu.qmp.qmp_shell"] + list(opts) + [sock],
        input="".join(x + "\n" for x in lines), capture_output=True,
        text=True, timeout=30)
    check(out.returncode == 0, "qmp-shell %r: %s" % (opts, out.stderr))
    return out.stdout


def test_qmp_shell():
    with Dm("-machine", "pc", "-S", "-nodefaults") as dm:
        out = qmp_shell(dm.qmp_path, ["query-status",
                                      "qom-get path=/machine property=type",
                                      "stop foo=1"])
        check("Connected to QEMU 7.2.0" in out, out)
        check('{"return": {"status": "prelaunch", "singlestep": false, '
              '"running": false}}' in out, out)
        check('{"return": "pc-i440fx-7.2-machine"}' in out, out)
        check("Parameter 'foo' is unexpected" in out, out)
        out = qmp_shell(dm.qmp_path, ["info status", "cont", "info status"],
                        "-H")
        check("VM status: paused (prelaunch)" in out and
              "VM status: running" in out, out)


if __name__ == "__main__":
    check(os.path.exists(DM), "no lockstep-dm at " + DM)
    run_tests([test_qemumachine_socketpair, test_qemumachine_unix_monitor,
               test_qmp_shell])
