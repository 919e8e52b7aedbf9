/*
 * --preconfig as QEMU 7.2 has it: until x-exit-preconfig, the run state
 * is prelaunch and only the commands QEMU marks 'allow-preconfig' run
 * (the others get QEMU's "permitted only after machine initialization"
 * error, from the dispatcher); x-exit-preconfig then starts the VM
 * (RESUME) unless -S was given, and fails once preconfig is over. Also
 * query-cpus-fast, which QEMU refuses in preconfig (qmp-cpu.c answers:
 * an empty list when there is no vCPU).
 */
#include "dm/daemon.h"

#include "base/error.h"

static json_t *qmp_cmd_x_exit_preconfig(json_t *args, QmpSession *s,
                                        void *opaque, GError **errp)
{
    DmDaemon *d = opaque;

    if (!qmp_commands_in_preconfig(d->cmds)) {
        ls_error_set(errp, "The command is permitted only before machine "
                           "initialization");
        return NULL;
    }
    qmp_commands_set_preconfig(d->cmds, false);
    if (!d->opts->start_paused) {
        dm_runstate_cont(&d->rs);
    }
    return json_object();
}

static json_t *qmp_cmd_query_cpus_fast(json_t *args, QmpSession *s,
                                       void *opaque, GError **errp)
{
    return dm_qmp_cpus_fast(opaque);
}

/* QEMU 7.2's 'allow-preconfig' commands among ours (its qapi/ schema), besides
   qmp_capabilities and query-commands (the QMP library's) and the QOM
   commands (qom.c). */
static const char *const dm_preconfig_allowed[] = {
    "query-status", "query-version", "query-name", "quit", "x-exit-preconfig",
};

/* Call after every command is registered. */
void dm_preconfig_register(DmDaemon *d)
{
    qmp_commands_add(d->cmds, "x-exit-preconfig", qmp_cmd_x_exit_preconfig,
                     NULL, 0, d);
    qmp_commands_add(d->cmds, "query-cpus-fast", qmp_cmd_query_cpus_fast, NULL,
                     0, d);
    for (size_t i = 0; i < G_N_ELEMENTS(dm_preconfig_allowed); i++) {
        qmp_commands_allow_preconfig(d->cmds, dm_preconfig_allowed[i]);
    }
    qmp_commands_set_preconfig(d->cmds, d->opts->preconfig);
}
