/*
 * The vCPU in a pc machine (src/machine with MachineOpts.bios): maskable
 * interrupts from the real PIC pair, acknowledged through pic_read_irq,
 * entered through the real-mode IVT, left with iret; IF, priorities,
 * masking, EOI and hlt. The guest is tests/cpu/bios-intr.s; the test
 * raises ISA lines between slices, so every run is the same.
 */
#include <glib.h>
#include <string.h>

#include "machine/machine.h"

#define T_SLICE_MAX 10000 /* slices any phase of the test BIOS needs */

typedef struct TPc {
    Machine *m;
    GString *com1;
} TPc;

static int t_sink_write(void *be, const uint8_t *buf, int len)
{
    g_string_append_len(be, (const char *)buf, len);
    return len;
}

static const HwCharOps t_sink_ops = {.write = t_sink_write};

static void t_pc_init_bios(TPc *t, const char *bios)
{
    const char *dir = g_getenv("LOCKSTEP_TEST_BIOS_DIR");
    g_autofree char *path = g_strdup_printf("%s/bios-%s.bin", dir, bios);
    g_autofree char *img = NULL;
    g_autoptr(GError) err = NULL;
    MachineOpts mo = {.kind = MACHINE_PC, .stepped_clock = true};
    gsize len;

    g_assert_true(g_file_get_contents(path, &img, &len, &err));
    t->com1 = g_string_new(NULL);
    mo.nserial = 1;
    mo.serial[0] = (MachineSerialSink){&t_sink_ops, t->com1};
    mo.bios = (const uint8_t *)img;
    mo.bios_len = len;
    mo.ram_size = 1 << 20;
    t->m = machine_new(&mo, &err);
    g_assert_no_error(err);
    g_assert_nonnull(t->m->vcpu);
}

static void t_pc_init(TPc *t)
{
    t_pc_init_bios(t, "intr");
}

static void t_pc_free(TPc *t)
{
    machine_free(t->m);
    g_string_free(t->com1, TRUE);
}

/* Runs `budget`-instruction slices until the vCPU halts. */
static void t_run_to_halt(TPc *t, uint64_t budget)
{
    uint64_t n;

    for (int i = 0; i < T_SLICE_MAX; i++) {
        VcpuExit ex = vcpu_run(t->m->vcpu, budget, &n);

        g_assert_cmpint(ex, !=, VCPU_EXIT_ERROR);
        if (ex == VCPU_EXIT_HALT) {
            return;
        }
    }
    g_assert_not_reached();
}

/* One instruction at a time until COM1 shows `want`. */
static void t_run_to_output(TPc *t, const char *want)
{
    uint64_t n;

    for (int i = 0; i < T_SLICE_MAX && strcmp(t->com1->str, want); i++) {
        g_assert_cmpint(vcpu_run(t->m->vcpu, 1, &n), ==, VCPU_EXIT_BUDGET);
    }
    g_assert_cmpstr(t->com1->str, ==, want);
}

static void t_pulse(TPc *t, int irq)
{
    hw_irq_raise(&t->m->isa_irq[irq]);
    hw_irq_lower(&t->m->isa_irq[irq]);
}

/* Halted with nothing it may take: runs nothing. */
static void t_assert_asleep(TPc *t)
{
    uint64_t before = vcpu_insns(t->m->vcpu), n;

    g_assert_false(vcpu_runnable(t->m->vcpu));
    g_assert_cmpint(vcpu_run(t->m->vcpu, 1000, &n), ==, VCPU_EXIT_HALT);
    g_assert_cmpuint(n, ==, 0);
    g_assert_cmpuint(vcpu_insns(t->m->vcpu), ==, before);
}

/* `int 0x60` goes through the IVT and iret comes back ('I' then 'R');
   an IRQ raised while IF is clear waits for sti ('S' first), and is
   taken within the sti window, before 'T', not only at a slice end. */
static void test_if_iret(void)
{
    TPc t;

    t_pc_init(&t);
    t_run_to_output(&t, "IR");
    t_pulse(&t, 3);
    t_run_to_halt(&t, 1000000);
    g_assert_cmpstr(t.com1->str, ==, "IRS3T");
    t_assert_asleep(&t);
    t_pc_free(&t);
}

/* Two lines at once: the higher priority (lower number) first; a slave
   line through the cascade. hlt wakes for each. */
static void test_priority(void)
{
    TPc t;

    t_pc_init(&t);
    t_run_to_halt(&t, 1000);
    g_assert_cmpstr(t.com1->str, ==, "IRST");
    t_assert_asleep(&t);
    hw_irq_raise(&t.m->isa_irq[4]);
    hw_irq_raise(&t.m->isa_irq[3]);
    hw_irq_lower(&t.m->isa_irq[4]);
    hw_irq_lower(&t.m->isa_irq[3]);
    t_run_to_halt(&t, 1000);
    g_assert_cmpstr(t.com1->str, ==, "IRST34");
    t_pulse(&t, 12);
    t_run_to_halt(&t, 1000);
    g_assert_cmpstr(t.com1->str, ==, "IRST34C");
    t_assert_asleep(&t);
    t_pc_free(&t);
}

/* IRQ 5 is masked by the guest: nothing until the IMR bit clears. */
static void test_mask(void)
{
    TPc t;

    t_pc_init(&t);
    t_run_to_halt(&t, 1000);
    t_pulse(&t, 5);
    t_assert_asleep(&t);
    hw_bus_out(&t.m->bus, 0x21, 0x00, 1); /* OCW1: unmask all */
    t_run_to_halt(&t, 1000);
    g_assert_cmpstr(t.com1->str, ==, "IRST5");
    t_pc_free(&t);
}

/* IRQ 1's handler sends no EOI: its ISR bit blocks IRQ 3 until an EOI. */
static void test_eoi(void)
{
    TPc t;

    t_pc_init(&t);
    t_run_to_halt(&t, 1000);
    t_pulse(&t, 1);
    t_run_to_halt(&t, 1000);
    g_assert_cmpstr(t.com1->str, ==, "IRST1");
    t_pulse(&t, 3);
    t_assert_asleep(&t);
    hw_bus_out(&t.m->bus, 0x20, 0x20, 1); /* OCW2: non-specific EOI */
    t_run_to_halt(&t, 1000);
    g_assert_cmpstr(t.com1->str, ==, "IRST13");
    t_pc_free(&t);
}

static void t_collect(void *opaque, uint64_t page)
{
    g_string_append_printf(opaque, "%" G_GINT64_MODIFIER "x ", page);
}

/* With the dirty log on, exactly the pages the guest wrote are dirty
   (stores of every width, one straddling two pages, and the pushes of
   an interrupt entry); with it off, none. */
static void test_dirty_tracking(void)
{
    g_autoptr(GString) pages = g_string_new(NULL);
    TPc t;

    t_pc_init_bios(&t, "dirty");
    ram_dirty_log_enable(t.m->ram, true);
    t_run_to_halt(&t, 1000);
    g_assert_cmpstr(t.com1->str, ==, "D");
    ram_dirty_foreach(t.m->ram, t_collect, pages);
    g_assert_cmpstr(pages->str, ==, "0 6 10 20 30 31 ");
    t_pc_free(&t);

    t_pc_init_bios(&t, "dirty");
    ram_dirty_log_enable(t.m->ram, true);
    ram_dirty_log_enable(t.m->ram, false);
    t_run_to_halt(&t, 1000);
    g_assert_cmpstr(t.com1->str, ==, "D");
    g_assert_cmpuint(ram_dirty_count(t.m->ram), ==, 0);
    t_pc_free(&t);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vcpu-intr/if-iret", test_if_iret);
    g_test_add_func("/vcpu-intr/priority", test_priority);
    g_test_add_func("/vcpu-intr/mask", test_mask);
    g_test_add_func("/vcpu-intr/eoi", test_eoi);
    g_test_add_func("/vcpu-intr/dirty-tracking", test_dirty_tracking);
    return g_test_run();
}
