/* dm machine (timer + globalstate sections, save/load) and run states. */
#include <string.h>

#include "dm/machine.h"
#include "dm/runstate.h"

static DmMachine *new_machine(DmMachineKind kind, bool footers)
{
    DmOptions o = {0};
    GError *err = NULL;
    DmMachine *m;

    o.machine = kind;
    o.section_footers = footers;
    o.accel_qtest = true;
    o.nodefaults = true;
    m = dm_machine_new(&o, &err);
    g_assert_no_error(err);
    g_assert_nonnull(m);
    return m;
}

static GByteArray *save(DmMachine *m, const char *runstate)
{
    GByteArray *out = g_byte_array_new();
    GError *err = NULL;

    g_assert_true(dm_machine_save(m, runstate, out, &err));
    g_assert_no_error(err);
    return out;
}

/* -machine none: QEMU 7.2 writes timer (id 0) and globalstate (id 5). */
static void test_none_layout(void)
{
    DmMachine *m = new_machine(DM_MACHINE_NONE, true);
    GByteArray *b = save(m, "paused");
    static const uint8_t gs_hdr[] = {
        0x04, 0,   0, 0, 5, 11, 'g', 'l', 'o', 'b', 'a', 'l', 's', 't', 'a',
        't',  'e', 0, 0, 0, 0,  0,   0,   0,   1,   0,   0,   0,   7};

    g_assert_cmpuint(b->len, ==, 0x38 + sizeof(gs_hdr) + 100 + 5 + 1);
    g_assert_cmpmem(b->data, 4, "QEVM", 4);
    g_assert_cmpmem(b->data + 0x0d, 6, "\x05timer", 6);
    g_assert_cmpmem(b->data + 0x38, sizeof(gs_hdr), gs_hdr, sizeof(gs_hdr));
    g_assert_cmpstr((char *)b->data + 0x38 + sizeof(gs_hdr), ==, "paused");
    g_assert_cmpuint(b->data[b->len - 1], ==, 0);
    g_byte_array_unref(b);
    dm_machine_free(m);
}

static void test_round_trip_and_failed_load(void)
{
    DmMachine *a = new_machine(DM_MACHINE_NONE, true);
    DmMachine *c = new_machine(DM_MACHINE_NONE, true);
    GByteArray *ba, *bc, *bc2;
    GError *err = NULL;

    hw_clock_step(a->clock, 123456789);
    ba = save(a, "running");
    g_assert_true(dm_machine_load(c, ba->data, ba->len, &err));
    g_assert_no_error(err);
    g_assert_cmpint(hw_clock_now(c->clock), ==, 123456789);
    bc = save(c, "running");
    g_assert_cmpmem(ba->data, ba->len, bc->data, bc->len);
    /* A bad globalstate (unknown run state) fails, and changes nothing. */
    memcpy(ba->data + 0x38 + 29, "runnin!", 7);
    hw_clock_step(a->clock, 1);
    g_assert_false(dm_machine_load(c, ba->data, ba->len, &err));
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(err->message, "globalstate"));
    g_clear_error(&err);
    bc2 = save(c, "running");
    g_assert_cmpmem(bc->data, bc->len, bc2->data, bc2->len);
    g_byte_array_unref(ba);
    g_byte_array_unref(bc);
    g_byte_array_unref(bc2);
    dm_machine_free(a);
    dm_machine_free(c);
}

static void test_no_footers(void)
{
    DmMachine *m = new_machine(DM_MACHINE_NONE, false);
    GByteArray *b = save(m, "prelaunch");

    g_assert_cmpuint(b->data[0x33], ==, 0x04); /* next section, no 0x7e */
    g_byte_array_unref(b);
    dm_machine_free(m);
}

static void test_pc_round_trip(void)
{
    DmMachine *a = new_machine(DM_MACHINE_PC, true);
    DmMachine *c = new_machine(DM_MACHINE_PC, true);
    GByteArray *ba = save(a, "paused"), *bc;
    GError *err = NULL;

    g_assert_true(dm_machine_load(c, ba->data, ba->len, &err));
    bc = save(c, "paused");
    g_assert_cmpmem(ba->data, ba->len, bc->data, bc->len);
    dm_machine_reset(c);
    g_byte_array_unref(ba);
    g_byte_array_unref(bc);
    dm_machine_free(a);
    dm_machine_free(c);
}

typedef struct Events {
    GString *log;
} Events;

static void record(void *opaque, const char *event, json_t *data)
{
    Events *e = opaque;
    char *s = data ? json_dumps(data, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

    g_string_append_printf(e->log, "%s%s%s;", event, s ? " " : "", s ? s : "");
    free(s);
    json_decref(data);
}

static void test_runstate(void)
{
    DmMachine *m = new_machine(DM_MACHINE_NONE, true);
    Events e = {g_string_new(NULL)};
    DmRunstate rs;

    dm_runstate_init(&rs, m, true, record, &e);
    g_assert_cmpstr(dm_runstate_name(rs.state), ==, "prelaunch");
    dm_runstate_stop(&rs);
    g_assert_cmpstr(dm_runstate_name(rs.state), ==, "prelaunch");
    dm_runstate_cont(&rs);
    g_assert_true(hw_clock_running(m->clock));
    dm_runstate_cont(&rs);
    dm_runstate_stop(&rs);
    g_assert_false(hw_clock_running(m->clock));
    dm_runstate_stop(&rs);
    dm_runstate_reset(&rs, false, "host-qmp-system-reset");
    g_assert_cmpstr(dm_runstate_name(rs.state), ==, "paused");
    dm_runstate_shutdown(&rs, false, "host-qmp-quit");
    g_assert_cmpstr(e.log->str, ==,
                    "RESUME;STOP;"
                    "RESET {\"guest\":false,\"reason\":"
                    "\"host-qmp-system-reset\"};"
                    "SHUTDOWN {\"guest\":false,\"reason\":"
                    "\"host-qmp-quit\"};");
    g_string_free(e.log, TRUE);
    dm_machine_free(m);
}

static int irq_seen[DM_ISA_IRQS];

static void observer(void *opaque, int n, int level)
{
    irq_seen[n] = level + 1;
}

static void test_isa_irq(void)
{
    DmMachine *m = new_machine(DM_MACHINE_NONE, true);

    m->irq_observer = observer;
    hw_irq_raise(&m->isa_irq[4]);
    g_assert_cmpint(m->isa_level[4], ==, 1);
    g_assert_cmpint(irq_seen[4], ==, 2);
    hw_irq_lower(&m->isa_irq[4]);
    g_assert_cmpint(m->isa_level[4], ==, 0);
    g_assert_cmpint(irq_seen[4], ==, 1);
    dm_machine_free(m);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/dm/machine/none-layout", test_none_layout);
    g_test_add_func("/dm/machine/round-trip", test_round_trip_and_failed_load);
    g_test_add_func("/dm/machine/no-footers", test_no_footers);
    g_test_add_func("/dm/machine/pc-round-trip", test_pc_round_trip);
    g_test_add_func("/dm/machine/isa-irq", test_isa_irq);
    g_test_add_func("/dm/runstate/transitions", test_runstate);
    return g_test_run();
}
