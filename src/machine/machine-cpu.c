/*
 * The pc machine's vCPU (MachineOpts.bios): port I/O to the machine's
 * bus, INTR from the master PIC, INTA through the PIC pair.
 */
#include "machine/machine-internal.h"

static uint32_t machine_cpu_pio_in(void *opaque, uint16_t port, unsigned size)
{
    Machine *m = opaque;

    return hw_bus_in(&m->bus, port, size);
}

static void machine_cpu_pio_out(void *opaque, uint16_t port, uint32_t val,
                                unsigned size)
{
    Machine *m = opaque;

    hw_bus_out(&m->bus, port, val, size);
}

static int machine_cpu_intr_ack(void *opaque)
{
    return machine_pc_read_irq(opaque);
}

static void machine_cpu_intr(void *opaque, int n, int level)
{
    Machine *m = opaque;

    if (m->vcpu) {
        vcpu_set_intr(m->vcpu, level);
    }
}

bool machine_cpu_init(Machine *m, const MachineOpts *opts, GError **errp)
{
    const VcpuIo io = {machine_cpu_pio_in, machine_cpu_pio_out,
                       machine_cpu_intr_ack, m};

    hw_irq_init(&m->cpu_intr, machine_cpu_intr, m, 0);
    if (!opts->bios) {
        return true;
    }
    m->vcpu = vcpu_new(VCPU_ACCEL_TCG, &io, errp);
    if (!m->vcpu ||
        !vcpu_load_bios(m->vcpu, opts->bios, opts->bios_len, errp)) {
        g_prefix_error(errp, "could not load PC BIOS: ");
        return false;
    }
    return true;
}
