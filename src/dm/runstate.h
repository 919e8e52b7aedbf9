/*
 * Run states as QEMU 7.2 reports them for the commands we implement:
 * prelaunch (-S), running, paused, shutdown. Transitions emit QEMU's
 * events through a callback (STOP, RESUME, RESET, SHUTDOWN) exactly where
 * QEMU does: `stop` in prelaunch or paused and `cont` while running change
 * nothing and emit nothing. The clock follows the state (the machine runs
 * only in `running`). Knows no sockets; the daemon forwards events to QMP.
 */
#ifndef LS_DM_RUNSTATE_H
#define LS_DM_RUNSTATE_H

#include <jansson.h>
#include <stdbool.h>

#include "dm/machine.h"

typedef enum DmRunState {
    DM_RUN_PRELAUNCH,
    DM_RUN_RUNNING,
    DM_RUN_PAUSED,
    DM_RUN_SHUTDOWN,
} DmRunState;

/* Receives an event name and its data (stolen; NULL: no "data"). */
typedef void (*DmEventFn)(void *opaque, const char *event, json_t *data);

typedef struct DmRunstate {
    DmRunState state;
    DmMachine *machine; /* borrowed; may be NULL in unit tests */
    DmEventFn emit;
    void *opaque;
} DmRunstate;

void dm_runstate_init(DmRunstate *rs, DmMachine *m, bool start_paused,
                      DmEventFn emit, void *opaque);
/* QEMU's RunState name: "prelaunch", "running", "paused", "shutdown". */
const char *dm_runstate_name(DmRunState s);
bool dm_runstate_is_running(const DmRunstate *rs);
/* running -> paused with STOP; otherwise nothing. */
void dm_runstate_stop(DmRunstate *rs);
/* prelaunch/paused -> running with RESUME; otherwise nothing. */
void dm_runstate_cont(DmRunstate *rs);
/* RESET {"guest": G, "reason": R}, then every device to power-on values;
   the run state is kept (as QEMU: reset of a paused VM stays paused). */
void dm_runstate_reset(DmRunstate *rs, bool guest, const char *reason);
/* SHUTDOWN {"guest": G, "reason": R}; state becomes shutdown, clock stops. */
void dm_runstate_shutdown(DmRunstate *rs, bool guest, const char *reason);

#endif
