/*
 * RAM benchmark: the RAM half of a checkpoint, in process, for a 16 MiB
 * RAM (the target size). For a full save and for dirty saves of
 * 16, 256 and 1024 pages (random bytes in the dirty pages, the rest zero):
 * encode time, decode+commit time and stream size, medians of 21 runs;
 * the floor is a memcpy of the same page bytes. Also the cost of one
 * ram_dirty_mark call (what a vCPU pays per tracked write). Prints a
 * table; figures go in bench/README.md.
 */
#include "cpu/ram.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BENCH_RAM_SIZE (16u << 20)
#define BENCH_RUNS     21

static double bench_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int bench_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double bench_median(double *v)
{
    qsort(v, BENCH_RUNS, sizeof(double), bench_cmp);
    return v[BENCH_RUNS / 2];
}

/* Marks `n` distinct pages spread over RAM and fills them with bytes. */
static void bench_dirty(Ram *ram, uint32_t n)
{
    uint32_t pages = BENCH_RAM_SIZE / RAM_PAGE_SIZE;

    ram_dirty_log_enable(ram, true);
    for (uint32_t i = 0; i < n; i++) {
        uint64_t addr = (uint64_t)(i * (pages / n)) * RAM_PAGE_SIZE;
        for (uint32_t o = 0; o < RAM_PAGE_SIZE; o += 4) {
            uint32_t r = (uint32_t)rand();
            memcpy(ram_host(ram) + addr + o, &r, 4);
        }
        ram_dirty_mark(ram, addr, RAM_PAGE_SIZE);
    }
}

static void bench_row(const char *what, Ram *src, Ram *dst, RamSaveMode mode,
                      uint64_t data_pages)
{
    double enc[BENCH_RUNS], dec[BENCH_RUNS], cpy[BENCH_RUNS];
    g_autofree uint8_t *floor = g_malloc(data_pages * RAM_PAGE_SIZE + 1);
    RamSaveStats st = {0};

    for (int r = 0; r < BENCH_RUNS; r++) {
        g_autoptr(GByteArray) s = g_byte_array_new();
        double t0 = bench_now_ns();
        ram_encode(src, mode, s, &st);
        double t1 = bench_now_ns();
        RamStaging *stg = ram_decode(dst, s->data, s->len, NULL);
        ram_commit(dst, stg);
        double t2 = bench_now_ns();
        memcpy(floor, ram_host(src), data_pages * RAM_PAGE_SIZE);
        double t3 = bench_now_ns();
        enc[r] = t1 - t0;
        dec[r] = t2 - t1;
        cpy[r] = t3 - t2;
    }
    printf("%-14s %8" G_GUINT64_FORMAT " %10" G_GUINT64_FORMAT
           " %12.1f %14.1f %11.1f\n",
           what, st.pages, st.bytes, bench_median(enc) / 1e3,
           bench_median(dec) / 1e3, bench_median(cpy) / 1e3);
}

static void bench_mark(Ram *ram)
{
    double t[BENCH_RUNS];
    uint32_t n = 1u << 20;

    ram_dirty_log_enable(ram, true);
    for (int r = 0; r < BENCH_RUNS; r++) {
        double t0 = bench_now_ns();
        for (uint32_t i = 0; i < n; i++) {
            ram_dirty_mark(ram, (uint64_t)(i * 4099u) % BENCH_RAM_SIZE, 4);
        }
        t[r] = (bench_now_ns() - t0) / n;
    }
    printf("ram_dirty_mark (4-byte write): %.1f ns per call\n",
           bench_median(t));
}

int main(void)
{
    Ram *src = ram_new(BENCH_RAM_SIZE, NULL);
    Ram *dst = ram_new(BENCH_RAM_SIZE, NULL);
    static const uint32_t dirty[] = {16, 256, 1024};

    srand(1);
    printf("16 MiB RAM; medians of %d runs; times in us\n", BENCH_RUNS);
    printf("%-14s %8s %10s %12s %14s %11s\n", "save", "pages", "bytes",
           "encode", "decode+commit", "memcpy floor");
    for (guint i = 0; i < G_N_ELEMENTS(dirty); i++) {
        g_autofree char *what = g_strdup_printf("dirty %u", dirty[i]);
        bench_dirty(src, dirty[i]);
        bench_row(what, src, dst, RAM_SAVE_DIRTY, dirty[i]);
    }
    bench_row("all (1024 nz)", src, dst, RAM_SAVE_ALL, 1024);
    bench_mark(src);
    ram_free(src);
    ram_free(dst);
    return 0;
}
