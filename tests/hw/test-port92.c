/* Port 0x92: stored byte, A20 line, reset request on the rising edge of
   bit 0 only, reset clears bit 0 only (QEMU 7.2); snapshot round trip. */
#include "hw/port92.h"

#include <string.h>

typedef struct Fix {
    HwBus bus;
    VmsRegistry *reg;
    HwIrq a20;
    int a20_level;
    int resets;
    Port92Device *p92;
} Fix;

static void a20_handler(void *opaque, int n, int level)
{
    Fix *f = opaque;

    f->a20_level = level;
}

static void reset_cb(void *opaque)
{
    Fix *f = opaque;

    f->resets++;
}

static void fix_init(Fix *f)
{
    GError *err = NULL;

    memset(f, 0, sizeof(*f));
    hw_bus_init(&f->bus);
    f->reg = vms_registry_new();
    hw_irq_init(&f->a20, a20_handler, f, 0);
    f->p92 = port92_new(reset_cb, f, &f->a20);
    g_assert_true(port92_realize(f->p92, &f->bus, f->reg, &err));
    g_assert_no_error(err);
}

static void fix_free(Fix *f)
{
    port92_free(f->p92);
    vms_registry_free(f->reg);
}

static void test_port92(void)
{
    Fix f;

    fix_init(&f);
    g_assert_cmphex(hw_bus_in(&f.bus, 0x92, 1), ==, 0);
    hw_bus_out(&f.bus, 0x92, 0xfe, 1);
    g_assert_cmphex(hw_bus_in(&f.bus, 0x92, 1), ==, 0xfe);
    g_assert_cmpint(f.a20_level, ==, 1);
    g_assert_cmpint(f.resets, ==, 0);
    hw_bus_out(&f.bus, 0x92, 0x01, 1);
    g_assert_cmpint(f.a20_level, ==, 0);
    g_assert_cmpint(f.resets, ==, 1);
    hw_bus_out(&f.bus, 0x92, 0x03, 1); /* bit 0 already set: no edge */
    g_assert_cmpint(f.resets, ==, 1);
    port92_reset(f.p92);
    g_assert_cmphex(hw_bus_in(&f.bus, 0x92, 1), ==, 0x02);
    hw_bus_out(&f.bus, 0x92, 0x03, 1);
    g_assert_cmpint(f.resets, ==, 2);
    fix_free(&f);
}

static void test_snapshot(void)
{
    Fix a, b;
    GByteArray *buf = g_byte_array_new();
    VmsSaveOpts so = {.footers = true};
    VmsLoadOpts lo = {.unknown = VMS_UNKNOWN_REJECT};
    GError *err = NULL;

    fix_init(&a);
    fix_init(&b);
    hw_bus_out(&a.bus, 0x92, 0x02, 1);
    g_assert_true(vms_save_all(a.reg, &so, buf, &err));
    g_assert_true(vms_load_all(b.reg, buf->data, buf->len, &lo, &err));
    g_assert_no_error(err);
    g_assert_cmphex(hw_bus_in(&b.bus, 0x92, 1), ==, 0x02);
    g_assert_cmpint(b.a20_level, ==, 1);
    g_assert_cmpint(b.resets, ==, 0);
    /* the same write on both: the same reset request */
    hw_bus_out(&a.bus, 0x92, 0x03, 1);
    hw_bus_out(&b.bus, 0x92, 0x03, 1);
    g_assert_cmpint(a.resets, ==, b.resets);
    /* a truncated stream fails and leaves B as it was */
    g_assert_false(vms_load_all(b.reg, buf->data, buf->len - 12, &lo, &err));
    g_assert_nonnull(err);
    g_clear_error(&err);
    g_assert_cmphex(hw_bus_in(&b.bus, 0x92, 1), ==, 0x03);
    g_byte_array_free(buf, TRUE);
    fix_free(&a);
    fix_free(&b);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/hw/port92/registers", test_port92);
    g_test_add_func("/hw/port92/snapshot", test_snapshot);
    return g_test_run();
}
