#!/usr/bin/env python3
"""lockstep-dm QMP behaviour against the QEMU 7.2 transcript
(shared/reference/qemu-7.2-transcript.md): greeting, negotiation, errors,
run states and their events, save/load semantics, quit and signals."""
import json
import os
import signal
import socket

from dmlib import Dm, Qmp, check, run_tests

GE = "GenericError"
CNF = "CommandNotFound"


def err(cls, desc):
    return {"error": {"class": cls, "desc": desc}}


def test_greeting_and_negotiation():
    with Dm("-machine", "none", "-S") as dm:
        q = dm.connect(negotiate=False)
        g = q.greeting["QMP"]
        check(g["version"]["qemu"] == {"micro": 0, "minor": 2, "major": 7},
              "greeting version %r" % g)
        check(g["version"]["package"].startswith("lockstep "),
              "package %r" % g)
        check(isinstance(g["capabilities"], list), "capabilities")
        check(q.cmd("query-status") == err(
            CNF, "Expecting capabilities negotiation with 'qmp_capabilities'"),
            "command before negotiation")
        check(q.cmd("qmp_capabilities") == {"return": {}}, "negotiation")
        check(q.cmd("qmp_capabilities") == err(
            CNF, "Capabilities negotiation is already complete, command "
            "ignored"), "second negotiation")


def test_errors_transcript():
    with Dm("-machine", "none", "-S") as dm:
        q = dm.connect()
        x = dm.path("x.bin")
        cases = [
            ({"execute": "no-such-command"},
             err(CNF, "The command no-such-command has not been found")),
            ({"execute": "xen-save-devices-state"},
             err(GE, "Parameter 'filename' is missing")),
            ({"execute": "xen-save-devices-state",
              "arguments": {"filename": 5}},
             err(GE, "Invalid parameter type for 'filename', expected: "
                 "string")),
            ({"execute": "xen-save-devices-state",
              "arguments": {"filename": x, "live": "yes"}},
             err(GE, "Invalid parameter type for 'live', expected: boolean")),
            ({"execute": "xen-save-devices-state",
              "arguments": {"filename": x, "bogus": 1}},
             err(GE, "Parameter 'bogus' is unexpected")),
            ({"execute": "xen-load-devices-state"},
             err(GE, "Parameter 'filename' is missing")),
            ({"execute": "xen-set-global-dirty-log"},
             err(GE, "Parameter 'enable' is missing")),
            ([1, 2], err(GE, "QMP input must be a JSON object")),
            ({"arguments": {}}, err(GE, "QMP input lacks member 'execute'")),
        ]
        for req, want in cases:
            q.send(req)
            got = q.reply()
            check(got == want, "%r -> %r, want %r" % (req, got, want))
        q.send_raw(b'{"execute": }\n')
        got = q.reply()
        check(got == err(GE, "JSON parse error, expecting value"),
              "bad JSON -> %r" % got)
        check(not os.path.exists(x), "failed save wrote a file")
        got = q.cmd("query-status", id="abc-1")
        check(got == {"return": {"status": "prelaunch", "singlestep": False,
                                 "running": False}, "id": "abc-1"},
              "id echo %r" % got)


def test_reply_framing():
    with Dm("-machine", "none", "-S") as dm:
        q = dm.connect()
        q.send({"execute": "query-status"})
        line = q.recv_line()
        check(line.startswith(b'{"return": {"status": "prelaunch", '
                              b'"singlestep": false, "running": false}}'),
              "QEMU spacing: %r" % line)
        check(q.buf == b"", "one reply, ends in \\r\\n")


def test_runstates_and_events():
    with Dm("-machine", "none", "-S") as dm:
        q = dm.connect()
        check(q.status() == "prelaunch", "-S gives prelaunch")
        q.cmd_ok("stop")
        check(q.event_names() == [], "stop in prelaunch: no event")
        check(q.status() == "prelaunch", "stop in prelaunch keeps prelaunch")
        q.cmd_ok("cont")
        check(q.event_names() == ["RESUME"], "cont from prelaunch: RESUME")
        r = q.cmd("query-status")["return"]
        check(r == {"status": "running", "singlestep": False,
                    "running": True}, "running %r" % r)
        q.cmd_ok("cont")
        check(q.event_names() == [], "cont while running: no event")
        q.cmd_ok("stop")
        check(q.event_names() == ["STOP"], "stop while running: STOP")
        check(q.status() == "paused", "paused after stop")
        q.cmd_ok("stop")
        check(q.event_names() == [], "stop while paused: no event")
        q.cmd_ok("cont")
        check(q.event_names() == ["RESUME"], "cont from paused: RESUME")


def test_event_shape_and_order():
    with Dm("-machine", "none") as dm:
        q = dm.connect()
        check(q.status() == "running", "no -S: running")
        q.send({"execute": "stop"})
        ev = q.recv()
        check(ev["event"] == "STOP" and set(ev) == {"timestamp", "event"},
              "STOP shape %r" % ev)
        check(set(ev["timestamp"]) == {"seconds", "microseconds"},
              "timestamp %r" % ev)
        check(q.recv() == {"return": {}}, "reply after the event")


def test_system_reset():
    with Dm("-machine", "none", "-S") as dm:
        q = dm.connect()
        q.send({"execute": "system_reset"})
        ev = q.recv()
        check(ev["event"] == "RESET" and ev["data"] == {
            "guest": False, "reason": "host-qmp-system-reset"},
            "RESET %r" % ev)
        check(q.recv() == {"return": {}}, "reply after RESET")
        check(q.status() == "prelaunch", "reset keeps prelaunch")


def test_query_name_version_commands():
    with Dm("-machine", "none", "-S") as dm:
        q = dm.connect()
        check(q.cmd_ok("query-name") == {}, "no -name: {}")
        v = q.cmd_ok("query-version")
        check(v["qemu"] == {"micro": 0, "minor": 2, "major": 7}, "version")
        check(v["package"].startswith("lockstep "), "package")
        names = {c["name"] for c in q.cmd_ok("query-commands")}
        want = {"qmp_capabilities", "query-version", "query-commands",
                "query-name", "query-status", "stop", "cont", "system_reset",
                "quit", "getfd", "closefd", "add-fd", "remove-fd",
                "query-fdsets", "xen-save-devices-state",
                "xen-load-devices-state", "xen-set-global-dirty-log"}
        check(want <= names, "missing commands: %r" % (want - names))
    with Dm("-machine", "none", "-S", "-name", "guest=vm1,debug-threads=on") \
            as dm:
        check(dm.connect().cmd_ok("query-name") == {"name": "vm1"}, "-name")


def test_save_running_events():
    with Dm("-machine", "none") as dm:
        q = dm.connect()
        f = dm.path("run.devstate")
        q.send({"execute": "xen-save-devices-state",
                "arguments": {"filename": f}})
        msgs = [q.recv(), q.recv(), q.recv()]
        check([m.get("event") for m in msgs[:2]] == ["STOP", "RESUME"],
              "STOP, RESUME first: %r" % msgs)
        check(msgs[2] == {"return": {}}, "then the reply")
        check(q.status() == "running", "still running")
        data = open(f, "rb").read()
        check(data[:8] == b"QEVM\0\0\0\3", "QEVM v3 header")
        check(b"globalstate" in data and b"running" in data,
              "globalstate says running")


def test_save_paused_prelaunch_no_events():
    with Dm("-machine", "none", "-S") as dm:
        q = dm.connect()
        f = dm.path("a.devstate")
        q.cmd_ok("xen-save-devices-state", {"filename": f})
        q.cmd_ok("xen-save-devices-state", {"filename": f, "live": False})
        q.cmd_ok("xen-save-devices-state", {"filename": f, "live": True})
        check(q.event_names() == [], "prelaunch save: no events")
        check(q.status() == "prelaunch", "still prelaunch")
        check(b"prelaunch" in open(f, "rb").read(),
              "globalstate holds the true run state")
        q.cmd_ok("cont")
        q.cmd_ok("stop")
        q.event_names()
        q.cmd_ok("xen-save-devices-state", {"filename": f})
        check(q.event_names() == [], "paused save: no events")
        check(q.status() == "paused", "still paused")


def test_save_bad_path():
    with Dm("-machine", "none") as dm:
        q = dm.connect()
        r = q.cmd("xen-save-devices-state",
                  {"filename": "/nonexistent-dir/x.devstate"})
        check(r == err(GE, "Unable to open /nonexistent-dir/x.devstate: No "
                       "such file or directory"), "bad path %r" % r)
        check(q.event_names() == ["STOP", "RESUME"],
              "running VM restarted after a failed save")
        check(q.status() == "running", "running")


def test_load_running_and_missing():
    with Dm("-machine", "none") as dm:
        q = dm.connect()
        f = dm.path("s.devstate")
        q.cmd_ok("xen-save-devices-state", {"filename": f})
        r = q.cmd("xen-load-devices-state", {"filename": f})
        check(r == err(GE, "Cannot update device state while vm is running"),
              "load while running %r" % r)
        check(q.status() == "running", "running")
        q.cmd_ok("stop")
        missing = dm.path("no-such-file")
        r = q.cmd("xen-load-devices-state", {"filename": missing})
        check(r == err(GE, "Unable to open %s: No such file or directory" %
                       missing), "missing %r" % r)
        check(q.status() == "paused", "paused")
        q.cmd_ok("xen-load-devices-state", {"filename": f})
        check(q.status() == "paused", "load keeps paused")
        q.event_names()
        q.cmd_ok("cont")
        check(q.event_names() == ["RESUME"], "cont after load")


def test_dirty_log():
    with Dm("-machine", "none", "-S") as dm:
        q = dm.connect()
        for en in (True, True, False, False):
            check(q.cmd("xen-set-global-dirty-log", {"enable": en}) ==
                  {"return": {}}, "dirty log")
        r = q.cmd("xen-set-global-dirty-log", {"enable": 1})
        check(r == err(GE, "Invalid parameter type for 'enable', expected: "
                       "boolean"), "enable type %r" % r)
        check(q.status() == "prelaunch", "no state change")


def test_quit():
    with Dm("-machine", "none", "-S") as dm:
        q = dm.connect()
        other = dm.connect()
        q.send({"execute": "quit"})
        ev = q.recv()
        check(ev["event"] == "SHUTDOWN" and ev["data"] == {
            "guest": False, "reason": "host-qmp-quit"}, "SHUTDOWN %r" % ev)
        check(q.recv() == {"return": {}}, "reply after SHUTDOWN")
        check(dm.wait() == 0, "exit status 0")
        check(other.recv()["event"] == "SHUTDOWN", "broadcast to others")


def test_signals():
    for sig in (signal.SIGTERM, signal.SIGINT):
        with Dm("-machine", "none", "-S") as dm:
            q = dm.connect()
            dm.proc.send_signal(sig)
            ev = q.recv()
            check(ev["event"] == "SHUTDOWN" and ev["data"] == {
                "guest": False, "reason": "host-signal"}, "%r" % ev)
            check(dm.wait() == 0, "exit 0 on signal %d" % sig)


def test_pc_machine_round_trip():
    with Dm("-S", "-nodefaults", "-accel", "qtest", "-rtc",
            "base=2006-06-17T16:01:21,clock=vm") as dm:
        q = dm.connect()
        a, b = dm.path("a"), dm.path("b")
        q.cmd_ok("xen-save-devices-state", {"filename": a})
        q.cmd_ok("xen-load-devices-state", {"filename": a})
        q.cmd_ok("xen-save-devices-state", {"filename": b})
        check(open(a, "rb").read() == open(b, "rb").read(),
              "save, load, save: same bytes")


if __name__ == "__main__":
    run_tests([test_greeting_and_negotiation, test_errors_transcript,
               test_reply_framing, test_runstates_and_events,
               test_event_shape_and_order, test_system_reset,
               test_query_name_version_commands, test_save_running_events,
               test_save_paused_prelaunch_no_events, test_save_bad_path,
               test_load_running_and_missing, test_dirty_log, test_quit,
               test_signals, test_pc_machine_round_trip])
