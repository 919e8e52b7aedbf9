#!/usr/bin/env python3
"""QEMU 7.2 compatibility: lockstep-dm against QEMU's recorded answers.

For every tests/compat/seq/NAME.qtest, with its fixtures in
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

A case listed in EXPECTED_FAIL is reported with its reason and does not
fail the run; one that passes while listed is reported too. A sequence
without its three fixtures, a case named on the command line that does
not exist, or a lockstep-dm that does not start is a failure.
Usage: test_compat.py [NAME...]
"""
import os
import sys

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


def run_case(name):
    args, lines = H.load_seq(os.path.join(H.SEQ_DIR, name + ".qtest"))
    problems = []
    for label, fn in (("forward", lambda: forward(name, args, lines)),
                      ("load", lambda: load_direction(name, args))):
        try:
            problems += ["%s: %s" % (label, p) for p in fn()]
        except (H.HarnessError, OSError) as e:
            problems.append("%s: harness: %s" % (label, e))
    return problems


def has_fixtures(name):
    return all(os.path.exists(fixture(name, e))
               for e in ("replies", "devstate", "readback"))


def main():
    seqs = H.seq_names()
    names = sys.argv[1:] or seqs
    if not names:
        print("FAIL no sequences in %s" % H.SEQ_DIR)
        return 1
    failed = 0
    for name in names:
        if name not in seqs:
            print("FAIL %s: no sequence %s.qtest" % (name, name))
            failed += 1
            continue
        if not has_fixtures(name):
            print("FAIL %s: no QEMU fixture in %s (run make fixtures)" % (
                name, H.FIXTURE_DIR))
            failed += 1
            continue
        problems = run_case(name)
        if name in EXPECTED_FAIL:
            state = "XFAIL" if problems else "XPASS"
            print("%s %s (expected failure: %s)" % (state, name,
                                                     EXPECTED_FAIL[name]))
        else:
            print("%s %s" % ("FAIL" if problems else "ok", name))
            failed += bool(problems)
        for p in problems:
            print("    " + p)
    print("%d case(s), %d failed" % (len(names), failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
