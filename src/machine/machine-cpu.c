/*
 * The pc machine's vCPU (MachineOpts.bios): port I/O to the machine's
 * bus, INTR from the master PIC, INTA through the PIC pair; its sections
 * `cpu_common` and `cpu` in the device state (cpu/vcpu-state.c).
 */
#include "machine/machine-internal.h"

#define MACHINE_CPU_LOWMEM  0xa0000u  /* 640 KiB */
#define MACHINE_CPU_HIGHMEM 0x100000u /* 1 MiB */

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

static void machine_cpu_ram_written(void *opaque, uint64_t gpa, uint64_t len)
{
    Machine *m = opaque;

    ram_dirty_mark(m->ram, gpa, len);
}

/* The dirty log's switch turns the vCPU's write tracking on and off. */
static void machine_cpu_dirty_log(void *opaque, bool on)
{
    Machine *m = opaque;

    vcpu_track_writes(m->vcpu, on);
}

static void machine_cpu_intr(void *opaque, int n, int level)
{
    Machine *m = opaque;

    if (m->vcpu) {
        vcpu_set_intr(m->vcpu, level);
    }
}

/* Guest RAM as the pc machine shows it with no VGA and the PAM registers
   at reset: below 640 KiB, and from 1 MiB up; the BIOS ROM sits below
   1 MiB and at the top of 4 GiB (vcpu_load_bios). 640 KiB-1 MiB minus
   the ROM is a hole (an access stops the vCPU, see vcpu.h). */
static bool machine_cpu_map_ram(Machine *m, GError **errp)
{
    uint64_t size = ram_size(m->ram);
    uint8_t *host = ram_host(m->ram);

    if (!vcpu_map_ram(m->vcpu, 0, host, MIN(size, MACHINE_CPU_LOWMEM), errp)) {
        return false;
    }
    return size <= MACHINE_CPU_HIGHMEM ||
           vcpu_map_ram(m->vcpu, MACHINE_CPU_HIGHMEM,
                        host + MACHINE_CPU_HIGHMEM, size - MACHINE_CPU_HIGHMEM,
                        errp);
}

bool machine_cpu_init(Machine *m, const MachineOpts *opts, GError **errp)
{
    const VcpuIo io = {machine_cpu_pio_in, machine_cpu_pio_out,
                       machine_cpu_intr_ack, machine_cpu_ram_written, m};

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
    if (!vcpu_register(m->vcpu, m->reg, errp)) {
        return false;
    }
    if (!m->ram) {
        return true;
    }
    if (!machine_cpu_map_ram(m, errp)) {
        return false;
    }
    ram_dirty_log_set_notify(m->ram, machine_cpu_dirty_log, m);
    vcpu_track_writes(m->vcpu, ram_dirty_log_enabled(m->ram));
    return true;
}
