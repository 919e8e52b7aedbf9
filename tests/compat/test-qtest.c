/*
 * Unit tests of the qtest line parser (src/dm/qtest.c) on a hand-built
 * machine: a stepped clock, a bus with one test register and a timer that
 * drives ISA line 3 through the machine's observer, as machine.c does.
 * Reply formats are QEMU 7.2's, checked against the real binary.
 */
#include <glib.h>
#include <string.h>

#include "dm/qtest.h"

typedef struct Fixture {
    DmMachine m;
    DmQtest *q;
    uint8_t reg[4];
    HwTimer *t;
    int64_t period;
    int level;
} Fixture;

static uint32_t fx_read(void *opaque, uint16_t port, unsigned size)
{
    Fixture *f = opaque;
    return f->reg[port - 0x500];
}

static void fx_write(void *opaque, uint16_t port, uint32_t val, unsigned size)
{
    Fixture *f = opaque;
    f->reg[port - 0x500] = (uint8_t)val;
    if (port == 0x500 && val) { /* arm a square wave on ISA line 3 */
        f->period = val * 1000;
        hw_timer_mod(f->t, hw_clock_now(f->m.clock) + f->period);
    }
}

static const HwPortOps fx_ops = {
    .read = fx_read,
    .write = fx_write,
    .access_size = 1,
};

static void fx_tick(void *opaque)
{
    Fixture *f = opaque;

    f->level = !f->level;
    if (f->m.irq_observer) {
        f->m.irq_observer(f->m.irq_observer_opaque, 3, f->level);
    }
    hw_timer_mod(f->t, hw_clock_now(f->m.clock) + f->period);
}

static void fx_setup(Fixture *f, gconstpointer data)
{
    memset(f, 0, sizeof(*f));
    f->m.clock = hw_clock_new(true);
    hw_clock_start(f->m.clock);
    hw_bus_init(&f->m.bus);
    g_assert_true(hw_bus_map(&f->m.bus, "fx", 0x500, 4, &fx_ops, f, NULL));
    f->t = hw_timer_new(f->m.clock, fx_tick, f);
    f->q = dm_qtest_new(&f->m);
}

static void fx_teardown(Fixture *f, gconstpointer data)
{
    dm_qtest_free(f->q);
    hw_timer_free(f->t);
    hw_clock_free(f->m.clock);
}

static void expect(Fixture *f, const char *line, const char *want)
{
    g_autoptr(GString) reply = g_string_new(NULL);

    dm_qtest_process_line(f->q, line, reply);
    g_assert_cmpstr(reply->str, ==, want);
}

static void test_pio(Fixture *f, gconstpointer data)
{
    expect(f, "outb 0x501 0x1234", "OK\n"); /* truncated to a byte */
    expect(f, "inb 0x501", "OK 0x0034\n");  /* QEMU: %04x for all */
    expect(f, "outw 0x502 0xbeef", "OK\n");
    expect(f, "inw 0x502", "OK 0xbeef\n");
    expect(f, "inl 0x500", "OK 0xbeef3400\n");
    expect(f, "inb 0x1234", "OK 0x00ff\n"); /* unmapped: all ones */
    expect(f, "inl 0x1234", "OK 0xffffffff\n");
    expect(f, "inb 1281", "OK 0x0034\n"); /* decimal, as strtoul */
    expect(f, "endianness", "OK little\n");
}

static void test_clock(Fixture *f, gconstpointer data)
{
    expect(f, "clock_step", "OK 0\n"); /* nothing pending: stays */
    expect(f, "clock_step 100", "OK 100\n");
    expect(f, "clock_set 50", "OK 100\n"); /* never back */
    expect(f, "clock_set 1000", "OK 1000\n");
    expect(f, "clock_step -5", "OK 1000\n");
    expect(f, "outb 0x500 2", "OK\n");    /* timer due at 3000 */
    expect(f, "clock_step", "OK 3000\n"); /* to the next deadline */
    expect(f, "clock_step", "OK 5000\n");
}

static void test_irq_intercept(Fixture *f, gconstpointer data)
{
    expect(f, "outb 0x500 1", "OK\n");
    expect(f, "clock_step 1500", "OK 1500\n"); /* not intercepting yet */
    expect(f, "irq_intercept_in i8259", "FAIL Unknown device\n");
    expect(f, "irq_intercept_in ioapic", "OK\n");
    expect(f, "irq_intercept_in ioapic", "OK\n");
    /* levels are tracked from 0 on intercept, as QEMU: the line is high
       now, so the next edge (lower) is not reported */
    expect(f, "clock_step 500", "OK 2000\n");
    expect(f, "clock_step 1000", "IRQ raise 3\nOK 3000\n");
    expect(f, "clock_step 2000", "IRQ lower 3\nIRQ raise 3\nOK 5000\n");
}

static void test_errors(Fixture *f, gconstpointer data)
{
    g_autofree char *longline = g_strnfill(DM_QTEST_MAX_LINE + 10, 'a');

    expect(f, "bogus 1", "FAIL Unknown command 'bogus'\n");
    expect(f, "", "FAIL Unknown command ''\n");
    expect(f, "inb", "FAIL bad or missing address ''\n");
    expect(f, "inb 0x10000", "FAIL address out of range: 0x10000\n");
    expect(f, "outb 0x80", "FAIL bad or missing value ''\n");
    expect(f, "outb 0x80 zz", "FAIL bad or missing value 'zz'\n");
    expect(f, "clock_step 1x", "FAIL bad number '1x'\n");
    expect(f, "clock_set", "FAIL bad or missing number ''\n");
    expect(f, "irq_intercept_out", "FAIL Unknown device\n");
    expect(f, "readb 0",
           "FAIL 'readb': this machine has no guest memory "
           "(device model only)\n");
    expect(f, "inb 0x501\r", "OK 0x0000\n");
    expect(f, longline, "FAIL line longer than 4096 bytes\n");
}

static void test_step_cap(Fixture *f, gconstpointer data)
{
    dm_qtest_set_max_step(f->q, 1000);
    expect(f, "clock_step 1000", "OK 1000\n");
    expect(f, "clock_step 1001", "FAIL clock step over the cap of 1000 ns\n");
    expect(f, "clock_set 9000", "FAIL clock step over the cap of 1000 ns\n");
}

static void test_not_stepped(void)
{
    DmMachine m = {0};
    DmQtest *q;
    g_autoptr(GString) reply = g_string_new(NULL);

    m.clock = hw_clock_new(false);
    hw_bus_init(&m.bus);
    q = dm_qtest_new(&m);
    /* Without -accel qtest, QEMU does not know the clock commands. */
    dm_qtest_process_line(q, "clock_step 10", reply);
    g_assert_cmpstr(reply->str, ==, "FAIL Unknown command 'clock_step'\n");
    dm_qtest_free(q);
    hw_clock_free(m.clock);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define ADD(path, fn) g_test_add(path, Fixture, NULL, fx_setup, fn, fx_teardown)
    ADD("/qtest/pio", test_pio);
    ADD("/qtest/clock", test_clock);
    ADD("/qtest/irq-intercept", test_irq_intercept);
    ADD("/qtest/errors", test_errors);
    ADD("/qtest/step-cap", test_step_cap);
    g_test_add_func("/qtest/not-stepped", test_not_stepped);
    return g_test_run();
}
