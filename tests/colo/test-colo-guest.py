#!/usr/bin/env python3
"""The guest program under COLO at 50 checkpoints per second, its primary
dm killed with SIGKILL at each phase of a checkpoint (stop, save,
transfer, load, resume) and at random moments: each time the secondary
takes over and the outside world's COM1 stream has every line exactly
once, in order, with checksums that verify, and goes on (guestkill.py).
LOCKSTEP_SEED=N repeats a run's random choices; guest-kill-many runs
more of them.
"""
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import colorig as R  # noqa: E402
import guestkill as G  # noqa: E402

SEED = int(os.environ.get("LOCKSTEP_SEED", random.randrange(1 << 30)))
RNG = random.Random(SEED)
print("LOCKSTEP_SEED=%d" % SEED)


def test_phases():
    """Every phase, once at checkpoint 2 (the first dirty one, right after
    the full one) and once at a random later one, when the guest has
    printed lines."""
    for phase in G.PHASES:
        for epoch in (2, RNG.randint(10, 40)):
            got, before, after = G.run(phase, epoch)
            R.check(got in (epoch - 1, epoch),
                    "%s@%d: failed over to checkpoint %d" %
                    (phase, epoch, got))


def test_random_kills():
    for _ in range(3):
        G.run(delay=RNG.uniform(0.05, 1.0))


if __name__ == "__main__":
    R.dmlib.run_tests([test_phases, test_random_kills])
