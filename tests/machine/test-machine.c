/*
 * The machine library as lockstep check and the daemon build it: one
 * UART per sink, in QEMU's section order, transmitting into the sink the
 * caller gave; -machine none without devices; a save loads into a second
 * machine, and a bad one leaves it as it was; whatever a guest writes to
 * any device's ports, the save that follows loads into a fresh machine
 * and that machine re-saves the same bytes.
 */
#include <string.h>

#include "machine/machine.h"

typedef struct Sink {
    GString *got;
} Sink;

static int sink_write(void *be, const uint8_t *buf, int len)
{
    Sink *s = be;

    g_string_append_len(s->got, (const char *)buf, len);
    return len;
}

static const HwCharOps sink_ops = {.write = sink_write};

static Machine *pc_with(int nserial, Sink *sinks)
{
    MachineOpts mo = {.kind = MACHINE_PC, .stepped_clock = true};
    g_autoptr(GError) err = NULL;
    Machine *m;

    mo.save.footers = true;
    mo.nserial = nserial;
    for (int i = 0; sinks && i < nserial; i++) {
        mo.serial[i] = (MachineSerialSink){&sink_ops, &sinks[i]};
    }
    m = machine_new(&mo, &err);
    g_assert_no_error(err);
    return m;
}

static void test_serial_sinks(void)
{
    Sink sinks[2] = {{g_string_new(NULL)}, {g_string_new(NULL)}};
    Machine *m = pc_with(2, sinks);

    g_assert_nonnull(machine_serial(m, 1));
    g_assert_null(machine_serial(m, 2));
    g_assert_true(machine_serial_sink(m, 1)->opaque == &sinks[1]);
    g_assert_null(machine_serial_sink(m, 2));
    g_assert_cmpint(vms_registry_find(m->reg, "serial", 1), >=, 0);
    g_assert_cmpint(vms_registry_find(m->reg, "serial", 0x2f8), ==,
                    vms_registry_find(m->reg, "serial", 1));
    g_assert_cmpint(vms_registry_find(m->reg, "serial", 2), ==, -1);
    hw_bus_out(&m->bus, 0x2f8, 'B', 1); /* COM2 THR */
    hw_bus_out(&m->bus, 0x3f8, 'A', 1); /* COM1 THR */
    g_assert_cmpstr(sinks[0].got->str, ==, "A");
    g_assert_cmpstr(sinks[1].got->str, ==, "B");
    machine_free(m);
    g_string_free(sinks[0].got, TRUE);
    g_string_free(sinks[1].got, TRUE);
}

static void test_none(void)
{
    MachineOpts mo = {.kind = MACHINE_NONE, .nserial = 0};
    Machine *m = machine_new(&mo, NULL);

    g_assert_cmpuint(vms_registry_count(m->reg), ==, 2);
    g_assert_cmpstr(vms_registry_idstr(m->reg, 0), ==, "timer");
    g_assert_cmpstr(vms_registry_idstr(m->reg, 1), ==, "globalstate");
    g_assert_null(machine_serial(m, 0));
    machine_free(m);
}

/* Null sinks (as check builds it) take bytes and drop them. */
static void test_round_trip(void)
{
    Machine *a = pc_with(1, NULL);
    Machine *b = pc_with(4, NULL);
    g_autoptr(GByteArray) sa = g_byte_array_new();
    g_autoptr(GByteArray) sb = g_byte_array_new();
    g_autoptr(GByteArray) sb2 = g_byte_array_new();
    g_autoptr(GError) err = NULL;

    hw_bus_out(&a->bus, 0x3f8 + 7, 0x5a, 1); /* COM1 scratch register */
    hw_bus_out(&a->bus, 0x3f8, 'x', 1);
    g_assert_true(machine_save(a, "paused", sa, NULL));
    g_assert_true(machine_load(b, sa->data, sa->len, &err));
    g_assert_no_error(err);
    g_assert_cmphex(hw_bus_in(&b->bus, 0x3f8 + 7, 1), ==, 0x5a);
    g_assert_true(machine_save(b, "paused", sb, NULL));
    sa->data[sa->len - 2] ^= 0xff; /* globalstate's footer */
    g_assert_false(machine_load(b, sa->data, sa->len, &err));
    g_assert_nonnull(err);
    g_assert_true(machine_save(b, "paused", sb2, NULL));
    g_assert_cmpmem(sb->data, sb->len, sb2->data, sb2->len);
    machine_free(a);
    machine_free(b);
}

/* A pc machine whose RTC runs on the virtual clock from a fixed date
   (23:59:50, so BCD registers read in binary mode are out of range). */
static Machine *pc_fixed_rtc(void)
{
    MachineOpts mo = {.kind = MACHINE_PC, .stepped_clock = true};
    g_autoptr(GError) err = NULL;
    Machine *m;

    mo.save.footers = true;
    mo.nserial = 1;
    mo.rtc_base = "2024-02-29T23:59:50";
    mo.rtc_clock = "vm";
    m = machine_new(&mo, &err);
    g_assert_no_error(err);
    machine_set_running(m, true);
    return m;
}

/* The offset of the first byte where `a` and `b` differ; -1: none. */
static gssize first_difference(const GByteArray *a, const GByteArray *b)
{
    for (guint k = 0; k < MIN(a->len, b->len); k++) {
        if (a->data[k] != b->data[k]) {
            return k;
        }
    }
    return a->len == b->len ? -1 : (gssize)MIN(a->len, b->len);
}

/* Saves `a` and loads that into a fresh machine: it must load, and the
   loaded machine's own save must be the same bytes (as in QEMU 7.2: a
   COLO secondary's next checkpoint is the primary's). */
static void save_load_fresh(Machine *a, const char *dev, guint i)
{
    g_autoptr(GByteArray) st = g_byte_array_new();
    g_autoptr(GByteArray) again = g_byte_array_new();
    g_autoptr(GError) err = NULL;
    Machine *b = pc_fixed_rtc();
    gssize diff;

    g_assert_true(machine_save(a, "running", st, &err));
    g_assert_no_error(err);
    if (!machine_load(b, st->data, st->len, &err)) {
        g_prefix_error(&err, "%s, after write %u: ", dev, i);
    }
    g_assert_no_error(err);
    g_assert_true(machine_save(b, "running", again, &err));
    diff = first_difference(st, again);
    if (diff >= 0) {
        g_test_message("%s, after write %u: the re-save differs at byte %zd",
                       dev, i, diff);
    }
    g_assert_cmpint(diff, ==, -1);
    machine_free(b);
}

/* Each device's ports. An index/data pair (RTC) writes an index first,
   mostly one of the clock registers. */
typedef struct PortSet {
    const char *dev;
    uint16_t ports[8];
    int nports;
    uint16_t index_port; /* 0: none */
} PortSet;

static const PortSet port_sets[] = {
    {"pic", {0x20, 0x21, 0xa0, 0xa1}, 4, 0},
    {"pit", {0x40, 0x41, 0x42, 0x43}, 4, 0},
    {"pcspk", {0x61}, 1, 0},
    {"rtc", {0x71}, 1, 0x70},
    {"serial", {0x3f8, 0x3f9, 0x3fa, 0x3fb, 0x3fc, 0x3fd, 0x3fe, 0x3ff}, 8, 0},
    {"i8042", {0x60, 0x64}, 2, 0},
    {"port92", {0x92}, 1, 0},
};

#define PROPERTY_WRITES 400

static void drive_device(const PortSet *ps, GRand *r)
{
    Machine *a = pc_fixed_rtc();

    for (guint i = 0; i < PROPERTY_WRITES; i++) {
        uint16_t port = ps->ports[g_rand_int_range(r, 0, ps->nports)];

        if (ps->index_port) {
            hw_bus_out(&a->bus, ps->index_port,
                       g_rand_boolean(r) ? g_rand_int_range(r, 0, 0x0e)
                                         : g_rand_int_range(r, 0, 0x80),
                       1);
        }
        hw_bus_out(&a->bus, port, g_rand_int_range(r, 0, 256), 1);
        save_load_fresh(a, ps->dev, i);
        hw_clock_step(a->clock, g_rand_int_range(r, 0, 3) * 700000000LL);
        save_load_fresh(a, ps->dev, i);
    }
    machine_free(a);
}

/* Guest writes of random values to every device's ports, with time
   passing between them (timers fire): after each write, and again after
   the step, the save loads into a fresh machine. */
static void test_any_guest_writes_reload(void)
{
    g_autoptr(GRand) r = g_rand_new_with_seed(0x10c5);

    for (guint d = 0; d < G_N_ELEMENTS(port_sets); d++) {
        drive_device(&port_sets[d], r);
    }
}

/* The i8042 raises IRQ 1 for a byte written with D2, then the keyboard
   interface is disabled (AD): the controller's state alone gives IRQ 1
   low, but the line stays raised, as in QEMU 7.2, and the master PIC's
   last_irr keeps bit 1. A load must not lower it (QEMU re-saves the same
   bytes here), nor raise it where the PIC saw it low. */
static void test_i8042_disabled_irq1_resave(void)
{
    Machine *a = pc_fixed_rtc();

    hw_bus_out(&a->bus, 0x64, 0xd2, 1); /* write keyboard output buffer */
    hw_bus_out(&a->bus, 0x60, 0x11, 1);
    hw_bus_out(&a->bus, 0x64, 0xad, 1); /* disable keyboard interface */
    save_load_fresh(a, "i8042", 0);
    hw_bus_out(&a->bus, 0x20, 0x20, 1); /* non-specific EOI: nothing */
    hw_bus_out(&a->bus, 0x64, 0xae, 1); /* enable: the byte is still there */
    save_load_fresh(a, "i8042", 1);
    hw_bus_out(&a->bus, 0x20, 0x11, 1); /* ICW1: the master forgets IRQ 1 */
    hw_bus_out(&a->bus, 0x21, 0x08, 1);
    hw_bus_out(&a->bus, 0x21, 0x04, 1);
    hw_bus_out(&a->bus, 0x21, 0x01, 1);
    save_load_fresh(a, "i8042", 2);
    machine_free(a);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/machine/serial-sinks", test_serial_sinks);
    g_test_add_func("/machine/none", test_none);
    g_test_add_func("/machine/round-trip", test_round_trip);
    g_test_add_func("/machine/any-guest-writes-reload",
                    test_any_guest_writes_reload);
    g_test_add_func("/machine/i8042-disabled-irq1-resave",
                    test_i8042_disabled_irq1_resave);
    return g_test_run();
}
