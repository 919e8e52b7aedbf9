/*
 * Run-state machine (see runstate.h). The transitions and their events
 * were checked against qemu-system-x86_64 7.2 (-machine none and pc).
 */
#include "dm/runstate.h"

static void dm_runstate_emit(DmRunstate *rs, const char *event, json_t *data)
{
    if (rs->emit) {
        rs->emit(rs->opaque, event, data);
    } else if (data) {
        json_decref(data);
    }
}

static json_t *dm_runstate_reason(bool guest, const char *reason)
{
    return json_pack("{s:b, s:s}", "guest", guest, "reason", reason);
}

static void dm_runstate_set_clock(DmRunstate *rs)
{
    if (rs->machine) {
        dm_machine_set_running(rs->machine, rs->state == DM_RUN_RUNNING);
    }
}

void dm_runstate_init(DmRunstate *rs, DmMachine *m, bool start_paused,
                      DmEventFn emit, void *opaque)
{
    rs->state = start_paused ? DM_RUN_PRELAUNCH : DM_RUN_RUNNING;
    rs->machine = m;
    rs->emit = emit;
    rs->opaque = opaque;
    dm_runstate_set_clock(rs);
}

const char *dm_runstate_name(DmRunState s)
{
    switch (s) {
    case DM_RUN_PRELAUNCH:
        return "prelaunch";
    case DM_RUN_RUNNING:
        return "running";
    case DM_RUN_PAUSED:
        return "paused";
    case DM_RUN_SHUTDOWN:
        return "shutdown";
    }
    return "unknown";
}

bool dm_runstate_is_running(const DmRunstate *rs)
{
    return rs->state == DM_RUN_RUNNING;
}

void dm_runstate_stop(DmRunstate *rs)
{
    if (rs->state != DM_RUN_RUNNING) {
        return;
    }
    rs->state = DM_RUN_PAUSED;
    dm_runstate_set_clock(rs);
    dm_runstate_emit(rs, "STOP", NULL);
}

void dm_runstate_cont(DmRunstate *rs)
{
    if (rs->state != DM_RUN_PRELAUNCH && rs->state != DM_RUN_PAUSED) {
        return;
    }
    rs->state = DM_RUN_RUNNING;
    dm_runstate_set_clock(rs);
    dm_runstate_emit(rs, "RESUME", NULL);
}

void dm_runstate_reset(DmRunstate *rs, bool guest, const char *reason)
{
    dm_runstate_emit(rs, "RESET", dm_runstate_reason(guest, reason));
    if (rs->machine) {
        dm_machine_reset(rs->machine);
    }
}

void dm_runstate_shutdown(DmRunstate *rs, bool guest, const char *reason)
{
    dm_runstate_emit(rs, "SHUTDOWN", dm_runstate_reason(guest, reason));
    rs->state = DM_RUN_SHUTDOWN;
    dm_runstate_set_clock(rs);
}
