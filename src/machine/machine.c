/*
 * The generic machine (see machine.h): clock, bus, ISA lines, registry,
 * and the two sections QEMU registers around the devices, `timer` (first,
 * section id 0) and `globalstate` (last). Device assembly is machine-pc.c.
 *
 * Section ids follow QEMU 7.2 where we can: `timer` is 0 in every QEMU
 * machine; with -machine none QEMU's `globalstate` is 5 (ids 1-3 go to
 * handlers that save nothing, 4 to slirp, which we do not have); with
 * -machine pc, machine_pc_init leaves the counter at globalstate's id.
 *
 * Unlike QEMU, `globalstate` carries the true run state at save time
 * (QEMU's xen-save-devices-state always writes "running").
 */
#include "machine/machine.h"
#include "machine/machine-internal.h"

#include <string.h>

#include "base/error.h"

#define MACHINE_NONE_SKIPPED_IDS 4

/* QEMU's RunState names (qapi/run-state.json): what a stream may carry. */
static const char *const machine_qemu_runstates[] = {
    "debug",      "inmigrate",   "internal-error", "io-error",
    "paused",     "postmigrate", "prelaunch",      "finish-migrate",
    "restore-vm", "running",     "save-vm",        "shutdown",
    "suspended",  "watchdog",    "guest-panicked", "colo",
    NULL,
};

/* As QEMU's global_state_post_load: a terminated, known run-state name. */
static bool machine_globalstate_post_load(void *opaque, int version_id,
                                          GError **errp)
{
    MachineGlobalState *s = opaque;
    const char *name = (const char *)s->runstate;

    if (!memchr(s->runstate, 0, sizeof(s->runstate))) {
        ls_error_set(errp, "field 'runstate': invalid runstate, no end of "
                           "string");
        return false;
    }
    if (!g_strv_contains(machine_qemu_runstates, name)) {
        ls_error_set(errp, "field 'runstate': invalid runstate '%.32s'", name);
        return false;
    }
    return true;
}

static const VmsField machine_globalstate_fields[] = {
    VMS_UINT32(MachineGlobalState, size),
    VMS_BUFFER(MachineGlobalState, runstate),
    VMS_END_OF_LIST,
};

static const VmsDesc machine_globalstate_vmsd = {
    .name = "globalstate",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = machine_globalstate_fields,
    .post_load = machine_globalstate_post_load,
};

static void machine_isa_irq(void *opaque, int n, int level)
{
    Machine *m = opaque;

    m->isa_level[n] = level;
    if (m->irq_observer) {
        m->irq_observer(m->irq_observer_opaque, n, level);
    }
    if (m->kind == MACHINE_PC) {
        machine_pc_set_isa_irq(m, n, level);
    }
}

static void machine_globalstate_set(MachineGlobalState *gs,
                                    const char *runstate)
{
    size_t len = strnlen(runstate, MACHINE_GLOBALSTATE_LEN - 1);

    memset(gs->runstate, 0, sizeof(gs->runstate));
    memcpy(gs->runstate, runstate, len);
    gs->size = (uint32_t)len + 1;
}

static bool machine_register(Machine *m, const MachineOpts *opts, GError **errp)
{
    if (!vms_register(m->reg, "timer", 0, -1, &hw_clock_vmsd,
                      hw_clock_state(m->clock), sizeof(HwClockState), errp)) {
        return false;
    }
    if (m->kind == MACHINE_PC) {
        if (!machine_pc_init(m, opts, errp)) {
            return false;
        }
    } else {
        vms_registry_skip_section_ids(m->reg, MACHINE_NONE_SKIPPED_IDS);
    }
    return vms_register(m->reg, "globalstate", 0, -1, &machine_globalstate_vmsd,
                        &m->globalstate, sizeof(m->globalstate), errp);
}

Machine *machine_new(const MachineOpts *opts, GError **errp)
{
    Machine *m = g_new0(Machine, 1);

    m->kind = opts->kind;
    m->clock = hw_clock_new(opts->stepped_clock);
    hw_bus_init(&m->bus);
    m->reg = vms_registry_new();
    m->save_opts = opts->save;
    m->load_opts = opts->load;
    machine_globalstate_set(&m->globalstate, "prelaunch");
    for (int n = 0; n < MACHINE_ISA_IRQS; n++) {
        hw_irq_init(&m->isa_irq[n], machine_isa_irq, m, n);
    }
    if ((opts->ram_size && !(m->ram = ram_new(opts->ram_size, errp))) ||
        !machine_register(m, opts, errp)) {
        g_prefix_error(errp, "machine: ");
        machine_free(m);
        return NULL;
    }
    return m;
}

void machine_free(Machine *m)
{
    if (!m) {
        return;
    }
    vcpu_free(m->vcpu);
    if (m->kind == MACHINE_PC) {
        machine_pc_free(m);
    }
    vms_registry_free(m->reg);
    hw_clock_free(m->clock);
    ram_free(m->ram);
    g_free(m);
}

void machine_reset(Machine *m)
{
    if (m->kind == MACHINE_PC) {
        machine_pc_reset(m);
    }
    if (m->vcpu) {
        vcpu_reset(m->vcpu);
    }
}

void machine_set_running(Machine *m, bool running)
{
    if (running) {
        hw_clock_start(m->clock);
    } else {
        hw_clock_stop(m->clock);
    }
}

bool machine_save(Machine *m, const char *runstate, GByteArray *out,
                  GError **errp)
{
    machine_globalstate_set(&m->globalstate, runstate);
    return vms_save_all(m->reg, &m->save_opts, out, errp);
}

bool machine_load(Machine *m, const uint8_t *buf, size_t len, GError **errp)
{
    return vms_load_all(m->reg, buf, len, &m->load_opts, errp);
}

bool machine_load_checkpoint(Machine *m, const uint8_t *dev, size_t dev_len,
                             const uint8_t *ram, size_t ram_len, GError **errp)
{
    RamStaging *st;

    if (!m->ram) {
        ls_error_set(errp, "this machine has no RAM (-m)");
        return false;
    }
    st = ram_decode(m->ram, ram, ram_len, errp);
    if (!st) {
        return false;
    }
    if (!vms_load_all(m->reg, dev, dev_len, &m->load_opts, errp)) {
        ram_staging_free(st);
        return false;
    }
    ram_commit(m->ram, st);
    return true;
}

SerialDevice *machine_serial(Machine *m, int i)
{
    return m->pc ? machine_pc_serial(m, i) : NULL;
}

const MachineSerialSink *machine_serial_sink(Machine *m, int i)
{
    return m->pc ? machine_pc_serial_sink(m, i) : NULL;
}
