#!/usr/bin/env python3
"""bench/qmp-bench refuses sample counts below 1 (it read v[-1] for a
percentile of none) and a `start` with no program to run."""
import os
import subprocess
import sys

QB = os.path.join(os.environ["LOCKSTEP_BUILD"], "bench", "qmp-bench")
CASES = [
    (["start", "/nonexistent.sock", "0", "--", "/bin/true"], "N: want 1"),
    (["ops", "/nonexistent.sock", "/dev/null", "0", "1", "1", "0"],
     "N_RTT: want 1"),
    (["ops", "/nonexistent.sock", "/dev/null", "1", "1", "-3", "0"],
     "N_CYCLE: want 1"),
    (["start", "/nonexistent.sock", "1", "--"], "usage:"),
]

failed = 0
for args, msg in CASES:
    r = subprocess.run([QB] + args, capture_output=True, text=True,
                       timeout=30)
    if r.returncode != 2 or msg not in r.stderr:
        failed += 1
        print("FAIL %r: rc %d, %r" % (args, r.returncode, r.stderr))
sys.exit(1 if failed else 0)
