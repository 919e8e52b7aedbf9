#!/usr/bin/env python3
"""End-to-end test of the lockstep CLI: dump, check and diff on the
committed QEMU 7.2 fixtures, qmp against a real lockstep-dm, the colo
stub. Runs the real binaries; temp files only."""
import json
import os
import resource
import stat
import subprocess
import sys
import tempfile

BUILD = os.environ.get("LOCKSTEP_BUILD", "build")
SRC = os.environ.get("LOCKSTEP_SRC", ".")
LOCKSTEP = os.path.join(BUILD, "lockstep")
FIX = os.path.join(SRC, "tests", "fixtures", "qemu-7.2")
PRE = os.path.join(FIX, "pc-tcg-prelaunch.devstate")
RAN = os.path.join(FIX, "pc-tcg-ran1s.devstate")
SCHEMA = os.path.join(FIX, "vmdesc-pc.json")


def run(*args, limit_as=None):
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (limit_as, limit_as))
    p = subprocess.run([LOCKSTEP, *args], capture_output=True, text=True,
                       timeout=60, preexec_fn=limit if limit_as else None)
    return p.returncode, p.stdout, p.stderr


def test_hostile_vmdesc(tmp):
    """Issue 7: 400 bytes of vmdesc (arrays of zero-byte elements nested
    three deep) made check allocate 4 GB and die in g_malloc. Now: exit 2
    and the reason. The address-space limit keeps a regression from
    taking the machine's memory (not under ASan, which reserves terabytes
    of address space up front)."""
    leaf = {"name": "c", "array_len": 4000, "type": "uint8", "size": 0}
    for name in ("b", "a"):
        leaf = {"name": name, "array_len": 4000, "type": "struct",
                "size": 0, "struct": {"vmsd_name": name, "version": 1,
                                      "fields": [leaf]}}
    schema = os.path.join(tmp, "hostile.json")
    with open(schema, "w") as f:
        json.dump({"devices": [{"name": "i8254", "instance_id": 0,
                                "vmsd_name": "i8254", "version": 3,
                                "fields": [leaf]}]}, f)
    expect(os.path.getsize(schema) < 450, "hostile vmdesc is small")
    limit = None if "ASAN_OPTIONS" in os.environ else 1 << 30
    for cmd in ("check", "dump"):
        rc, out, err = run(cmd, PRE, "--schema", schema, limit_as=limit)
        expect(rc == 2 and "field 'c[0]': an array element of zero bytes"
               in out + err, cmd + " --schema hostile vmdesc: exit 2, why")


def expect(cond, what):
    if not cond:
        print("FAIL:", what)
        sys.exit(1)
    print("ok:", what)


def main():
    rc, out, _ = run("dump", PRE)
    lines = [l for l in out.splitlines() if l.startswith("section ")]
    expect(rc == 0 and len(lines) == 30, "dump lists 30 sections")
    expect("section 40 'globalstate' instance 0 version 1" in out,
           "dump shows ids and versions")
    rc, out, _ = run("dump", PRE, "--schema", SCHEMA, "--json")
    j = json.loads(out)
    pit = [s for s in j["sections"] if s["idstr"] == "i8254"][0]
    expect(rc == 0 and pit["decoded"] and pit["payload_len"] == 108,
           "dump --schema --json decodes i8254")
    expect(pit["fields"][1]["fields"][0]["fields"][0]["value"] == "65536",
           "i8254 channel 0 count")

    rc, out, _ = run("check", PRE)
    expect(rc == 0 and "valid: 30 sections" in out, "check good file")
    expect("checked: framing; no load check: sections lockstep-dm does not "
           "have: 'kvm-tpr-opt' 0, 'apic' 0, 'fw_cfg' 0, 'PCIHost' 0 and 13 "
           "more" in out, "check says a QEMU file gets framing only, and why")
    rc, out, _ = run("check", RAN, "--schema", SCHEMA)
    expect(rc == 0 and "checked: framing, vmdesc layout (29 of 30 sections)"
           in out, "check good file with schema")
    with tempfile.TemporaryDirectory() as tmp:
        cut = os.path.join(tmp, "cut.devstate")
        with open(PRE, "rb") as f:
            data = f.read()
        with open(cut, "wb") as f:
            f.write(data[:5000])
        rc, out, _ = run("check", cut)
        expect(rc == 2 and "invalid" in out and "offset 0x" in out,
               "check truncated copy: exit 2 and where")
        garbage = os.path.join(tmp, "garbage")
        with open(garbage, "wb") as f:
            f.write(b"not a stream at all")
        rc, _, err = run("diff", PRE, garbage)
        expect(rc == 2 and "Not a migration stream" in err, "diff garbage")
        rc, _, err = run("check", os.path.join(tmp, "missing"))
        expect(rc == 2, "check missing file")
        test_hostile_vmdesc(tmp)

    rc, out, _ = run("diff", PRE, PRE)
    expect(rc == 0 and out.strip() == "same", "diff same file")
    rc, out, _ = run("diff", PRE, RAN, "--schema", SCHEMA)
    expect(rc == 1 and "section 'i8259' instance 0: field 'imr': 0 -> 184"
           in out, "diff prelaunch vs ran1s names the field")
    rc, out, _ = run("diff", PRE, RAN, "--json")
    expect(rc == 1 and not json.loads(out)["same"], "diff --json")

    rc, _, err = run("colo")
    expect(rc == 2 and "usage: lockstep colo primary|secondary" in err,
           "colo without a side")
    rc, _, _ = run("bogus")
    expect(rc == 2, "unknown subcommand")
    test_own_schema_stdin_errors()
    test_qmp()
    test_footerless()


def run_bytes(stdin, *args):
    p = subprocess.run([LOCKSTEP, *args], capture_output=True, input=stdin,
                       timeout=60)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def test_own_schema_stdin_errors():
    """Without --schema, lockstep's own descriptions decode by field name
    (integers in decimal and hex, buffers as hex with ASCII); '-' is
    stdin; an error line names its file once."""
    rc, out, _ = run("dump", PRE)
    expect(rc == 0 and "        count (int32) @0x" in out and
           "imr (uint8) @0x" in out, "dump decodes by field name, no schema")
    expect(" = 65536 (0x00010000)" in out, "integers in decimal and hex")
    expect("cmos_data (buffer) @0x" in out and "  |..." in out,
           "buffers as hex with ASCII")
    with open(PRE, "rb") as f:
        data = f.read()
    rc, out2, _ = run_bytes(data, "dump", "-")
    expect(rc == 0 and out2.split("\n", 1)[1] == out.split("\n", 1)[1] and
           out2.startswith("-: 30 sections"), "dump - reads stdin")
    rc, out, _ = run_bytes(data, "check", "-")
    expect(rc == 0 and out.startswith("-: valid: 30 sections"),
           "check - reads stdin")
    rc, out, _ = run_bytes(data, "diff", "-", PRE)
    expect(rc == 0 and out.strip() == "same", "diff - reads stdin")
    with open(SCHEMA, "rb") as f:
        schema = f.read()
    rc, out, _ = run_bytes(schema, "dump", PRE, "--schema", "-", "--json")
    pit = [x for x in json.loads(out)["sections"] if x["idstr"] == "i8254"]
    expect(rc == 0 and pit[0]["decoded"], "--schema - reads stdin")
    rc, _, err = run_bytes(b"[]", "dump", PRE, "--schema", "-")
    expect(rc == 2 and err.startswith("lockstep dump: -: not a vmdesc JSON"),
           "a bad schema on stdin: %r" % err)
    with tempfile.TemporaryDirectory() as tmp:
        missing = os.path.join(tmp, "missing")
        rc, out, err = run("check", missing)
        expect(rc == 2 and (out + err).count(missing) == 1,
               "check names a missing file once: %r" % (out + err))
        rc, out, err = run("dump", missing)
        expect(rc == 2 and (out + err).count(missing) == 1,
               "dump names a missing file once: %r" % (out + err))
        rc, out, err = run("diff", PRE, missing)
        expect(rc == 2 and (out + err).count(missing) == 1 and
               PRE not in err, "diff names the missing file once")


def run_in(stdin, *args):
    p = subprocess.run([LOCKSTEP, *args], capture_output=True, text=True,
                       timeout=60, input=stdin)
    return p.returncode, p.stdout, p.stderr


def test_check_load(addr, dev, tmp):
    """check runs the daemon's own load on lockstep's files: a PIT count
    of 0 (framing intact) is refused with the daemon's very message."""
    rc, out, _ = run("check", dev)
    expect(rc == 0 and out.endswith(
        ": checked: framing, full load into lockstep-dm's pc machine "
        "(with four UARTs)\n"),
        "check a lockstep-dm file: full load")
    rc, out, _ = run("dump", dev, "--schema", SCHEMA, "--json")
    pit = [x for x in json.loads(out)["sections"] if x["idstr"] == "i8254"][0]
    count = pit["fields"][1]["fields"][0]["fields"][0]
    expect(count["name"] == "count" and count["value"] == "65536",
           "PIT channel 0 count located")
    with open(dev, "rb") as f:
        data = bytearray(f.read())
    data[count["offset"]:count["offset"] + 4] = bytes(4)
    bad = os.path.join(tmp, "count0.devstate")
    with open(bad, "wb") as f:
        f.write(data)
    rc, _, err = run("qmp", addr, "xen-load-devices-state", "filename=" + bad)
    expect(rc == 1 and err.startswith("GenericError: ") and
           "field 'count': 0 out of range 1..65536" in err,
           "the daemon refuses PIT count=0")
    daemon_msg = err[len("GenericError: "):].rstrip("\n")
    rc, out, _ = run("check", bad)
    expect(rc == 2 and out == bad + ": invalid: " + daemon_msg + "\n",
           "check refuses it with the daemon's message")


def test_qmp():
    """lockstep qmp against a real lockstep-dm: one-shot and shell."""
    with tempfile.TemporaryDirectory() as tmp:
        sock = os.path.join(tmp, "qmp.sock")
        addr = "unix:" + sock
        dm = subprocess.Popen([os.path.join(BUILD, "lockstep-dm"), "-S",
                               "-machine", "pc", "-nodefaults", "-qmp",
                               addr + ",server=on,wait=off"],
                              stdin=subprocess.DEVNULL)
        try:
            for _ in range(1000):
                rc, out, err = run("qmp", addr, "query-status")
                if rc != 2:
                    break
            expect(rc == 0 and json.loads(out)["status"] == "prelaunch",
                   "qmp one-shot query-status")
            dev = os.path.join(tmp, "x.devstate")
            rc, out, _ = run("qmp", addr, "xen-save-devices-state",
                             "filename=" + dev, "live=false")
            expect(rc == 0 and out.strip() == "{}" and os.path.exists(dev),
                   "qmp key=value arguments (string, JSON boolean)")
            test_check_load(addr, dev, tmp)
            rc, _, err = run("qmp", addr, "xen-load-devices-state",
                             "filename=" + os.path.join(tmp, "missing"))
            expect(rc == 1 and err.startswith("GenericError: Unable to open"),
                   "qmp error reply: class and desc, exit 1")
            rc, out, err = run_in('cont\n{"execute": "query-status"}\n'
                                  'no-such\nstop\n', "qmp", addr)
            lines = [json.loads(l) for l in out.splitlines()]
            events = [l["event"] for l in lines if "event" in l]
            expect(rc == 0 and "QMP" in lines[0] and
                   events == ["RESUME", "STOP"] and
                   {"status": "running", "singlestep": False,
                    "running": True} in lines and
                   "CommandNotFound: The command no-such has not been found"
                   in err, "qmp shell: requests, raw JSON, events, errors")
            fifo = os.path.join(tmp, "fifo")
            os.mkfifo(fifo)
            rc, _, err = run("qmp", addr, "xen-save-devices-state",
                             "filename=" + fifo)
            expect(rc == 1 and "no process has it open for reading" in err
                   and stat.S_ISFIFO(os.lstat(fifo).st_mode),
                   "save to a FIFO with no reader: refused, FIFO kept")
            rc, out, _ = run("qmp", addr, "query-status")
            expect(rc == 0, "the daemon still answers after it")
            rc, _, err = run("qmp", "unix:" + os.path.join(tmp, "none"),
                             "query-status")
            expect(rc == 2, "qmp connection failure exits 2")
        finally:
            dm.kill()
            dm.wait()

def start_dm(tmp, *machine):
    """A lockstep-dm on a QMP socket in tmp; (process, address)."""
    addr = "unix:" + os.path.join(tmp, "qmp.sock")
    dm = subprocess.Popen([os.path.join(BUILD, "lockstep-dm"), "-S",
                           "-machine", ",".join(("pc",) + machine),
                           "-nodefaults", "-qmp",
                           addr + ",server=on,wait=off"],
                          stdin=subprocess.DEVNULL)
    for _ in range(1000):
        rc, _, _ = run("qmp", addr, "query-status")
        if rc != 2:
            break
    expect(rc == 0, "lockstep-dm answers on " + addr)
    return dm, addr


def test_footerless():
    """A file saved with section-footers=off: the daemon loads it, and
    without --schema check, dump and diff frame it with lockstep's own
    descriptions (so check runs the full load); a footerless file with a
    section lockstep does not know still gets the clear error."""
    with tempfile.TemporaryDirectory() as tmp:
        dm, addr = start_dm(tmp, "section-footers=off")
        try:
            a, b = (os.path.join(tmp, n + ".devstate") for n in "ab")
            run("qmp", addr, "xen-save-devices-state", "filename=" + a)
            run("qmp", addr, "cont")
            run("qmp", addr, "stop")
            run("qmp", addr, "xen-save-devices-state", "filename=" + b)
            with open(a, "rb") as f:
                data = bytearray(f.read())
            expect(b"\x7e" not in data[:0x40], "the file has no footers")
            rc, out, err = run("check", a)
            expect(rc == 0 and ", footers off\n" in out and out.endswith(
                "full load into lockstep-dm's pc machine "
                "(with four UARTs)\n"),
                "check a footerless lockstep-dm file: %r" % (out + err))
            rc, out, _ = run("dump", a)
            expect(rc == 0 and "        count (int32) @0x" in out,
                   "dump decodes a footerless file")
            rc, out, _ = run("diff", a, b)
            expect(rc == 1 and "section 'timer' instance 0: field "
                   "'cpu_ticks_offset': 0 -> " in out,
                   "diff of two footerless files")
            rc, out, _ = run("dump", a, "--json")
            pit = [x for x in json.loads(out)["sections"]
                   if x["idstr"] == "i8254"][0]
            count = pit["fields"][1]["fields"][0]["fields"][0]
            expect(count["name"] == "count", "footerless PIT count located")
            data[count["offset"]:count["offset"] + 4] = bytes(4)
            bad = os.path.join(tmp, "count0.devstate")
            with open(bad, "wb") as f:
                f.write(data)
            rc, _, err = run("qmp", addr, "xen-load-devices-state",
                             "filename=" + bad)
            expect(rc == 1 and "field 'count': 0 out of range" in err,
                   "the daemon refuses the footerless PIT count=0")
            rc, out, _ = run("check", bad)
            expect(rc == 2 and out == bad + ": invalid: " +
                   err[len("GenericError: "):], "check: the daemon's message")
            i = data.index(b"\x05timer")
            data[i + 1:i + 6] = b"tim3r"
            with open(bad, "wb") as f:
                f.write(data)
            rc, out, _ = run("check", bad)
            expect(rc == 2 and "section 'tim3r' instance 0" in out and
                   "no section footers to find its end" in out,
                   "an unknown footerless section: the clear error")
        finally:
            dm.kill()
            dm.wait()


if __name__ == "__main__":
    main()
