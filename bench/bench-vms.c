/*
 * vms benchmark: bulk encode/decode throughput of a 16 MiB buffer field
 * against memcpy of the same bytes (same run), and save/load latency of a
 * ~13 KB, 31-section state shaped like QEMU 7.2's pc file (section sizes
 * taken from tests/fixtures/qemu-7.2/pc-tcg-prelaunch.devstate; each
 * section is mostly 8-byte scalars walked one by one, plus a tail buffer).
 * Prints a table; figures are recorded in bench/README.md.
 */
#include "vms/vms.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BULK_SIZE (16u * 1024 * 1024)

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

typedef struct BenchBulk {
    uint8_t data[BULK_SIZE];
} BenchBulk;

static const VmsDesc bench_bulk_vmsd = {
    .name = "bulk",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields =
        (const VmsField[]){
            VMS_BUFFER(BenchBulk, data),
            VMS_END_OF_LIST,
        },
};

static double bench_best(double *t, int n)
{
    qsort(t, (size_t)n, sizeof(double), bench_cmp);
    return t[0];
}

static void bench_bulk(void)
{
    enum { N = 15 };
    BenchBulk *live = g_malloc(sizeof(BenchBulk));
    uint8_t *dst = g_malloc(BULK_SIZE);
    VmsRegistry *reg = vms_registry_new();
    GByteArray *out = g_byte_array_sized_new(BULK_SIZE + 64);
    double tm[N], te[N], td[N];

    memset(live->data, 0xa5, BULK_SIZE);
    memset(dst, 0, BULK_SIZE);
    vms_register(reg, "bulk", 0, -1, &bench_bulk_vmsd, live, sizeof(*live),
                 NULL);
    for (int i = 0; i < N; i++) {
        double t0 = bench_now_ns();
        memcpy(dst, live->data, BULK_SIZE);
        tm[i] = bench_now_ns() - t0;
        g_byte_array_set_size(out, 0);
        t0 = bench_now_ns();
        vms_save_all(reg, &(VmsSaveOpts){.footers = true}, out, NULL);
        te[i] = bench_now_ns() - t0;
        t0 = bench_now_ns();
        if (!vms_load_all(reg, out->data, out->len, NULL, NULL)) {
            abort();
        }
        td[i] = bench_now_ns() - t0;
    }
    double m = bench_best(tm, N), e = bench_best(te, N), d = bench_best(td, N);
    printf("bulk 16 MiB buffer field (best of %d)\n", N);
    printf("  memcpy   %8.2f ms  %6.2f GB/s\n", m / 1e6, BULK_SIZE / m);
    printf("  encode   %8.2f ms  %6.2f GB/s  %.2fx memcpy\n", e / 1e6,
           BULK_SIZE / e, e / m);
    printf("  decode   %8.2f ms  %6.2f GB/s  %.2fx memcpy "
           "(bulk buffer: bounds check, one copy at commit)\n",
           d / 1e6, BULK_SIZE / d, d / m);
    g_byte_array_free(out, TRUE);
    vms_registry_free(reg);
    g_free(dst);
    g_free(live);
}

/* Payload sizes of QEMU 7.2 pc sections (plus kvmclock's 16). */
static const unsigned bench_pc_sizes[31] = {
    24,  8,   1851, 144, 181, 16,  74,   4,   20,  277, 75,
    75,  292, 16,   16,  206, 151, 245,  108, 2,   593, 284,
    291, 40,  4105, 1,   430, 1,   2432, 1,   104,
};

typedef struct BenchPc {
    uint8_t *states[31];
    VmsDesc descs[31];
    VmsField *fields[31];
    VmsRegistry *reg;
} BenchPc;

static void bench_pc_section(BenchPc *pc, unsigned i)
{
    unsigned size = bench_pc_sizes[i];
    unsigned n64 = size / 16, tail = size - n64 * 8;
    VmsField *f = g_new0(VmsField, n64 + 2);

    for (unsigned k = 0; k < n64; k++) {
        f[k] = (VmsField){
            .name = "r", .type = VMS_UINT64, .offset = k * 8, .size = 8};
    }
    f[n64] = (VmsField){
        .name = "tail", .type = VMS_BUFFER, .offset = n64 * 8, .size = tail};
    pc->fields[i] = f;
    pc->descs[i] = (VmsDesc){
        .name = "sec", .version_id = 1, .minimum_version_id = 1, .fields = f};
    pc->states[i] = g_malloc0(size);
    for (unsigned k = 0; k < size; k++) {
        pc->states[i][k] = (uint8_t)(k * 7 + i);
    }
    g_autofree char *name = g_strdup_printf("dev%u", i);
    vms_register(pc->reg, name, -1, -1, &pc->descs[i], pc->states[i], size,
                 NULL);
}

static void bench_report(const char *what, double *t, int n)
{
    qsort(t, (size_t)n, sizeof(double), bench_cmp);
    printf("  %-6s median %7.2f us  p99 %7.2f us\n", what, t[n / 2] / 1e3,
           t[n * 99 / 100] / 1e3);
}

static void bench_pc(void)
{
    enum { N = 10000 };
    BenchPc pc = {.reg = vms_registry_new()};
    GByteArray *out = g_byte_array_sized_new(16384);
    double *ts = g_new(double, N), *tl = g_new(double, N);

    for (unsigned i = 0; i < 31; i++) {
        bench_pc_section(&pc, i);
    }
    for (int i = 0; i < N; i++) {
        g_byte_array_set_size(out, 0);
        double t0 = bench_now_ns();
        vms_save_all(pc.reg, &(VmsSaveOpts){.footers = true}, out, NULL);
        ts[i] = bench_now_ns() - t0;
        t0 = bench_now_ns();
        if (!vms_load_all(pc.reg, out->data, out->len, NULL, NULL)) {
            abort();
        }
        tl[i] = bench_now_ns() - t0;
    }
    printf("pc-shaped state: 31 sections, %u bytes (%d iterations)\n", out->len,
           N);
    bench_report("save", ts, N);
    bench_report("load", tl, N);
    for (unsigned i = 0; i < 31; i++) {
        g_free(pc.states[i]);
        g_free(pc.fields[i]);
    }
    vms_registry_free(pc.reg);
    g_byte_array_free(out, TRUE);
    g_free(ts);
    g_free(tl);
}

int main(void)
{
    bench_bulk();
    bench_pc();
    return 0;
}
