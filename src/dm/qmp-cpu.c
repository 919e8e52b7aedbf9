/*
 * The vCPU as QMP shows it: query-cpus-fast's list (preconfig.c
 * registers the command), QEMU 7.2's answer for a pc machine with one
 * x86_64 vCPU: cpu-index, qom-path, thread-id, props (socket, core,
 * thread: no NUMA node, one die), target, with its keys in the order
 * QEMU 7.2 prints them (its QDict's hash order, recorded from Debian's
 * qemu-system-x86_64 -machine pc -accel tcg -S).
 * thread-id is the host thread that runs the vCPU; here the daemon's only
 * thread, so the process id (QEMU: its vCPU thread's id).
 */
#include <unistd.h>

#include "dm/daemon.h"

#define DM_CPU_QOM_PATH "/machine/unattached/device[0]"
#define DM_CPU_TARGET   "x86_64"

json_t *dm_qmp_cpus_fast(DmDaemon *d)
{
    json_t *list = json_array();

    if (d->machine && d->machine->vcpu) {
        json_array_append_new(
            list,
            json_pack("{s:I, s:{s:i, s:i, s:i}, s:s, s:i, s:s}", "thread-id",
                      (json_int_t)getpid(), "props", "core-id", 0, "thread-id",
                      0, "socket-id", 0, "qom-path", DM_CPU_QOM_PATH,
                      "cpu-index", 0, "target", DM_CPU_TARGET));
    }
    return list;
}
