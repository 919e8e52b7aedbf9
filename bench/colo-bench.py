#!/usr/bin/env python3
"""COLO checkpoint benchmarks (python3 stdlib; the issue's Benchmarks).

1. One pair on loopback at 100 checkpoints/s (--interval 10): pause and
   per-phase p50/p99 from the primary's --stats lines.
2. The floor: the same dms driven by bench/colo-floor (stop + save + send
   + load + cont, nothing else), p50/p99.
3. The same coordinator driving QEMU 7.2's save path: QEMU as the primary
   dm, lockstep-dm (unknown-sections=skip) as the secondary (QEMU cannot
   load). Skipped, and said so, when QEMU 7.2 is not installed.
4. Scale: 1, 8, 32, 64 pairs at 10 checkpoints/s each, for a few seconds:
   aggregate checkpoints/s, pause p99 over all pairs, total RSS of every
   dm and side, CPU time per checkpoint.

Usage: bench/colo-bench.py [--quick]
"""
import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "colo"))
import colorig as R  # noqa: E402

QUICK = "--quick" in sys.argv
N_CKPT = 100 if QUICK else 500
SCALE = [int(x) for x in os.environ.get(
    "COLO_BENCH_PAIRS", "1,8" if QUICK else "1,8,32,64").split(",")]
SCALE_SECONDS = 3 if QUICK else 6
FLOOR = os.path.join(R.BUILD, "bench", "colo-floor")
QEMU = shutil.which("qemu-system-x86_64")
QEMU_MOD = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "tools",
                                         "qemu-qtest-accel"))
CLK_TCK = os.sysconf("SC_CLK_TCK")
# COLO_BENCH_SCALE_COM1=1: the scale runs with COM1 output commit too
# (each pair's own sink file); default off: see bench/README.md.
SCALE_COM1 = bool(os.environ.get("COLO_BENCH_SCALE_COM1"))


def pct(vals, p):
    vals = sorted(vals)
    if not vals:
        return 0
    return vals[max(1, -(-len(vals) * p // 100)) - 1]


def records(path):
    with open(path) as f:
        return [r for r in map(json.loads, f) if "epoch" in r and r["ok"]]


def phase_table(recs):
    rows = []
    for ph in ("stop", "save", "transfer", "load", "resume"):
        v = [r["phases_us"][ph] for r in recs]
        rows.append((ph, pct(v, 50), pct(v, 99)))
    v = [r["pause_us"] for r in recs]
    rows.append(("pause", pct(v, 50), pct(v, 99)))
    return rows


def run_pair(rig, p, s, tag, sink=None):
    stats = rig.path("stats-%s.jsonl" % tag)
    port = R.free_port(R.SECONDARY_ADDR)
    sec = rig.secondary(s, port=port, sink=sink)
    pri = rig.primary(p, ["--interval", "10", "--checkpoints", str(N_CKPT),
                          "--stats", stats], port=port, wait_paired=False,
                      sink=sink)
    rc = pri.wait(timeout=N_CKPT)
    R.check(rc == 0, "%s: primary side exited %d: %s" % (tag, rc,
                                                        pri.output()[-2000:]))
    sec.kill()
    return records(stats)


def bench_pair(sink):
    with R.Rig() as rig:
        p, s = rig.dm("p"), rig.dm("s")
        recs = run_pair(rig, p, s, "pair", sink)
        floor = subprocess.run([FLOOR, "unix:" + p.qmp_path,
                                "unix:" + s.qmp_path, str(N_CKPT)],
                               capture_output=True, text=True, timeout=300)
        fl = json.loads(floor.stdout) if floor.returncode == 0 else None
        return recs, fl, floor.stderr


def bench_qemu():
    if not QEMU or not os.path.isdir(QEMU_MOD):
        return None
    with R.Rig() as rig:
        q = rig.path("qemu-qmp.sock")
        ser = rig.path("qemu-com1.sock")
        env = dict(os.environ, QEMU_MODULE_DIR=QEMU_MOD)
        qp = R.Proc([QEMU, "-S", "-machine", "pc", "-accel", "qtest",
                     "-nodefaults", "-display", "none",
                     "-qmp", "unix:%s,server=on,wait=off" % q,
                     "-serial", "unix:%s,server=on,wait=off" % ser],
                    rig.path("qemu.log"), env)
        rig.procs.append(qp)
        R.wait_until(lambda: os.path.exists(q) and os.path.exists(ser),
                     "QEMU's sockets")
        s = rig.dm("s", ["-machine", "pc,unknown-sections=skip"])

        class QemuDm:
            name = "qemu"
            qmp_path = q
            serial_path = ser
        return run_pair(rig, QemuDm, s, "qemu")


def proc_figures(pids):
    rss = cpu = 0
    for pid in pids:
        try:
            with open("/proc/%d/status" % pid) as f:
                for ln in f:
                    if ln.startswith("VmRSS:"):
                        rss += int(ln.split()[1])
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
                cpu += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return rss, cpu / CLK_TCK


def bench_scale(n):
    with R.Rig() as rig:
        pris = []
        for i in range(n):
            p, s = rig.dm("p%d" % i), rig.dm("s%d" % i)
            port = R.free_port(R.SECONDARY_ADDR)
            sink = rig.path("out%d.txt" % i) if SCALE_COM1 else False
            rig.secondary(s, port=port, sink=sink)
            pris.append(rig.primary(p, ["--interval", "100", "--stats",
                                        rig.path("st%d.jsonl" % i)],
                                    port=port, sink=sink,
                                    wait_paired=False))
        time.sleep(1.0)
        pids = [x.proc.pid for x in rig.procs]
        rss0, cpu0 = proc_figures(pids)
        n0 = sum(len(records(rig.path("st%d.jsonl" % i))) for i in range(n))
        t0 = time.monotonic()
        time.sleep(SCALE_SECONDS)
        rss, cpu1 = proc_figures(pids)
        took = time.monotonic() - t0
        recs = [r for i in range(n) for r in records(rig.path("st%d.jsonl"
                                                              % i))]
        done = len(recs) - n0
        pauses = [r["pause_us"] for r in recs[n0:]] or [0]
        return (n, done / took, pct(pauses, 50), pct(pauses, 99),
                rss / 1024.0, (cpu1 - cpu0) * 1e6 / max(done, 1))


def pair_report(sink):
    recs, fl, err = bench_pair(sink)
    print("| phase | p50 us | p99 us |\n|---|---|---|")
    for ph, a, b in phase_table(recs):
        print("| %s | %d | %d |" % (ph, a, b))
    if fl:
        print("floor (stop+save+send+load+cont, one process): p50 %d us, "
              "p99 %d us; pause p50 / floor p50 = %.2fx" %
              (fl["p50_us"], fl["p99_us"],
               pct([r["pause_us"] for r in recs], 50) / max(fl["p50_us"], 1)))
    else:
        print("floor failed: " + err)


def main():
    print("== colo: one pair, %d checkpoints at 100/s, COM1 output commit "
          "on ==" % N_CKPT)
    pair_report(None)
    print("\n== the same without COM1 (no --dm-serial/--serial-out) ==")
    pair_report(False)
    q = bench_qemu()
    if q is None:
        print("QEMU 7.2 save path: not measured (qemu-system-x86_64 or the "
              "qtest accel module missing)")
    else:
        print("\n== colo: QEMU 7.2 as the primary dm (save path) ==")
        print("| phase | p50 us | p99 us |\n|---|---|---|")
        for ph, a, b in phase_table(q):
            print("| %s | %d | %d |" % (ph, a, b))
    print("\n== colo: pairs at 10 checkpoints/s each%s ==" %
          ("" if SCALE_COM1 else ", without COM1"))
    print("| pairs | checkpoints/s | pause p50 us | pause p99 us | RSS MiB "
          "| CPU us/checkpoint |\n|---|---|---|---|---|---|")
    for n in SCALE:
        print("| %d | %.1f | %d | %d | %.1f | %.0f |" % bench_scale(n))
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
