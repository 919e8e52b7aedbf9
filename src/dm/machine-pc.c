/*
 * PC device assembly. Stub until the devices land: registers nothing, so a
 * pc machine has only the `timer` and `globalstate` sections.
 */
#include "dm/machine.h"

bool dm_machine_pc_init(DmMachine *m, const DmOptions *opts, GError **errp)
{
    m->pc = NULL;
    return true;
}

void dm_machine_pc_reset(DmMachine *m)
{
}

void dm_machine_pc_free(DmMachine *m)
{
}

void dm_machine_pc_set_isa_irq(DmMachine *m, int n, int level)
{
}
