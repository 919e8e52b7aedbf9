/*
 * The daemon's machine: machine/'s Machine built from the command line
 * (dm/options.h), with a chardev backend (dm/chardev.h) as each UART's
 * byte sink and input source. The machine itself lives in src/machine/,
 * shared with `lockstep check`; dm code keeps the dm_ names for it.
 */
#ifndef LS_DM_MACHINE_H
#define LS_DM_MACHINE_H

#include "dm/options.h"
#include "machine/machine.h"

#define DM_ISA_IRQS MACHINE_ISA_IRQS

typedef Machine DmMachine;

/*
 * Opens the -serial backends (with no -serial and no -nodefaults, COM1 on
 * a null backend, as QEMU) and builds the machine on them. Errors are
 * prefixed "machine: ".
 */
DmMachine *dm_machine_new(const DmOptions *opts, GError **errp);
/* Frees the machine, then the backends it transmitted into. */
void dm_machine_free(DmMachine *m);

static inline void dm_machine_reset(DmMachine *m)
{
    machine_reset(m);
}

static inline void dm_machine_set_running(DmMachine *m, bool running)
{
    machine_set_running(m, running);
}

static inline bool dm_machine_save(DmMachine *m, const char *runstate,
                                   GByteArray *out, GError **errp)
{
    return machine_save(m, runstate, out, errp);
}

static inline bool dm_machine_load(DmMachine *m, const uint8_t *buf, size_t len,
                                   GError **errp)
{
    return machine_load(m, buf, len, errp);
}

#endif
