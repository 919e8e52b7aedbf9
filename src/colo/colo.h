/*
 * The COLO coordinator's two sides, as `lockstep colo primary|secondary`
 * runs them (docs/colo.md is the user's guide). Each runs a GLib main
 * loop until it is done or signalled and returns the process exit status.
 */
#ifndef LS_COLO_COLO_H
#define LS_COLO_COLO_H

#include <stdbool.h>
#include <stdint.h>

#define COLO_DEFAULT_INTERVAL_MS     100
#define COLO_DEFAULT_HEARTBEAT_MS    100
#define COLO_DEFAULT_HB_TIMEOUT_MS   1000
#define COLO_DEFAULT_QMP_TIMEOUT_MS  2000
#define COLO_DEFAULT_PEER_TIMEOUT_MS 3000

/* Exit statuses. */
#define COLO_EXIT_OK      0
#define COLO_EXIT_FAILED  1 /* ran, then lost its dm or failed over badly */
#define COLO_EXIT_STARTUP 2 /* bad options, or could not start */

typedef struct ColoOptions {
    const char *qmp;        /* the dm's QMP address */
    const char *peer;       /* primary: the secondary's HOST:PORT */
    const char *listen;     /* secondary: HOST:PORT to listen on */
    const char *dm_serial;  /* unix:PATH the dm's COM1 serves on */
    const char *serial_out; /* the real sink: FILE | unix:PATH | tcp:H:P */
    const char *control;    /* unix:PATH of the control socket */
    const char *stats;      /* FILE or "-" */
    const char *metrics;    /* tcp:HOST:PORT */
    unsigned interval_ms;   /* 0: checkpoints on request only */
    uint64_t checkpoints;   /* 0: no limit */
    unsigned heartbeat_ms;
    unsigned hb_timeout_ms;
    unsigned qmp_timeout_ms;
    bool exit_on_failover; /* secondary */
    /* The link: TLS as these loaded credentials say, or, when NULL, plain
       TCP (lockstep colo allows that only with --insecure). Borrowed. */
    const struct ColoTlsCreds *tls;
    const char *x_fault; /* tests: PHASE@N */
    int x_fault_pid;     /* tests: kill this pid at the fault, not us */
} ColoOptions;

void colo_options_defaults(ColoOptions *o);

int colo_primary_run(const ColoOptions *o);
int colo_secondary_run(const ColoOptions *o);

#endif
