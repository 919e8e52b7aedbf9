/*
 * The vCPU's speed (guest instructions per second) on Unicorn, with and
 * without the dirty log's write tracking, and with the log cleared as a
 * checkpointer would at 10 and 100 per second. The guest is
 * bench/bios-bench.s (one store per four instructions) in a pc machine
 * with 16 MiB of RAM; run as `cpu-bench BIOS [SECONDS]`.
 */
#include <stdio.h>
#include <stdlib.h>

#include "machine/machine.h"

#define BENCH_RAM (16u << 20)

static double bench_now(void)
{
    return g_get_monotonic_time() / 1e6;
}

/* Runs for `secs`; clears the log every `clear_ms` (0: never). */
static double bench_run(const char *img, gsize len, bool track, int clear_ms,
                        double secs)
{
    MachineOpts mo = {.kind = MACHINE_PC, .stepped_clock = true};
    g_autoptr(GError) err = NULL;
    uint64_t total = 0, n;
    double t0, t, next_clear;
    Machine *m;

    mo.bios = (const uint8_t *)img;
    mo.bios_len = len;
    mo.ram_size = BENCH_RAM;
    m = machine_new(&mo, &err);
    if (!m) {
        fprintf(stderr, "cpu-bench: %s\n", err->message);
        exit(2);
    }
    ram_dirty_log_enable(m->ram, track);
    t0 = t = bench_now();
    next_clear = t0 + clear_ms / 1e3;
    while (t - t0 < secs) {
        vcpu_run(m->vcpu, 65536, &n);
        total += n;
        t = bench_now();
        if (clear_ms && t >= next_clear) {
            ram_dirty_clear(m->ram);
            next_clear += clear_ms / 1e3;
        }
    }
    machine_free(m);
    return total / (t - t0);
}

#define BENCH_ROUNDS  3
#define BENCH_CONFIGS 4

int main(int argc, char **argv)
{
    static const bool track[BENCH_CONFIGS] = {false, true, true, true};
    static const int clear_ms[BENCH_CONFIGS] = {0, 0, 100, 10};
    static const char *const what[BENCH_CONFIGS] = {
        "no dirty log",
        "dirty log (write hook)",
        "dirty log, cleared 10/s",
        "dirty log, cleared 100/s",
    };
    double best[BENCH_CONFIGS] = {0};
    g_autofree char *img = NULL;
    double secs = argc > 2 ? atof(argv[2]) : 1.0;
    gsize len;

    if (argc < 2 || !g_file_get_contents(argv[1], &img, &len, NULL)) {
        fprintf(stderr, "usage: cpu-bench BIOS [SECONDS]\n");
        return 2;
    }
    /* Rounds alternate the configurations; the best of each is kept, so
       other load on the machine weighs on all of them alike. */
    for (int r = 0; r < BENCH_ROUNDS; r++) {
        for (int i = 0; i < BENCH_CONFIGS; i++) {
            best[i] =
                MAX(best[i], bench_run(img, len, track[i], clear_ms[i], secs));
        }
    }
    for (int i = 0; i < BENCH_CONFIGS; i++) {
        printf("| %-26s | %6.1f M/s | %5.1f%% |\n", what[i], best[i] / 1e6,
               100.0 * best[i] / best[0]);
    }
    return 0;
}
