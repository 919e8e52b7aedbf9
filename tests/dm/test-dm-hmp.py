#!/usr/bin/env python3
"""HMP (human-monitor-command), QOM, --preconfig and query-cpus-fast
against QEMU 7.2's texts, recorded by scripts/record-hmp-qom-texts into
tests/fixtures/qemu-7.2/hmp-qom-texts.txt.

Each recorded scenario is replayed against lockstep-dm started with the
same arguments. Replies and events (timestamps aside) must equal QEMU's
byte for byte, except where lockstep has a subset of what QEMU has: the
help listings, `info qtree`, `qom-list` and `qom-list-types`, where every
line, device block or entry lockstep prints must be QEMU's verbatim (and
in QEMU's order for the help lines), and query-commands."""
import json
import os
import subprocess

from dmlib import DM, Dm, check, run_tests

SRC = os.environ.get("LOCKSTEP_SRC") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..")
FIXTURE = os.path.join(SRC, "tests", "fixtures", "qemu-7.2",
                       "hmp-qom-texts.txt")


def load_fixture():
    """[(args, [(request, [lines])])]; lines keep their "< "/"! " tag."""
    scenarios = []
    with open(FIXTURE) as f:
        for line in f.read().split("\n"):
            if line.startswith("@ "):
                scenarios.append((line[2:].split(), []))
            elif line.startswith("> "):
                scenarios[-1][1].append((line[2:], []))
            elif line.startswith(("< ", "! ")):
                scenarios[-1][1][-1][1].append(line)
    return scenarios


def exchange(q, req):
    q.send_raw(req.encode() + b"\n")
    out = []
    while True:
        msg = json.loads(q.recv_line())
        if "event" in msg:
            del msg["timestamp"]
            out.append("! " + json.dumps(msg))
        else:
            out.append("< " + json.dumps(msg))
            return out


def hmp_line(req):
    r = json.loads(req)
    if r.get("execute") == "human-monitor-command":
        return r.get("arguments", {}).get("command-line")
    return None


def qtree_blocks(text):
    """Each 'dev:' block of a qtree, de-indented, as one string."""
    blocks, cur, indent = [], None, 0
    for line in text.split("\r\n"):
        stripped = line.lstrip(" ")
        depth = len(line) - len(stripped)
        if stripped.startswith("dev: "):
            cur, indent = [stripped], depth
            blocks.append(cur)
        elif cur is not None and depth > indent and \
                not stripped.startswith("bus: "):
            cur.append(" " * (depth - indent) + stripped)
        else:
            cur = None
    return ["\n".join(b) for b in blocks]


def subset_check(req, ours, qemu):
    """Compares where lockstep has a subset of QEMU; None if not such a
    request, else a list of problems."""
    r = json.loads(req)
    name, line = r.get("execute"), hmp_line(req)
    ret_q = json.loads(qemu[-1][2:]).get("return")
    ret_o = json.loads(ours[-1][2:]).get("return")
    if ret_o is None or ret_q is None:
        return None
    if line in ("help", "info", "help info"):
        lo, lq = ret_o.split("\r\n")[:-1], ret_q.split("\r\n")
        pos = [lq.index(x) if x in lq else -1 for x in lo]
        ok = lo and -1 not in pos and pos == sorted(pos)
        return [] if ok else ["help lines not QEMU's: %r" % lo]
    if line == "info qtree":
        bq = qtree_blocks(ret_q)
        bad = [b for b in qtree_blocks(ret_o) if b not in bq]
        return ["qtree blocks not QEMU's: %r" % bad] if bad else []
    if name in ("qom-list", "qom-list-types"):
        bad = [e for e in ret_o if e not in ret_q]
        if bad or bool(ret_o) != bool(ret_q):
            return ["entries not QEMU's: %r of %r" % (bad, ret_o)]
        return []
    if name == "query-commands":
        return [] if isinstance(ret_o, list) and ret_o else ["no commands"]
    return None


def replay(args, records):
    bad = []
    with Dm(*args) as dm:
        q = dm.connect()
        for req, qemu in records:
            ours = exchange(q, req)
            sub = subset_check(req, ours, qemu)
            if sub is None and ours != qemu:
                bad.append("%s\n  qemu: %r\n  ours: %r" % (req, qemu, ours))
            elif sub:
                bad.append("%s: %s" % (req, "; ".join(sub)))
    return bad


def test_qemu_texts():
    scenarios = load_fixture()
    check(len(scenarios) >= 5, "fixture has %d scenarios" % len(scenarios))
    bad = []
    for args, records in scenarios:
        bad += replay(args, records)
    check(not bad, "%d differ:\n%s" % (len(bad), "\n".join(bad)))


def hmp(q, line):
    return q.cmd_ok("human-monitor-command", {"command-line": line})


def test_info_version_and_quit():
    with Dm("-machine", "none", "-S") as dm:
        q = dm.connect()
        v = q.cmd_ok("query-version")
        check(hmp(q, "info version") == "%d.%d.%d%s\r\n" % (
            v["qemu"]["major"], v["qemu"]["minor"], v["qemu"]["micro"],
            v["package"]), "info version as query-version")
        check(hmp(q, "q") == "", "quit answers")
        check(q.event_names() == ["SHUTDOWN"], "SHUTDOWN before the reply")
        check(dm.wait() == 0, "exit 0 after quit")


def test_qtree_serials_and_none():
    with Dm("-nodefaults", "-S", "-serial", "null", "-serial", "null",
            "-serial", "null") as dm:
        t = hmp(dm.connect(), "info qtree")
        check(t.count("dev: isa-serial") == 3 and
              "index = 2 (0x2)\r\n    iobase = 1000 (0x3e8)\r\n"
              "    irq = 4 (0x4)" in t, "COM3 in qtree: %r" % t)
    with Dm("-machine", "none", "-S") as dm:
        check(hmp(dm.connect(), "info qtree") ==
              "bus: main-system-bus\r\n  type System\r\n", "none: no devices")


def test_unknown_command_with_u0000():
    # QMP keeps U+0000 as C0 80; HMP echoes the unknown word back, and the
    # reply writes it as \u0000 (QEMU's modified UTF-8), not an error.
    with Dm("-machine", "none", "-S") as dm:
        check(hmp(dm.connect(), "x\u0000y") ==
              "unknown command: 'x\u0000y'\r\n",
              "unknown command echoed with U+0000")


def test_rtc_time_follows_the_clock():
    with Dm("-nodefaults", "-S", "-accel", "qtest", "-rtc",
            "base=2006-06-17T23:59:58,clock=vm") as dm:
        q = dm.connect()
        t = q.cmd_ok("qom-get", {"path": "/machine", "property": "rtc-time"})
        check((t["tm_mday"], t["tm_hour"], t["tm_sec"]) == (17, 23, 58),
              "%r" % t)


def test_vga():
    out = subprocess.run([DM, "-machine", "none", "-vga", "std", "-S"],
                         capture_output=True, text=True, timeout=10)
    check(out.returncode != 0 and "-vga std: only 'none' is supported" in
          out.stderr, "-vga std refused: %r" % out.stderr)
    with Dm("-machine", "none", "-display", "none", "-vga", "none") as dm:
        check(dm.connect().status() == "running", "-vga none accepted")


if __name__ == "__main__":
    run_tests([test_qemu_texts, test_info_version_and_quit,
               test_qtree_serials_and_none, test_unknown_command_with_u0000,
               test_rtc_time_follows_the_clock,
               test_vga])
