/*
 * The secondary side's state, shared by secondary.c (sessions and
 * checkpoints) and failover.c (taking over). Internal to src/colo.
 */
#ifndef LS_COLO_SECONDARY_H
#define LS_COLO_SECONDARY_H

#include "colo/colo.h"
#include "colo/conn.h"
#include "colo/side.h"

typedef enum ColoSecState {
    COLO_SEC_LISTENING, /* no primary */
    COLO_SEC_PAIRED,    /* between checkpoints */
    COLO_SEC_STOPPED,   /* begin(N) seen, dm stopped, waiting for data */
    COLO_SEC_LOADED,    /* data(N) loaded and acked, waiting for resume */
    COLO_SEC_ACTIVE,    /* failed over: this dm is the one */
} ColoSecState;

typedef struct ColoSecondary {
    ColoSide side; /* first: callbacks cast ColoSide * back */
    int listen_fd;
    GSource *listen_src;
    ColoConn *conn;
    ColoSecState st;
    uint64_t epoch; /* last begun in this session */
    GBytes *good;   /* last complete checkpoint's device state */
    bool dm_stopped;
    bool ram; /* this session carries RAM: the dm stays paused */
    gint64 t_begin;
    ColoCheckpointRecord rec;
} ColoSecondary;

void colo_sec_set_state(ColoSecondary *s, ColoSecState st);
void colo_sec_stop_listening(ColoSecondary *s);

/*
 * The primary is lost and s->good holds the last complete checkpoint:
 * stop the dm, load that checkpoint's device state again, drop the dm's
 * pending COM1 output, take over the sink, resume. With RAM (s->ram) the
 * dm has not run since it loaded that checkpoint, so its RAM is the
 * checkpoint's (docs/colo.md, "RAM"). Ends in COLO_SEC_ACTIVE (or quits
 * with COLO_EXIT_FAILED when the dm cannot be brought back).
 */
void colo_sec_failover(ColoSecondary *s, const char *why);

#endif
