/*
 * What the primary and the secondary sides share: the main loop and its
 * signals, the dm's QMP view, the dm's COM1 socket, the output buffer,
 * the stats, the control socket (QMP-style: `query-colo-status`, and the
 * side's own commands) with its events, the metrics listener, and the
 * TCP helpers. Internal to src/colo.
 */
#ifndef LS_COLO_SIDE_H
#define LS_COLO_SIDE_H

#include <glib.h>
#include <jansson.h>

#include "colo/colo.h"
#include "colo/dm.h"
#include "colo/outbuf.h"
#include "colo/stats.h"
#include "qmp/qmp.h"

typedef struct ColoSide ColoSide;

/* What asked for a checkpoint (primary). A later trigger (output
   comparison) adds itself here and calls the same entry point. */
typedef enum ColoTrigger {
    COLO_TRIGGER_PERIODIC, /* --interval */
    COLO_TRIGGER_REQUEST,  /* the control socket's `checkpoint` */
    COLO_TRIGGER_OUTPUT,   /* held output crossed its high-water mark */
    COLO_TRIGGER_COUNT,
} ColoTrigger;

struct ColoSide {
    const ColoOptions *opts;
    const char *role;  /* "primary" | "secondary" */
    const char *state; /* for query-colo-status and logs */
    GMainLoop *loop;
    ColoDm *dm;
    int serial_fd; /* -1 without --dm-serial */
    GSource *serial_src;
    void (*on_serial)(ColoSide *s); /* COM1 readable (or hung up) */
    void (*on_signal)(ColoSide *s); /* SIGTERM/SIGINT */
    ColoOutbuf *ob;
    ColoStats *stats;
    QmpCommands *cmds;
    QmpServer *ctl;
    ColoMetricsServer *metrics;
    guint sig_ids[2];
    int exit_status;
    uint64_t last_epoch; /* last complete checkpoint, 0: none */
    uint64_t triggered[COLO_TRIGGER_COUNT]; /* checkpoints started, by cause */
};

/* Connects the dm (QMP and COM1), opens stats, control and metrics.
   `cmds` gets the side's own commands after this (s->cmds). */
bool colo_side_init(ColoSide *s, const ColoOptions *o, const char *role,
                    GError **errp);
void colo_side_cleanup(ColoSide *s);

/* Refuses a dm whose guest RAM exceeds COLO_PROTO_MAX_RAM_SIZE. */
bool colo_side_check_ram(ColoSide *s, GError **errp);

/* Runs the loop until colo_side_quit; returns the exit status. */
int colo_side_run(ColoSide *s);
void colo_side_quit(ColoSide *s, int status);

/* Emits `name` (data stolen, may be NULL) on the control socket and logs
   it as one line on stderr. */
void colo_side_event(ColoSide *s, const char *name, json_t *data);

/* An output buffer for this side whose FULL/ROOM pressure stops and
   restarts watching COM1; `sink` is taken (NULL: nothing released). */
ColoOutbuf *colo_side_outbuf_new(ColoSide *s, ColoSink *sink);

/* Starts or stops watching COM1 (stop: the output buffer is full). */
void colo_side_watch_serial(ColoSide *s, bool on);

/* Reads COM1 into the open epoch until it would block. False (with *eof)
   when the dm closed it, or on an error. */
bool colo_side_drain_serial(ColoSide *s, bool *eof, GError **errp);

/* "HOST:PORT" ([V6]:PORT too): a connected / listening TCP socket. */
int colo_tcp_connect(const char *hostport, int timeout_ms, GError **errp);
int colo_tcp_listen(const char *hostport, GError **errp);

/* Microseconds since `t0` (monotonic). */
uint64_t colo_us_since(gint64 t0);

#endif
