#!/usr/bin/env python3
"""QEMU 7.2 compatibility: lockstep-dm against QEMU's recorded answers.

For every tests/compat/seq/NAME.qtest with fixtures in
tests/fixtures/qemu-compat/ (made by scripts/make-fixtures from real QEMU):

  forward   play the sequence on lockstep-dm (same options, -accel qtest);
            every reply line must equal QEMU's; save over QMP; every
            section both files hold (except `timer`, host offsets in QEMU)
            must be byte-identical, with QEMU's section ids and order (the
            RTC too when the case runs it with clock=vm); then
            the read-back sequence must answer as QEMU did after its save.
  load      start a fresh lockstep-dm (-machine pc,unknown-sections=skip),
            stop it, load QEMU's file (its `timer` section set to QEMU's
            virtual time at the save), cont, play the read-back sequence:
            every reply equals QEMU's (IRQ lines are not compared here:
            their reporting history starts afresh in the new process).

When lockstep-dm cannot run (not built yet), the same checks run on the
daemon's machine in process (tests/compat/qtest-play, built from dm_lib
with the daemon's option parser), so the comparison always runs.

A case listed in EXPECTED_FAIL is reported with its reason and does not
fail the run; one that passes while listed is reported too. Exit 77 (skip)
when neither lockstep-dm nor qtest-play can run. Usage: test_compat.py [NAME...]
"""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "compat"))
import lsharness as H  # noqa: E402

# case name -> reason (printed). Keep empty unless a device is unfinished.
EXPECTED_FAIL = {}


def read_transcript(path):
    with open(path) as f:
        return f.read().rstrip("\n").split("\n")


def fixture(name, ext):
    return os.path.join(H.FIXTURE_DIR, name + "." + ext)


def skipped(args):
    """Sections whose bytes depend on the host: `timer` always; the RTC
    unless the case runs it on the virtual clock (-rtc ...,clock=vm)."""
    if any("clock=vm" in a for a in args):
        return ("timer",)
    return ("timer", "mc146818rtc")


def forward(name, args, lines):
    problems = []
    with H.Machine("dm", args) as m:
        got = m.play(lines)
        problems += H.diff_transcripts(
            read_transcript(fixture(name, "replies")), got, "reply")
        ours = m.save()
        with open(fixture(name, "devstate"), "rb") as f:
            qemu = f.read()
        ok, rep = H.compare_devstate(qemu, ours, skip=skipped(args))
        if not ok:
            problems += ["save: " + r for r in rep]
        got = m.play(H.readback_lines(args))
        problems += H.diff_transcripts(
            read_transcript(fixture(name, "readback")), got, "read-back")
    return problems


def load_direction(name, args):
    problems = []
    replies = read_transcript(fixture(name, "replies"))
    with open(fixture(name, "devstate"), "rb") as f:
        qemu = H.with_clock(f.read(), H.last_clock(replies))
    with H.Machine("dm", args, machine="pc,unknown-sections=skip") as m:
        m.qmp.ok("stop")
        r = m.load(qemu)
        if "error" in r:
            return ["load of QEMU's file refused: %s" % r["error"]]
        m.qmp.ok("cont")
        got = m.play(H.readback_lines(args))
        want = read_transcript(fixture(name, "readback"))
        problems += H.diff_transcripts(
            [l for l in want if not l.startswith("IRQ ")],
            [l for l in got if not l.startswith("IRQ ")], "after load")
    return problems


def player():
    return os.path.join(H.BUILD, "tests", "compat", "qtest-play")


def play_inproc(args, seq_path, readback, load=None):
    """Runs qtest-play; returns (transcript, save bytes, read-back)."""
    with tempfile.TemporaryDirectory(prefix="ls-play-") as tmp:
        rb = os.path.join(tmp, "readback.qtest")
        out = os.path.join(tmp, "out.devstate")
        with open(rb, "w") as f:
            f.write("\n".join(readback) + "\n")
        cmd = [player()]
        if load is not None:
            cmd += ["--load", os.path.join(tmp, "in.devstate")]
            with open(cmd[-1], "wb") as f:
                f.write(load)
        cmd += [seq_path, out, rb] + list(args)
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise H.HarnessError("qtest-play: %s" % r.stderr.strip())
        with open(out, "rb") as f:
            data = f.read()
    lines = r.stdout.rstrip("\n").split("\n")
    cut = lines.index("=== readback")
    return lines[:cut], data, lines[cut + 1:]


def forward_inproc(name, args, lines):
    seq = os.path.join(H.SEQ_DIR, name + ".qtest")
    got, ours, rb = play_inproc(args, seq, H.readback_lines(args))
    problems = H.diff_transcripts(
        read_transcript(fixture(name, "replies")), got, "reply")
    with open(fixture(name, "devstate"), "rb") as f:
        ok, rep = H.compare_devstate(f.read(), ours, skip=skipped(args))
    if not ok:
        problems += ["save: " + r for r in rep]
    return problems + H.diff_transcripts(
        read_transcript(fixture(name, "readback")), rb, "read-back")


def load_inproc(name, args):
    replies = read_transcript(fixture(name, "replies"))
    with open(fixture(name, "devstate"), "rb") as f:
        qemu = H.with_clock(f.read(), H.last_clock(replies))
    a = args + ["-machine", "pc,unknown-sections=skip"]
    _, _, got = play_inproc(a, os.devnull, H.readback_lines(args), qemu)
    want = read_transcript(fixture(name, "readback"))
    return H.diff_transcripts(
        [l for l in want if not l.startswith("IRQ ")],
        [l for l in got if not l.startswith("IRQ ")], "after load")


def run_case(name, inproc):
    args, lines = H.load_seq(os.path.join(H.SEQ_DIR, name + ".qtest"))
    problems = []
    fwd, ld = (forward_inproc, load_inproc) if inproc else \
        (forward, load_direction)
    for label, fn in (("forward", lambda: fwd(name, args, lines)),
                      ("load", lambda: ld(name, args))):
        try:
            problems += ["%s: %s" % (label, p) for p in fn()]
        except (H.HarnessError, OSError) as e:
            problems.append("%s: harness: %s" % (label, e))
    return problems


def main():
    inproc = not H.dm_usable()
    if inproc and not os.access(player(), os.X_OK):
        print("SKIP: neither lockstep-dm nor qtest-play can run")
        return 77
    print("mode: %s" % ("in-process machine (qtest-play): lockstep-dm "
                        "does not run yet" if inproc else "lockstep-dm"))
    have = [n for n in H.seq_names()
            if all(os.path.exists(fixture(n, e))
                   for e in ("replies", "devstate", "readback"))]
    names = sys.argv[1:] or have
    missing = [n for n in H.seq_names() if n not in have]
    failed = 0
    for name in names:
        problems = run_case(name, inproc)
        if name in EXPECTED_FAIL:
            state = "XFAIL" if problems else "XPASS"
            print("%s %s (expected failure: %s)" % (state, name,
                                                     EXPECTED_FAIL[name]))
        else:
            print("%s %s" % ("FAIL" if problems else "ok", name))
            failed += bool(problems)
        for p in problems:
            print("    " + p)
    for n in missing:
        print("note: %s has no QEMU fixture yet (run make fixtures)" % n)
    print("%d case(s), %d failed" % (len(names), failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
