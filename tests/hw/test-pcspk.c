/* Port 0x61 over PIT channel 2: gate, data bit, OUT2 and the per-read
   refresh toggle, values checked against QEMU 7.2 under -accel qtest;
   reset keeps data_on (QEMU has no pcspk reset); snapshot round trip. */
#include "hw/pcspk.h"

#include <string.h>

typedef struct Fix {
    HwClock *clock;
    HwBus bus;
    VmsRegistry *reg;
    PitDevice *pit;
    PcspkDevice *spk;
} Fix;

static void fix_init(Fix *f)
{
    GError *err = NULL;

    f->clock = hw_clock_new(true);
    hw_clock_start(f->clock);
    hw_bus_init(&f->bus);
    f->reg = vms_registry_new();
    f->pit = pit_new(f->clock, NULL);
    f->spk = pcspk_new(f->clock, f->pit);
    g_assert_true(pit_realize(f->pit, &f->bus, f->reg, &err));
    g_assert_true(pcspk_realize(f->spk, &f->bus, f->reg, &err));
    g_assert_no_error(err);
}

static void fix_free(Fix *f)
{
    pcspk_free(f->spk);
    pit_free(f->pit);
    vms_registry_free(f->reg);
    hw_clock_free(f->clock);
}

static void outb(Fix *f, uint16_t port, uint8_t v)
{
    hw_bus_out(&f->bus, port, v, 1);
}

static uint8_t inb(Fix *f, uint16_t port)
{
    return hw_bus_in(&f->bus, port, 1);
}

static void test_port61(void)
{
    Fix f;

    fix_init(&f);
    /* channel 2 after reset: mode 3, OUT high; refresh toggles per read */
    g_assert_cmphex(inb(&f, 0x61), ==, 0x30);
    g_assert_cmphex(inb(&f, 0x61), ==, 0x20);
    outb(&f, 0x61, 0xff);
    g_assert_cmphex(inb(&f, 0x61), ==, 0x33);
    g_assert_cmphex(inb(&f, 0x61), ==, 0x23);
    outb(&f, 0x61, 0x00);
    /* mode 1 one-shot of 16 ticks, started by the gate's rising edge */
    outb(&f, 0x43, 0xb2);
    outb(&f, 0x42, 0x10);
    outb(&f, 0x42, 0x00);
    hw_clock_set(f.clock, 200000);
    g_assert_cmphex(inb(&f, 0x61), ==, 0x10);
    outb(&f, 0x61, 0x01);
    g_assert_cmphex(inb(&f, 0x61), ==, 0x21);
    hw_clock_step(f.clock, 13410);
    g_assert_cmphex(inb(&f, 0x61), ==, 0x11);
    /* system reset: PIT gate 2 drops, data_on survives */
    outb(&f, 0x61, 0x03);
    pit_reset(f.pit);
    pcspk_reset(f.spk);
    g_assert_cmpint(f.spk->s.data_on, ==, 1);
    g_assert_cmphex(inb(&f, 0x61) & 0x23, ==, 0x22);
    fix_free(&f);
}

static void test_snapshot(void)
{
    Fix a, b;
    GByteArray *buf = g_byte_array_new();
    VmsSaveOpts so = {.footers = true};
    VmsLoadOpts lo = {.unknown = VMS_UNKNOWN_REJECT};
    GError *err = NULL;
    PcspkState before;
    uint8_t *p = NULL;

    fix_init(&a);
    fix_init(&b);
    outb(&a, 0x61, 0x02);
    inb(&a, 0x61);
    g_assert_true(vms_save_all(a.reg, &so, buf, &err));
    g_assert_true(vms_load_all(b.reg, buf->data, buf->len, &lo, &err));
    g_assert_no_error(err);
    for (int i = 0; i < 3; i++) {
        g_assert_cmphex(inb(&a, 0x61), ==, inb(&b, 0x61));
    }
    before = b.spk->s;
    for (guint i = 0; i + 6 < buf->len; i++) {
        if (memcmp(buf->data + i, "\x05pcspk", 6) == 0) {
            p = buf->data + i + 6 + 8;
        }
    }
    g_assert_nonnull(p);
    p[1] = 0x11;
    g_assert_false(vms_load_all(b.reg, buf->data, buf->len, &lo, &err));
    g_assert_nonnull(strstr(err->message, "dummy_refresh_clock"));
    g_clear_error(&err);
    g_assert_cmpmem(&before, sizeof(before), &b.spk->s, sizeof(before));
    g_byte_array_free(buf, TRUE);
    fix_free(&a);
    fix_free(&b);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/hw/pcspk/port61", test_port61);
    g_test_add_func("/hw/pcspk/snapshot", test_snapshot);
    return g_test_run();
}
