/*
 * The machine library as lockstep check and the daemon build it: one
 * UART per sink, in QEMU's section order, transmitting into the sink the
 * caller gave; -machine none without devices; a save loads into a second
 * machine, and a bad one leaves it as it was.
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

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/machine/serial-sinks", test_serial_sinks);
    g_test_add_func("/machine/none", test_none);
    g_test_add_func("/machine/round-trip", test_round_trip);
    return g_test_run();
}
