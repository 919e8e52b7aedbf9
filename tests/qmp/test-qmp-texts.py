"""End to end: QEMU 7.2's recorded QMP texts against the real lockstep-dm.

Starts build/lockstep-dm as scripts/record-qmp-texts started QEMU
(-machine none -S, working directory an empty temporary directory), sends
every request of tests/fixtures/qemu-7.2/qmp-texts.txt, each followed by
the recorder's sync request, and compares the replies before the sync
reply byte for byte with QEMU's, and the files each request created
(e.g. a save to "x\\u0000.evil" writes x\\xc0\\x80.evil, as QEMU) with
the file names QEMU created.
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "dm"))
import dmlib  # noqa: E402

SRC = os.environ.get("LOCKSTEP_SRC") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..")
FIXTURE = os.path.join(SRC, "tests", "fixtures", "qemu-7.2", "qmp-texts.txt")


SYNC = b'{"execute": "query-status", "id": "sync"}'


def load_fixture():
    """[(request, [replies], [created names])] from the fixture."""
    records = []
    with open(FIXTURE, "rb") as f:
        for line in f.read().split(b"\n"):
            if line.startswith(b"> "):
                records.append([line[2:], [], []])
            elif line.startswith(b"< "):
                records[-1][1].append(line[2:])
            elif line.startswith(b"= "):
                records[-1][2].append(line[2:].decode())
    return records


def escape_name(name):
    return "".join(chr(b) if 0x21 <= b <= 0x7e and b != 0x5c else
                   "\\x%02x" % b for b in name)


def created_files(workdir, keep):
    names = []
    for name in sorted(os.listdir(workdir.encode())):
        if name not in keep:
            names.append(escape_name(name))
            os.unlink(os.path.join(workdir.encode(), name))
    return names


def test_qemu_texts():
    records = load_fixture()
    dmlib.check(len(records) >= 50, "fixture has %d records" % len(records))
    workdir = tempfile.mkdtemp(prefix="qmp-texts-")
    sock_path = os.path.join(workdir, "q.sock")
    proc = subprocess.Popen(
        [dmlib.DM, "-machine", "none", "-S", "-nodefaults", "-display",
         "none", "-qmp", "unix:%s,server=on,wait=off" % sock_path],
        cwd=workdir, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE)
    try:
        dmlib.wait_for_path(sock_path, proc)
        qmp = dmlib.Qmp(sock_path)
        keep = set(os.listdir(workdir.encode()))
        bad = []
        for req, reply, files in records:
            qmp.send_raw(req + b"\n" + SYNC + b"\n")
            got = []
            while True:
                line = qmp.recv_line()
                if b'"id": "sync"' in line:
                    break
                got.append(line)
            made = created_files(workdir, keep)
            if got != reply or made != files:
                bad.append("request %r\n  qemu: %r %r\n  ours: %r %r" %
                           (req, reply, files, got, made))
        dmlib.check(not bad, "%d of %d differ:\n%s" %
                    (len(bad), len(records), "\n".join(bad)))
        qmp.close()
    finally:
        proc.kill()
        proc.wait()
        proc.stderr.close()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    socket.setdefaulttimeout(dmlib.TIMEOUT)
    dmlib.run_tests([test_qemu_texts])
