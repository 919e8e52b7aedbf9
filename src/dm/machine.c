/*
 * The daemon's machine (see dm/machine.h): options to MachineOpts, one
 * chardev backend per UART.
 */
#include "dm/machine.h"

#include "base/error.h"
#include "dm/chardev.h"

static void dm_machine_opts(const DmOptions *opts, MachineOpts *mo)
{
    mo->kind = opts->machine == DM_MACHINE_PC ? MACHINE_PC : MACHINE_NONE;
    mo->stepped_clock = opts->accel_qtest;
    mo->save.footers = opts->section_footers;
    mo->load.unknown = opts->unknown_sections;
    mo->rtc_base = opts->rtc_base;
    mo->rtc_clock = opts->rtc_clock;
    mo->boot_order = opts->boot_order;
    mo->boot_once = opts->boot_once;
    mo->no_fd_bootchk = opts->no_fd_bootchk;
    mo->ram_size = opts->ram_size;
}

static void dm_machine_free_backends(MachineOpts *mo)
{
    for (int i = 0; i < mo->nserial; i++) {
        dm_chardev_free(mo->serial[i].opaque);
    }
}

/* One backend per -serial; with none and no -nodefaults, COM1 (null). */
static bool dm_machine_backends(const DmOptions *opts, MachineOpts *mo,
                                GError **errp)
{
    int n = opts->nserial;

    if (opts->machine != DM_MACHINE_PC) {
        return true;
    }
    if (n == 0 && !opts->nodefaults) {
        n = 1;
    }
    for (int i = 0; i < n && i < MACHINE_MAX_SERIAL; i++) {
        const char *spec = i < opts->nserial ? opts->serial[i] : "null";
        g_autofree char *label = g_strdup_printf("serial%d", i);
        DmCharBackend *be = dm_chardev_new(spec, label, errp);

        if (!be) {
            return false;
        }
        mo->serial[i].ops = dm_chardev_ops(be);
        mo->serial[i].opaque = be;
        mo->nserial = i + 1;
    }
    return true;
}

DmMachine *dm_machine_new(const DmOptions *opts, GError **errp)
{
    MachineOpts mo = {0};
    Machine *m;

    dm_machine_opts(opts, &mo);
    if (!dm_machine_backends(opts, &mo, errp)) {
        g_prefix_error(errp, "machine: ");
        dm_machine_free_backends(&mo);
        return NULL;
    }
    m = machine_new(&mo, errp);
    if (!m) {
        dm_machine_free_backends(&mo);
        return NULL;
    }
    for (int i = 0; i < mo.nserial; i++) {
        dm_chardev_connect_serial(mo.serial[i].opaque, machine_serial(m, i));
    }
    return m;
}

void dm_machine_free(DmMachine *m)
{
    DmCharBackend *be[MACHINE_MAX_SERIAL];
    const MachineSerialSink *sink;
    int n = 0;

    if (!m) {
        return;
    }
    /* A UART goes before its backend: the backend may hold a watch that
       calls into it. */
    while (n < MACHINE_MAX_SERIAL && (sink = machine_serial_sink(m, n))) {
        be[n++] = sink->opaque;
    }
    machine_free(m);
    for (int i = 0; i < n; i++) {
        dm_chardev_free(be[i]);
    }
}
