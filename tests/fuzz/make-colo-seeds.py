#!/usr/bin/env python3
"""Writes the hand-written seeds of the colo-secondary and colo-primary
fuzz targets (tests/fuzz/colo-peer.h describes the input: a flags byte,
then the frames the played peer sends) into tests/fuzz/corpus/. Run from
anywhere; the fuzzers' own finds are merged beside these files."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "colo"))
import colowire as w  # noqa: E402

FIX = b"\x01"    # the peer fixes CRCs of what mutation changed
KEEP = b"\x00"   # the peer sends the bytes as they are


def ckpt(n, state, out=b"", off=0, ram=b""):
    return (w.u64(w.BEGIN, n) + w.data(n, state, out, off, ram) +
            w.u64(w.RESUME, n))


P, S = w.hello(w.PRIMARY), w.hello(w.SECONDARY)
SECONDARY = {
    "hello-only": FIX + P,
    "one-checkpoint-bye": FIX + P + ckpt(1, b"state one", b"out") +
    w.text(w.BYE, 0, "done"),
    "two-checkpoints-lost": FIX + P + ckpt(1, b"one", b"ab") +
    ckpt(2, b"two", b"cd", 2),
    "heartbeats": FIX + P + w.u64(w.HEARTBEAT, 1) + ckpt(1, b"x") +
    w.u64(w.HEARTBEAT, 2) + w.text(w.BYE, 0, ""),
    "load-refused": FIX + P + w.u64(w.BEGIN, 1) + w.data(1, b"REFUSE"),
    "dm-lost-on-load": FIX + P + ckpt(1, b"ok") + w.u64(w.BEGIN, 2) +
    w.data(2, b"LOST"),
    "stop-fails": FIX + P + ckpt(1, b"STOPFAIL") + w.u64(w.BEGIN, 2),
    "cont-fails": FIX + P + w.u64(w.BEGIN, 1) + w.data(1, b"CONTFAIL") +
    w.u64(w.RESUME, 1),
    "peer-dm-lost": FIX + P + ckpt(1, b"a") + w.text(w.ERROR, 3, "dm gone"),
    "peer-error": FIX + P + ckpt(1, b"a") + w.text(w.ERROR, 2, "no"),
    "out-of-order": FIX + P + w.data(1, b"a") + w.u64(w.BEGIN, 1),
    "wrong-epoch": FIX + P + ckpt(1, b"a") + w.u64(w.BEGIN, 3),
    "resume-early": FIX + P + w.u64(w.BEGIN, 1) + w.u64(w.RESUME, 1),
    "with-ram": FIX + P + ckpt(1, b"a", ram=b"full") +
    ckpt(2, b"b", ram=b"dirty") + w.text(w.BYE, 0, ""),
    "ram-then-none": FIX + P + ckpt(1, b"a", ram=b"full") + ckpt(2, b"b"),
    "output-offsets": FIX + P + ckpt(1, b"a", b"0123", 10) +
    ckpt(2, b"b", b"45", 12) + ckpt(3, b"c", b"x", 99),
    "wrong-role": FIX + S,
    "bad-magic": FIX + w.hello(w.PRIMARY, magic=0x11223344),
    "bad-version": FIX + w.hello(w.PRIMARY, version=1),
    "second-hello": FIX + P + P,
    "ack-to-secondary": FIX + P + w.ack(1, 0),
    "bad-crc": KEEP + P[:8] + b"\0\0\0\0" + P[12:],
    "too-long": KEEP + P + w.frame(w.BEGIN, b"", length=0xFFFFFFFF),
    "truncated": KEEP + P + ckpt(1, b"state")[:-5],
}
PRIMARY = {
    "three-acks": FIX + S + w.ack(1, 5) + w.ack(2, 6) + w.ack(3, 7),
    "heartbeat-then-ack": FIX + S + w.u64(w.HEARTBEAT, 1) + w.ack(1) +
    w.text(w.BYE, 0, "secondary side stopped"),
    "wrong-epoch": FIX + S + w.ack(2),
    "load-failed": FIX + S + w.text(w.ERROR, 4, "load failed"),
    "busy": FIX + S + w.text(w.ERROR, 5, "paired with another primary"),
    "nothing": FIX,
    "wrong-role": FIX + P + w.ack(1),
    "begin-to-primary": FIX + S + w.u64(w.BEGIN, 1),
    "bad-crc": KEEP + S + w.ack(1)[:8] + b"\0\0\0\0" + w.ack(1)[12:],
}

for target, seeds in (("colo-secondary", SECONDARY),
                      ("colo-primary", PRIMARY)):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
