/*
 * COLO observability: one record per checkpoint (phases, pause, bytes,
 * output, result), aggregates over them, and the ways out: a JSON line per
 * checkpoint (--stats FILE|-), an end summary (JSON and a table), the
 * query-colo-status object, the Prometheus text exposition format, and a
 * tiny HTTP/1.0 listener serving it (--metrics tcp:HOST:PORT). Metric and
 * field names are listed in docs/colo-metrics.md.
 *
 * Aggregation: count, failures and max are over the whole run. p50/p99
 * are exact nearest-rank percentiles over the last `window` successful
 * checkpoints (a ring; default COLO_STATS_WINDOW): the value at rank
 * ceil(p/100 * n) of the n values sorted ascending. Failed checkpoints are
 * counted (and printed) but their partial phases do not enter the
 * percentiles, sums or max.
 *
 * Not thread-safe; use from one thread.
 */
#ifndef LS_COLO_STATS_H
#define LS_COLO_STATS_H

#include <glib.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* Default ring size for percentiles (last N successful checkpoints). */
#define COLO_STATS_WINDOW 100000
/* Cap on a ring size asked for explicitly. */
#define COLO_STATS_MAX_WINDOW 10000000
/* A failure reason is cut to this many bytes. */
#define COLO_STATS_REASON_MAX 256

/* Metrics listener caps. */
#define COLO_METRICS_MAX_REQUEST     8192 /* bytes of request head */
#define COLO_METRICS_MAX_CLIENTS     16   /* connections at once */
#define COLO_METRICS_TIMEOUT_MS      5000 /* whole exchange, per client */
#define COLO_METRICS_ACCEPT_PAUSE_MS 1000 /* out of fds: stop accepting */

typedef enum ColoPhase {
    COLO_PHASE_STOP,
    COLO_PHASE_SAVE,
    COLO_PHASE_TRANSFER,
    COLO_PHASE_LOAD,
    COLO_PHASE_RESUME,
    COLO_PHASE_COUNT,
} ColoPhase;

/* "stop", "save", "transfer", "load", "resume". */
const char *colo_phase_name(ColoPhase p);

typedef struct ColoCheckpointRecord {
    uint64_t epoch;
    int64_t wall_us; /* start, g_get_real_time(); 0: not printed */
    uint64_t phase_us[COLO_PHASE_COUNT];
    uint64_t pause_us;        /* guest stopped, stop request to resumed */
    uint64_t devstate_bytes;  /* device-state stream size */
    uint64_t ram_pages;       /* RAM page records sent (0 without RAM) */
    uint64_t ram_bytes;       /* RAM stream size (0 without RAM) */
    bool ram_full;            /* the RAM stream holds all of RAM */
    uint64_t output_held;     /* bytes of this epoch held at its close */
    uint64_t output_released; /* bytes released on this confirmation */
    bool ok;
    ColoPhase failed_phase; /* when !ok */
    const char *reason;     /* when !ok; copied by colo_stats_add */
} ColoCheckpointRecord;

typedef struct ColoStats ColoStats;

/* `window` 0: COLO_STATS_WINDOW; larger than COLO_STATS_MAX_WINDOW is cut
   to it. */
ColoStats *colo_stats_new(size_t window);
void colo_stats_free(ColoStats *st);

/*
 * Sends one JSON line per added record to `spec`: "-" for stdout, else a
 * file appended to (created 0644). Flushed per line. False + *errp if the
 * file cannot be opened. A later write failure is reported once (warning)
 * and the lines are then dropped; the stats themselves go on.
 */
bool colo_stats_set_output(ColoStats *st, const char *spec, GError **errp);

/* Adds a record (copied) and writes its JSON line if an output is set. */
void colo_stats_add(ColoStats *st, const ColoCheckpointRecord *rec);

/* Gauge of bytes held right now (the coordinator sets it as it goes). */
void colo_stats_set_output_held_now(ColoStats *st, uint64_t bytes);

/* The JSON object of one record (new reference); the line format. */
json_t *colo_stats_record_json(const ColoCheckpointRecord *rec);

typedef struct ColoStatsDist {
    uint64_t count;         /* values in the window */
    uint64_t p50, p99, max; /* max over the whole run; 0 when empty */
    uint64_t sum;           /* whole run */
} ColoStatsDist;

typedef struct ColoStatsSummary {
    uint64_t checkpoints; /* added records */
    uint64_t failures;
    uint64_t ok_checkpoints;
    uint64_t last_epoch;    /* of the last record; 0 if none */
    uint64_t last_ok_epoch; /* 0 if none */
    uint64_t last_pause_us; /* of the last successful one */
    ColoStatsDist pause;
    ColoStatsDist phase[COLO_PHASE_COUNT];
    uint64_t devstate_bytes; /* sums over successful checkpoints */
    uint64_t ram_pages, ram_bytes;
    uint64_t ram_full;                       /* checkpoints with all of RAM */
    ColoStatsDist ram_pages_per;             /* RAM pages per checkpoint */
    ColoStatsDist ram_bytes_per;             /* RAM bytes per checkpoint */
    uint64_t last_ram_pages, last_ram_bytes; /* of the last successful one */
    uint64_t output_held, output_released;   /* sums over all records */
    uint64_t output_held_now;
} ColoStatsSummary;

/* Computes the aggregates. The percentiles are selected from a copy of
   the window (expected O(n)) once per successful record added, and kept
   until the next one. */
void colo_stats_summary(ColoStats *st, ColoStatsSummary *sum);

/* The end summary as a JSON object / as a human-readable table (both
   new). */
json_t *colo_stats_summary_json(ColoStats *st);
char *colo_stats_summary_table(ColoStats *st);

/* What only the coordinator knows, for query-colo-status. */
typedef struct ColoStatusInfo {
    const char *role;  /* "primary" | "secondary" */
    const char *state; /* e.g. "protected", "alone", "waiting", "failover" */
    const char *peer;  /* may be NULL */
    uint64_t interval_ms;
} ColoStatusInfo;

/* The return value of query-colo-status (new reference). */
json_t *colo_stats_status_json(ColoStats *st, const ColoStatusInfo *info);

/* The Prometheus text exposition format (version 0.0.4), newly allocated. */
char *colo_stats_prometheus(ColoStats *st);

/* ------------------------------------------------------ metrics listener */

typedef struct ColoMetricsServer ColoMetricsServer;

/* Produces the body for GET /metrics (newly allocated text). */
typedef char *(*ColoMetricsRenderFn)(void *opaque);

/*
 * Listens on `spec` ("tcp:HOST:PORT"; port 0 picks one) from `ctx` (NULL:
 * default context). Answers "GET /metrics" (HTTP/1.0 or 1.1) with 200 and
 * render()'s text, other paths with 404, other methods with 405, a
 * malformed request with 400, a request head over COLO_METRICS_MAX_REQUEST
 * with 431; always closes after answering. A client that has not finished
 * within COLO_METRICS_TIMEOUT_MS is dropped; beyond
 * COLO_METRICS_MAX_CLIENTS connections new ones are closed at once; when
 * accept fails for want of fds or memory, accepting pauses for
 * COLO_METRICS_ACCEPT_PAUSE_MS. Never blocks. NULL + *errp if it cannot
 * listen.
 */
ColoMetricsServer *colo_metrics_server_new(const char *spec, GMainContext *ctx,
                                           ColoMetricsRenderFn render,
                                           void *opaque, GError **errp);
void colo_metrics_server_free(ColoMetricsServer *srv);

/* Changes the per-client time limit (default COLO_METRICS_TIMEOUT_MS) for
   clients accepted from now on. */
void colo_metrics_server_set_timeout(ColoMetricsServer *srv, unsigned ms);

/* The bound TCP port (useful after port 0). */
int colo_metrics_server_port(const ColoMetricsServer *srv);

/* Render function for a ColoStats (pass the stats as opaque). */
char *colo_stats_render_metrics(void *stats);

#endif
