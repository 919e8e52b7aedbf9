/*
 * The vCPU (src/cpu/vcpu*.c) on Unicorn, with test BIOS images assembled
 * from tests/cpu/bios-*.s and a port-I/O recorder standing in for the
 * machine.
 */
#include <glib.h>
#include <string.h>

#include "cpu/vcpu.h"

#define T_RUN_MAX 1000000 /* instructions any test BIOS needs, with room */

typedef struct TMachine {
    GString *com1; /* bytes written to port 0x3f8 */
    GArray *outs;  /* every (port << 16 | byte) written elsewhere */
    int vector;    /* what the INTA cycle answers */
    int acks;
} TMachine;

static uint32_t t_in(void *opaque, uint16_t port, unsigned size)
{
    return 0xffffffffu >> (32 - 8 * size);
}

static void t_out(void *opaque, uint16_t port, uint32_t val, unsigned size)
{
    TMachine *m = opaque;
    uint32_t rec = (uint32_t)port << 16 | (val & 0xff);

    if (port == 0x3f8) {
        g_string_append_c(m->com1, (char)val);
    } else {
        g_array_append_val(m->outs, rec);
    }
}

static int t_ack(void *opaque)
{
    TMachine *m = opaque;

    m->acks++;
    return m->vector;
}

static void t_machine_init(TMachine *m)
{
    memset(m, 0, sizeof(*m));
    m->com1 = g_string_new(NULL);
    m->outs = g_array_new(FALSE, FALSE, sizeof(uint32_t));
}

static void t_machine_clear(TMachine *m)
{
    g_string_free(m->com1, TRUE);
    g_array_free(m->outs, TRUE);
}

static GBytes *t_bios(const char *name)
{
    const char *dir = g_getenv("LOCKSTEP_TEST_BIOS_DIR");
    g_autofree char *path = NULL;
    g_autoptr(GError) err = NULL;
    char *buf;
    gsize len;

    g_assert_nonnull(dir);
    path = g_strdup_printf("%s/bios-%s.bin", dir, name);
    g_assert_true(g_file_get_contents(path, &buf, &len, &err));
    return g_bytes_new_take(buf, len);
}

static Vcpu *t_vcpu(TMachine *m, const char *bios)
{
    const VcpuIo io = {
        .pio_in = t_in, .pio_out = t_out, .intr_ack = t_ack, .opaque = m};
    g_autoptr(GBytes) img = t_bios(bios);
    g_autoptr(GError) err = NULL;
    Vcpu *v = vcpu_new(VCPU_ACCEL_TCG, &io, &err);
    gsize len;
    const uint8_t *p = g_bytes_get_data(img, &len);

    g_assert_no_error(err);
    g_assert_true(vcpu_load_bios(v, p, len, &err));
    g_assert_no_error(err);
    return v;
}

/* Runs slices of `budget` until the vCPU halts; returns the exits seen
   other than HALT. */
static unsigned t_run_to_halt(Vcpu *v, uint64_t budget)
{
    uint64_t total = 0, n;
    unsigned slices = 0;

    for (;;) {
        VcpuExit ex = vcpu_run(v, budget, &n);

        g_assert_cmpuint(n, <=, budget);
        total += n;
        g_assert_cmpuint(total, <, T_RUN_MAX);
        if (ex == VCPU_EXIT_HALT) {
            return slices;
        }
        g_assert_cmpint(ex, ==, VCPU_EXIT_BUDGET);
        g_assert_cmpuint(n, ==, budget);
        slices++;
    }
}

static void test_reset_vector(void)
{
    TMachine m;
    Vcpu *v;

    t_machine_init(&m);
    v = t_vcpu(&m, "hello");
    g_assert_cmpuint(t_run_to_halt(v, 1000000), ==, 0);
    g_assert_cmpstr(m.com1->str, ==, "hello from F000:FFF0\n");
    g_assert_true(vcpu_halted(v));
    g_assert_false(vcpu_runnable(v)); /* IF is clear: nothing wakes it */
    vcpu_free(v);
    t_machine_clear(&m);
}

/* One instruction per slice: each stop must resume exactly where it
   stopped, or the text comes out wrong. */
static void test_budget_one(void)
{
    TMachine m;
    uint64_t one;
    Vcpu *v;

    t_machine_init(&m);
    v = t_vcpu(&m, "hello");
    g_assert_cmpuint(t_run_to_halt(v, 1), >, 20);
    g_assert_cmpstr(m.com1->str, ==, "hello from F000:FFF0\n");
    one = vcpu_insns(v);
    g_assert_cmpuint(one, >, 20);
    vcpu_free(v);

    t_machine_init(&m);
    v = t_vcpu(&m, "hello");
    t_run_to_halt(v, 7);
    g_assert_cmpuint(vcpu_insns(v), ==, one); /* same count, any slicing */
    vcpu_free(v);
    t_machine_clear(&m);
}

static void test_reset(void)
{
    TMachine m;
    Vcpu *v;
    uint64_t n;

    t_machine_init(&m);
    v = t_vcpu(&m, "hello");
    t_run_to_halt(v, 1000);
    g_assert_cmpint(vcpu_run(v, 1000, &n), ==, VCPU_EXIT_HALT);
    g_assert_cmpuint(n, ==, 0);
    vcpu_reset(v);
    g_assert_false(vcpu_halted(v));
    t_run_to_halt(v, 1000);
    g_assert_cmpstr(m.com1->str, ==,
                    "hello from F000:FFF0\nhello from F000:FFF0\n");
    vcpu_free(v);
    t_machine_clear(&m);
}

static void test_bios_size(void)
{
    static const size_t bad[] = {0, 4096, VCPU_BIOS_ALIGN + 4096,
                                 VCPU_BIOS_MAX + VCPU_BIOS_ALIGN};
    const VcpuIo io = {.pio_in = t_in, .pio_out = t_out, .intr_ack = t_ack};
    g_autofree uint8_t *img = g_malloc0(VCPU_BIOS_MAX + VCPU_BIOS_ALIGN);

    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) err = NULL;
        Vcpu *v = vcpu_new(VCPU_ACCEL_TCG, &io, &err);

        g_assert_false(vcpu_load_bios(v, img, bad[i], &err));
        g_assert_nonnull(strstr(err->message, "must be a non-zero multiple "
                                              "of 65536, at most 16777216"));
        vcpu_free(v);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vcpu/reset-vector", test_reset_vector);
    g_test_add_func("/vcpu/budget-one", test_budget_one);
    g_test_add_func("/vcpu/reset", test_reset);
    g_test_add_func("/vcpu/bios-size", test_bios_size);
    return g_test_run();
}
