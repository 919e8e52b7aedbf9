#!/usr/bin/env python3
"""The guest program under COLO (issue 9, "Benchmarks"), stdlib only.

Every dm runs the tree's guest (build/guest/guest.bin, guest/README.md)
under `-accel tcg -icount shift=10`. At that shift a PIT tick (10 ms of
virtual time) lasts 10^7 / 2^10 = 9765.625 instructions while a step of
the guest's work takes about 17 000, so the guest always has a step to
run: its speed is its step counter (RAM 0x504, read through qtest: one
fixed work item per step) over host time. When it does wait in `hlt`
(for room in its COM1 ring), the icount clock jumps to the next deadline
at once, so waiting costs no host time. Instructions per second are
derived: instructions per step are calibrated from the tick counter
(0x500: virtual time advances 2^10 ns per instruction executed, so ticks
* 9765.625 instructions ran, if the guest never waited) in runs alone
with `-serial null`, where it does not wait (the ratio of ticks to steps
is the same in every such run), and every configuration's steps/s is
multiplied by that.

speed: one run per configuration, in alternating rounds (so that all see
  the machine's load alike), each measured over a window after a warm-up:
  - alone: one guest dm;
  - dirty log: the same with xen-set-global-dirty-log on (never cleared);
  - COLO 10/s and 100/s: a guest pair, `lockstep colo primary --interval
    100|10 --stats` and `lockstep colo secondary` (COM1 output commit on
    both, into one file), the primary measured;
  - floor 100/s: bench/colo-floor with `ram` on the same guest pair: the
    same QMP work and bytes as the coordinator's checkpoints, no
    coordinator.
  The pauses of the COLO and floor runs at 100/s give the pause table
  (p50/p99 per phase, RAM pages and bytes per checkpoint).
ram: bytes per checkpoint against RAM size (-m 16M, 64M, 128M: the
  coordinator refuses more than 128 MiB, docs/colo.md "RAM"): the
  coordinator at 100/s for a few seconds; the first checkpoint (all of
  RAM) and the later ones (dirty pages) apart.

Usage: bench/guest-bench.py [--quick] [--readme]
--readme rewrites the generated block of "## guest" in bench/README.md.
"""
import os
import re
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "scripts"))
import demolib as D  # noqa: E402

R = D.R
ARGS = sys.argv[1:]
QUICK = "--quick" in ARGS
ROUNDS = 1 if QUICK else 3
WINDOW = 2.0 if QUICK else 3.0     # seconds measured per run
WARM = 1.0                         # seconds after start (or pairing)
ICOUNT = 10
INSNS_PER_TICK = 1e7 / (1 << ICOUNT)   # PIT at 100 Hz: 10 ms per tick
TICKS_ADDR, STEP_ADDR = 0x500, 0x504   # guest/README.md, memory map
FLOOR = os.path.join(R.BUILD, "bench", "colo-floor")
RAM_SIZES = ["16M", "64M", "128M"]
RAM_RUN = 2.0 if QUICK else 3.0
# A full checkpoint of a large RAM is slow the first time (the dm touches
# every page); the defaults (2 s, 1 s) would call that a lost peer.
SLOW = ["--qmp-timeout", "20000", "--heartbeat-timeout", "20000"]
PHASES = ["stop", "save", "transfer", "load", "resume"]
CLK_TCK = os.sysconf("SC_CLK_TCK")


def progress(dm, window):
    """Steps/s and (virtual-time) ticks/s over `window` host seconds, and
    steps per second of CPU time of the dm process."""
    c0 = R.dmlib.cpu_ticks(dm.proc.pid)
    t0, k0, s0 = time.monotonic(), dm.readl(TICKS_ADDR), dm.readl(STEP_ADDR)
    time.sleep(window)
    t1, k1, s1 = time.monotonic(), dm.readl(TICKS_ADDR), dm.readl(STEP_ADDR)
    cpu = (R.dmlib.cpu_ticks(dm.proc.pid) - c0) / CLK_TCK
    return {"ticks": (k1 - k0) / (t1 - t0), "steps": (s1 - s0) / (t1 - t0),
            "steps_cpu": (s1 - s0) / max(cpu, 1.0 / CLK_TCK),
            "cpu": cpu / (t1 - t0)}


def drain(path):
    """Reads and drops a dm's COM1 socket in a thread, as a coordinator
    side reads it, so that every configuration prints alike."""
    sock = R.socket.socket(R.socket.AF_UNIX)
    sock.connect(path)

    def loop():
        try:
            while sock.recv(65536):
                pass
        except OSError:
            pass
    threading.Thread(target=loop, daemon=True).start()
    return sock


def run_alone(track):
    with R.Rig() as rig:
        d = D.guest_dm(rig, "solo", icount=ICOUNT, qtest=True)
        com1 = drain(d.serial_path)
        if track:
            d.qmp.cmd_ok("xen-set-global-dirty-log", {"enable": True})
        d.qmp.cmd_ok("cont")
        time.sleep(WARM)
        res = progress(d, WINDOW)
        com1.close()
        return res


def paused_share(recs, window):
    """The part of the window the primary was stopped for checkpoints."""
    return sum(r["pause_us"] for r in recs) / 1e6 / window


def window_recs(stats_path, w0, w1):
    """The --stats records of checkpoints started inside [w0, w1]."""
    return [r for r in D.stats(stats_path) if r.get("ok") and
            w0 * 1e6 <= r.get("time_us", 0) <= w1 * 1e6]


def run_colo(interval_ms):
    with R.Rig() as rig:
        stats_path = rig.path("stats.jsonl")
        p, s, sec, pri = D.guest_pair(rig, interval_ms, stats_path,
                                      icount=ICOUNT, qtest=True)
        time.sleep(WARM)
        w0 = time.time()
        res = progress(p, WINDOW)
        res["recs"] = window_recs(stats_path, w0, time.time())
        res["rate"] = len(res["recs"]) / WINDOW
        return res


def run_floor(interval_ms):
    with R.Rig() as rig:
        p = D.guest_dm(rig, "primary", icount=ICOUNT, qtest=True)
        s = D.guest_dm(rig, "secondary", icount=ICOUNT)
        com1 = [drain(x.serial_path) for x in (p, s)]
        n = int((WARM + WINDOW + 0.5) * 1000 / interval_ms)
        out = rig.path("floor.jsonl")
        with open(out, "wb") as f:
            fl = subprocess.Popen([FLOOR, p.qmp_path, s.qmp_path, str(n),
                                   str(interval_ms * 1000), "ram"],
                                  stdout=f, stderr=subprocess.PIPE)
        time.sleep(WARM)
        res = progress(p, WINDOW)
        _, err = fl.communicate(timeout=60)
        R.check(fl.returncode == 0, "colo-floor: %s" % err.decode())
        for c in com1:
            c.close()
        recs = D.stats(out)
        # Counted: the checkpoints of the window (the floor's records
        # carry no time; its schedule is fixed, so drop the warm-up ones).
        skip = int(WARM * 1000 / interval_ms)
        res["recs"] = recs[skip:skip + int(WINDOW * 1000 / interval_ms)]
        res["rate"] = None
        return res


CONFIGS = [
    ("alone", lambda: run_alone(False)),
    ("dirty log on", lambda: run_alone(True)),
    ("COLO 10/s", lambda: run_colo(100)),
    ("COLO 100/s", lambda: run_colo(10)),
    ("floor 100/s (colo-floor ram)", lambda: run_floor(10)),
]


PER_STEP = []      # instructions per step, one per calibration run


def run_calibrate():
    """Alone with -serial null (no COM1 socket, so the guest never waits
    for its ring): its ticks count its instructions."""
    with R.Rig() as rig:
        d = D.guest_dm(rig, "calib", icount=ICOUNT, qtest=True,
                       serial="null")
        d.qmp.cmd_ok("cont")
        time.sleep(WARM)
        res = progress(d, WINDOW)
        PER_STEP.append(res["ticks"] * INSNS_PER_TICK / res["steps"])
        return res


def bench_speed():
    """{config: the result of its median round by steps/s} over
    alternating rounds (kept whole: its pauses go with its speed)."""
    runs = {name: [] for name, _ in CONFIGS}
    for _ in range(ROUNDS):
        run_calibrate()
        for name, fn in CONFIGS:
            res = fn()
            print("  %-30s %6.1f steps/s, %6.1f ticks/s, %6.1f steps per "
                  "dm CPU-second (dm at %.2f cores)" % (
                      name, res["steps"], res["ticks"], res["steps_cpu"],
                      res["cpu"]), file=sys.stderr)
            runs[name].append(res)
    return {name: sorted(rs, key=lambda r: r["steps"])[len(rs) // 2]
            for name, rs in runs.items()}


def insns_per_step(best):
    return sorted(PER_STEP)[len(PER_STEP) // 2]


def run_ram_size(mem):
    with R.Rig() as rig:
        stats_path = rig.path("stats.jsonl")
        p = D.guest_dm(rig, "primary", mem=mem, icount=ICOUNT)
        s = D.guest_dm(rig, "secondary", mem=mem, icount=ICOUNT)
        rig.secondary(s, SLOW)
        rig.primary(p, ["--interval", "10", "--stats", stats_path] + SLOW)
        # The first (full) checkpoint can take seconds: count from it.
        R.wait_until(lambda: D.stats(stats_path), "the first checkpoint",
                     timeout=60)
        time.sleep(RAM_RUN)
        return [r for r in D.stats(stats_path) if r.get("ok")]


def pct2(vals):
    return "%d / %d" % (D.pct(vals, 50), D.pct(vals, 99))


def estimate(r, base_cpu):
    """Speed against alone for a dm that has a core whenever it is not
    stopped: its steps per CPU-second against alone's, times the part of
    the time it is not stopped for checkpoints. A model built from two
    measured figures, for a machine too loaded to measure it directly."""
    recs = r.get("recs")
    share = paused_share(recs, WINDOW) if recs else 0.0
    return r["steps_cpu"] / base_cpu * (1 - share)


def speed_table(best):
    base = best["alone"]["steps"]
    ips = insns_per_step(best)
    base_cpu = best["alone"]["steps_cpu"]
    out = ["| configuration | steps/s | vs alone | guest instructions/s | "
           "steps per dm CPU-second (vs alone) | checkpoints/s | paused "
           "share | estimate for a dm with a core of its own | pause p50 / "
           "p99 (us) | dirty pages / checkpoint p50 (max) | RAM bytes / "
           "checkpoint p50 |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, _ in CONFIGS:
        r = best[name]
        recs = r.get("recs")
        rate = "-" if not recs else (
            "%.1f" % r["rate"] if r["rate"] is not None else "(100)")
        pause = pct2([x["pause_us"] for x in recs]) if recs else "-"
        pages = [x["ram_pages"] for x in recs] if recs else []
        share = paused_share(recs, WINDOW) if recs else 0.0
        out.append("| %s | %.1f | %.1f%% | %.2f M | %.0f (%.1f%%) | %s | %s "
                   "| %.1f%% | %s | %s | %s |" % (
            name, r["steps"], 100 * r["steps"] / base,
            r["steps"] * ips / 1e6, r["steps_cpu"],
            100 * r["steps_cpu"] / base_cpu, rate,
            "%.1f%%" % (100 * share) if recs else "-",
            100 * estimate(r, base_cpu),
            pause, "%d (%d)" % (D.pct(pages, 50), max(pages)) if pages
            else "-", "%d" % D.pct([x["ram_bytes"] for x in recs], 50)
            if recs else "-"))
    out.append("")
    out.append("Instructions per step (the median of the calibration runs, "
               "alone with -serial null, from their ticks): %.0f (each run: "
               "%s)." % (
                   ips, ", ".join("%.0f" % x for x in PER_STEP)))
    return "\n".join(out)


def pause_table(best):
    c, f = best["COLO 100/s"]["recs"], \
        best["floor 100/s (colo-floor ram)"]["recs"]
    out = ["| us, p50 / p99 | floor (colo-floor ram) | coordinator | "
           "coordinator / floor (p50) |", "|---|---|---|---|"]
    for ph in PHASES + ["pause"]:
        get = (lambda x: x["pause_us"]) if ph == "pause" else \
            (lambda x, ph=ph: x["phases_us"][ph])
        a, b = [get(x) for x in f], [get(x) for x in c]
        out.append("| %s | %s | %s | %.2fx |" % (
            "**total pause**" if ph == "pause" else ph, pct2(a), pct2(b),
            D.pct(b, 50) / max(1, D.pct(a, 50))))
    for what, key in (("dirty pages", "ram_pages"), ("RAM bytes", "ram_bytes"),
                      ("device-state bytes", "devstate_bytes")):
        out.append("| %s per checkpoint (p50) | %d | %d | |" % (
            what, D.pct([x[key] for x in f], 50),
            D.pct([x[key] for x in c], 50)))
    out.append("")
    out.append("Checkpoints counted: floor %d, coordinator %d (those of the "
               "speed window)." % (len(f), len(c)))
    return "\n".join(out)


def ram_table(sizes):
    out = ["| -m | first checkpoint: RAM pages / bytes | its pause | later: "
           "dirty pages p50 | RAM bytes p50 | pause p50 / p99 (us) | "
           "checkpoints |", "|---|---|---|---|---|---|---|"]
    for mem, recs in sizes:
        if not recs:
            out.append("| %s | no checkpoint | | | | | 0 |" % mem)
            continue
        first, later = recs[0], recs[1:]
        out.append("| %s | %d / %d | %.1f ms | %d | %d | %s | %d |" % (
            mem, first["ram_pages"], first["ram_bytes"],
            first["pause_us"] / 1000.0,
            D.pct([x["ram_pages"] for x in later], 50),
            D.pct([x["ram_bytes"] for x in later], 50),
            pct2([x["pause_us"] for x in later]), len(recs)))
    return "\n".join(out)


def targets(best):
    c = best["COLO 100/s"]
    ratio = c["steps"] / best["alone"]["steps"]
    est = estimate(c, best["alone"]["steps_cpu"])
    p50 = D.pct([x["pause_us"] for x in c["recs"]], 50)
    rows = [("guest speed at 100 checkpoints/s, 16 MiB, at least 80% of "
             "alone (steps per host second)", "%.1f%%" % (100 * ratio),
             ratio >= 0.8),
            ("the same, estimated for a dm with a core of its own",
             "%.1f%%" % (100 * est), est >= 0.8),
            ("pause p50 under 1 ms (100/s, 16 MiB)", "%d us" % p50,
             p50 < 1000)]
    out = ["| target | measured | met? |", "|---|---|---|"]
    out += ["| %s | %s | %s |" % (t, m, "yes" if ok else "**no**")
            for t, m, ok in rows]
    return "\n".join(out)


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        m = re.search(r"model name\s*:\s*(.*)", f.read())
        model = m.group(1) if m else model
    return "%d vCPUs (\"%s\"), kernel %s" % (os.cpu_count(), model,
                                              os.uname().release)


def report(best, sizes, when, load0, load1):
    return "\n".join([
        "Measured %s on %s; load average %.1f at the start, %.1f at the "
        "end (a shared machine: the load average says how busy it was). "
        "Guest: build/guest/guest.bin, -m 16M, -icount shift=%d; %d "
        "round(s) of %.0f s windows per configuration, alternated, the "
        "round with the median steps/s kept." % (when, machine(), load0, load1, ICOUNT, ROUNDS,
                              WINDOW), "",
        "#### Guest speed", "", speed_table(best), "",
        "#### Checkpoint pause with RAM at 100/s, against its floor", "",
        pause_table(best), "",
        "#### Bytes per checkpoint against RAM size (coordinator, 100/s)",
        "", ram_table(sizes), "", targets(best)])


BEGIN = "<!-- guest-bench.py --readme writes from here -->"
END = "<!-- guest-bench.py --readme writes up to here -->"


def write_readme(text):
    path = os.path.join(HERE, "README.md")
    old = open(path).read()
    R.check(BEGIN in old and END in old,
            "bench/README.md lacks the guest-bench markers")
    new = old[:old.index(BEGIN)] + BEGIN + "\n" + text + "\n" + \
        old[old.index(END):]
    with open(path, "w") as f:
        f.write(new)


def main():
    for f in (R.DM, R.LOCKSTEP, D.GUEST, FLOOR):
        if not os.path.exists(f):
            print("guest-bench: %s missing: build first" % f, file=sys.stderr)
            return 2
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load0 = os.getloadavg()[0]
    try:
        best = bench_speed()
        sizes = [(m, run_ram_size(m)) for m in RAM_SIZES]
    except AssertionError as e:
        print("guest-bench: %s" % e, file=sys.stderr)
        return 1
    text = report(best, sizes, when, load0, os.getloadavg()[0])
    print(text)
    if "--readme" in ARGS:
        write_readme(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
