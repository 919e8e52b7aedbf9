/*
 * COLO checkpoint statistics: records, aggregates, JSON lines, the end
 * summary and query-colo-status (see stats.h). The Prometheus text and
 * its HTTP listener are in stats-metrics.c.
 */
#include "colo/stats.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"

/* The distributions kept: the pause, one per phase, RAM pages and bytes
   per checkpoint. */
enum {
    COLO_STATS_DIST_PAUSE = 0,
    COLO_STATS_DIST_RAM_PAGES = 1 + COLO_PHASE_COUNT,
    COLO_STATS_DIST_RAM_BYTES,
    COLO_STATS_NDIST,
};

struct ColoStats {
    size_t window;                    /* ring size */
    size_t pos, filled;               /* next slot; values in the ring */
    uint64_t *ring[COLO_STATS_NDIST]; /* successful checkpoints only */
    uint64_t sum[COLO_STATS_NDIST];   /* whole run */
    uint64_t max[COLO_STATS_NDIST];   /* whole run */
    uint64_t checkpoints, ok_count, failures;
    uint64_t last_epoch, last_ok_epoch, last_pause_us;
    uint64_t last_ram_pages, last_ram_bytes, ram_full_count;
    uint64_t devstate_bytes, ram_pages, ram_bytes;
    uint64_t output_held, output_released, output_held_now;
    char *last_reason; /* of the last failure */
    FILE *out;         /* JSON lines; NULL: none */
    bool out_failed;
    /* Percentiles change only with a successful record: they are
       computed once per ok_count value (a client polling status in a
       loop, or pipelining thousands of queries, then costs one
       computation per checkpoint instead of one per query, and the
       coordinator's loop keeps its heartbeats going). */
    uint64_t *scratch; /* window-sized, on first use */
    uint64_t p50[COLO_STATS_NDIST], p99[COLO_STATS_NDIST];
    uint64_t pct_ok_count[COLO_STATS_NDIST]; /* ok_count + 1 when computed */
};

static const char *const colo_phase_names[COLO_PHASE_COUNT] = {
    "stop", "save", "transfer", "load", "resume",
};

const char *colo_phase_name(ColoPhase p)
{
    return (unsigned)p < COLO_PHASE_COUNT ? colo_phase_names[p] : "unknown";
}

ColoStats *colo_stats_new(size_t window)
{
    ColoStats *st = g_new0(ColoStats, 1);

    st->window =
        window ? MIN(window, COLO_STATS_MAX_WINDOW) : COLO_STATS_WINDOW;
    for (int d = 0; d < COLO_STATS_NDIST; d++) {
        st->ring[d] = g_new0(uint64_t, st->window);
    }
    return st;
}

void colo_stats_free(ColoStats *st)
{
    if (!st) {
        return;
    }
    for (int d = 0; d < COLO_STATS_NDIST; d++) {
        g_free(st->ring[d]);
    }
    g_free(st->scratch);
    if (st->out && st->out != stdout) {
        fclose(st->out);
    }
    g_free(st->last_reason);
    g_free(st);
}

bool colo_stats_set_output(ColoStats *st, const char *spec, GError **errp)
{
    FILE *f = stdout;

    if (strcmp(spec, "-") != 0) {
        f = fopen(spec, "ae");
        if (!f) {
            g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(errno),
                        "Cannot open stats file '%s': %s", spec,
                        g_strerror(errno));
            return false;
        }
    }
    if (st->out && st->out != stdout) {
        fclose(st->out);
    }
    st->out = f;
    st->out_failed = false;
    return true;
}

json_t *colo_stats_record_json(const ColoCheckpointRecord *rec)
{
    json_t *o = json_object();
    json_t *ph = json_object();

    json_object_set_new(o, "epoch", json_integer(rec->epoch));
    if (rec->wall_us) {
        json_object_set_new(o, "time_us", json_integer(rec->wall_us));
    }
    json_object_set_new(o, "ok", json_boolean(rec->ok));
    json_object_set_new(o, "pause_us", json_integer(rec->pause_us));
    for (int p = 0; p < COLO_PHASE_COUNT; p++) {
        json_object_set_new(ph, colo_phase_names[p],
                            json_integer(rec->phase_us[p]));
    }
    json_object_set_new(o, "phases_us", ph);
    json_object_set_new(o, "devstate_bytes", json_integer(rec->devstate_bytes));
    json_object_set_new(o, "ram_pages", json_integer(rec->ram_pages));
    json_object_set_new(o, "ram_bytes", json_integer(rec->ram_bytes));
    json_object_set_new(o, "ram_full", json_boolean(rec->ram_full));
    json_object_set_new(o, "output_held", json_integer(rec->output_held));
    json_object_set_new(o, "output_released",
                        json_integer(rec->output_released));
    if (!rec->ok) {
        json_object_set_new(o, "failed_phase",
                            json_string(colo_phase_name(rec->failed_phase)));
        json_object_set_new(o, "reason",
                            json_string(rec->reason ? rec->reason : ""));
    }
    return o;
}

static void colo_stats_print(ColoStats *st, const ColoCheckpointRecord *rec)
{
    json_t *o;
    char *line;

    if (!st->out || st->out_failed) {
        return;
    }
    o = colo_stats_record_json(rec);
    line = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(o);
    if (!line || fprintf(st->out, "%s\n", line) < 0 || fflush(st->out) != 0) {
        ls_warn("stats output failed (%s); no more stats lines",
                g_strerror(errno));
        st->out_failed = true;
    }
    free(line);
}

/* A reason is cut to COLO_STATS_REASON_MAX bytes on a UTF-8 boundary. */
static char *colo_stats_reason(const char *reason)
{
    const char *end;

    if (!reason) {
        return g_strdup("");
    }
    if (!g_utf8_validate(reason, -1, &end) ||
        strlen(reason) > COLO_STATS_REASON_MAX) {
        size_t n = MIN((size_t)(end - reason), COLO_STATS_REASON_MAX);
        while (n > 0 && (reason[n] & 0xc0) == 0x80) {
            n--;
        }
        return g_strndup(reason, n);
    }
    return g_strdup(reason);
}

static void colo_stats_observe(ColoStats *st, int d, uint64_t v)
{
    st->ring[d][st->pos] = v;
    st->sum[d] += v;
    st->max[d] = MAX(st->max[d], v);
}

void colo_stats_add(ColoStats *st, const ColoCheckpointRecord *rec)
{
    ColoCheckpointRecord copy = *rec;

    copy.reason = NULL;
    st->checkpoints++;
    st->last_epoch = rec->epoch;
    st->output_held += rec->output_held;
    st->output_released += rec->output_released;
    if (rec->ok) {
        colo_stats_observe(st, COLO_STATS_DIST_PAUSE, rec->pause_us);
        for (int p = 0; p < COLO_PHASE_COUNT; p++) {
            colo_stats_observe(st, p + 1, rec->phase_us[p]);
        }
        colo_stats_observe(st, COLO_STATS_DIST_RAM_PAGES, rec->ram_pages);
        colo_stats_observe(st, COLO_STATS_DIST_RAM_BYTES, rec->ram_bytes);
        st->pos = (st->pos + 1) % st->window;
        st->filled = MIN(st->filled + 1, st->window);
        st->ok_count++;
        st->last_ok_epoch = rec->epoch;
        st->last_pause_us = rec->pause_us;
        st->devstate_bytes += rec->devstate_bytes;
        st->ram_pages += rec->ram_pages;
        st->ram_bytes += rec->ram_bytes;
        st->last_ram_pages = rec->ram_pages;
        st->last_ram_bytes = rec->ram_bytes;
        st->ram_full_count += rec->ram_full;
    } else {
        st->failures++;
        g_free(st->last_reason);
        st->last_reason = colo_stats_reason(rec->reason);
        copy.reason = st->last_reason;
    }
    colo_stats_print(st, rec->ok ? rec : &copy);
}

void colo_stats_set_output_held_now(ColoStats *st, uint64_t bytes)
{
    st->output_held_now = bytes;
}

/* Nearest rank: the 0-based index of rank ceil(p/100 * n), n > 0. */
static size_t colo_stats_rank(size_t n, unsigned p)
{
    size_t rank = ((uint64_t)p * n + 99) / 100;

    return MAX(rank, 1) - 1;
}

static uint64_t colo_stats_median3(uint64_t a, uint64_t b, uint64_t c)
{
    return MAX(MIN(a, b), MIN(MAX(a, b), c));
}

/* Quickselect (Hoare partition, median-of-three pivot): reorders v[0..n)
   so that v[k] is the value of index k in ascending order and every
   v[i < k] <= v[k]; returns v[k]. Expected O(n), no allocation. */
static uint64_t colo_stats_select(uint64_t *v, size_t n, size_t k)
{
    gssize lo = 0, hi = (gssize)n - 1, want = (gssize)k;

    while (lo < hi) {
        uint64_t pivot =
            colo_stats_median3(v[lo], v[lo + (hi - lo) / 2], v[hi]);
        gssize i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot) {
                i++;
            }
            while (v[j] > pivot) {
                j--;
            }
            if (i <= j) {
                uint64_t t = v[i];
                v[i++] = v[j];
                v[j--] = t;
            }
        }
        /* v[lo..j] <= pivot, v[j+1..i-1] == pivot, v[i..hi] >= pivot */
        if (want <= j) {
            hi = j;
        } else if (want >= i) {
            lo = i;
        } else {
            break;
        }
    }
    return v[k];
}

/* p50 and p99 of distribution d, computed when a successful record came
   in since the last time. */
static void colo_stats_percentiles(ColoStats *st, int d)
{
    size_t n = st->filled, k50, k99;

    if (st->pct_ok_count[d] == st->ok_count + 1) {
        return;
    }
    st->pct_ok_count[d] = st->ok_count + 1;
    st->p50[d] = st->p99[d] = 0;
    if (n == 0) {
        return;
    }
    if (!st->scratch) {
        st->scratch = g_new(uint64_t, st->window);
    }
    memcpy(st->scratch, st->ring[d], n * sizeof(uint64_t));
    k50 = colo_stats_rank(n, 50);
    k99 = colo_stats_rank(n, 99);
    st->p99[d] = colo_stats_select(st->scratch, n, k99);
    /* Everything before index k99 is <= p99: select p50 among those. */
    st->p50[d] =
        k50 < k99 ? colo_stats_select(st->scratch, k99, k50) : st->p99[d];
}

static void colo_stats_dist(ColoStats *st, int d, ColoStatsDist *out)
{
    colo_stats_percentiles(st, d);
    out->count = st->filled;
    out->p50 = st->p50[d];
    out->p99 = st->p99[d];
    out->max = st->max[d];
    out->sum = st->sum[d];
}

void colo_stats_summary(ColoStats *st, ColoStatsSummary *sum)
{
    memset(sum, 0, sizeof(*sum));
    sum->checkpoints = st->checkpoints;
    sum->failures = st->failures;
    sum->ok_checkpoints = st->ok_count;
    sum->last_epoch = st->last_epoch;
    sum->last_ok_epoch = st->last_ok_epoch;
    sum->last_pause_us = st->last_pause_us;
    colo_stats_dist(st, COLO_STATS_DIST_PAUSE, &sum->pause);
    for (int p = 0; p < COLO_PHASE_COUNT; p++) {
        colo_stats_dist(st, p + 1, &sum->phase[p]);
    }
    sum->devstate_bytes = st->devstate_bytes;
    sum->ram_pages = st->ram_pages;
    sum->ram_bytes = st->ram_bytes;
    colo_stats_dist(st, COLO_STATS_DIST_RAM_PAGES, &sum->ram_pages_per);
    colo_stats_dist(st, COLO_STATS_DIST_RAM_BYTES, &sum->ram_bytes_per);
    sum->ram_full = st->ram_full_count;
    sum->last_ram_pages = st->last_ram_pages;
    sum->last_ram_bytes = st->last_ram_bytes;
    sum->output_held = st->output_held;
    sum->output_released = st->output_released;
    sum->output_held_now = st->output_held_now;
}

static json_t *colo_stats_dist_json(const ColoStatsDist *d)
{
    return json_pack("{sIsIsIsIsI}", "window", (json_int_t)d->count, "p50",
                     (json_int_t)d->p50, "p99", (json_int_t)d->p99, "max",
                     (json_int_t)d->max, "sum", (json_int_t)d->sum);
}

json_t *colo_stats_summary_json(ColoStats *st)
{
    ColoStatsSummary s;
    json_t *o, *ph = json_object();

    colo_stats_summary(st, &s);
    for (int p = 0; p < COLO_PHASE_COUNT; p++) {
        json_object_set_new(ph, colo_phase_names[p],
                            colo_stats_dist_json(&s.phase[p]));
    }
    o = json_pack("{sIsIsIsIsoso}", "checkpoints", (json_int_t)s.checkpoints,
                  "failures", (json_int_t)s.failures, "last_epoch",
                  (json_int_t)s.last_epoch, "last_ok_epoch",
                  (json_int_t)s.last_ok_epoch, "pause_us",
                  colo_stats_dist_json(&s.pause), "phases_us", ph);
    json_object_set_new(o, "devstate_bytes", json_integer(s.devstate_bytes));
    json_object_set_new(o, "ram_pages", json_integer(s.ram_pages));
    json_object_set_new(o, "ram_bytes", json_integer(s.ram_bytes));
    json_object_set_new(o, "ram_full", json_integer(s.ram_full));
    json_object_set_new(o, "ram_pages_per_checkpoint",
                        colo_stats_dist_json(&s.ram_pages_per));
    json_object_set_new(o, "ram_bytes_per_checkpoint",
                        colo_stats_dist_json(&s.ram_bytes_per));
    json_object_set_new(o, "output_held", json_integer(s.output_held));
    json_object_set_new(o, "output_released", json_integer(s.output_released));
    return o;
}

static void colo_stats_table_row(GString *t, const char *name,
                                 const ColoStatsDist *d)
{
    g_string_append_printf(t,
                           "  %-9s %10" G_GUINT64_FORMAT " %10" G_GUINT64_FORMAT
                           " %10" G_GUINT64_FORMAT " %10" G_GUINT64_FORMAT "\n",
                           name, d->count, d->p50, d->p99, d->max);
}

char *colo_stats_summary_table(ColoStats *st)
{
    ColoStatsSummary s;
    GString *t = g_string_new(NULL);

    colo_stats_summary(st, &s);
    g_string_append_printf(t,
                           "checkpoints %" G_GUINT64_FORMAT
                           ", failed %" G_GUINT64_FORMAT
                           ", last epoch %" G_GUINT64_FORMAT "\n",
                           s.checkpoints, s.failures, s.last_epoch);
    g_string_append_printf(t, "  %-9s %10s %10s %10s %10s\n", "us", "count",
                           "p50", "p99", "max");
    colo_stats_table_row(t, "pause", &s.pause);
    for (int p = 0; p < COLO_PHASE_COUNT; p++) {
        colo_stats_table_row(t, colo_phase_names[p], &s.phase[p]);
    }
    g_string_append_printf(
        t,
        "device state %" G_GUINT64_FORMAT " bytes, "
        "RAM %" G_GUINT64_FORMAT " pages / %" G_GUINT64_FORMAT
        " bytes (%" G_GUINT64_FORMAT " full)\n",
        s.devstate_bytes, s.ram_pages, s.ram_bytes, s.ram_full);
    if (s.ram_pages_per.max) {
        colo_stats_table_row(t, "ram pages", &s.ram_pages_per);
        colo_stats_table_row(t, "ram bytes", &s.ram_bytes_per);
    }
    g_string_append_printf(t,
                           "output held %" G_GUINT64_FORMAT
                           " bytes, released %" G_GUINT64_FORMAT " bytes\n",
                           s.output_held, s.output_released);
    return g_string_free(t, FALSE);
}

static void colo_stats_status_ram(json_t *o, const ColoStatsSummary *s)
{
    json_t *r =
        json_pack("{sIsIsIsIsIsIsI}", "ram-pages", (json_int_t)s->ram_pages,
                  "ram-bytes", (json_int_t)s->ram_bytes, "ram-full-checkpoints",
                  (json_int_t)s->ram_full, "last-ram-pages",
                  (json_int_t)s->last_ram_pages, "last-ram-bytes",
                  (json_int_t)s->last_ram_bytes, "ram-pages-p50",
                  (json_int_t)s->ram_pages_per.p50, "ram-pages-p99",
                  (json_int_t)s->ram_pages_per.p99);

    json_object_update(o, r);
    json_decref(r);
}

json_t *colo_stats_status_json(ColoStats *st, const ColoStatusInfo *info)
{
    ColoStatsSummary s;
    json_t *o;

    colo_stats_summary(st, &s);
    o = json_pack(
        "{sssssIsIsIsIsIsIsIsIsI}", "role", info->role ? info->role : "",
        "state", info->state ? info->state : "", "interval-ms",
        (json_int_t)info->interval_ms, "checkpoints", (json_int_t)s.checkpoints,
        "failures", (json_int_t)s.failures, "last-checkpoint",
        (json_int_t)s.last_ok_epoch, "last-pause-us",
        (json_int_t)s.last_pause_us, "pause-p50-us", (json_int_t)s.pause.p50,
        "pause-p99-us", (json_int_t)s.pause.p99, "output-held-bytes",
        (json_int_t)s.output_held_now, "output-released-bytes",
        (json_int_t)s.output_released);
    colo_stats_status_ram(o, &s);
    if (info->peer) {
        json_object_set_new(o, "peer", json_string(info->peer));
    }
    if (st->last_reason) {
        json_object_set_new(o, "last-error", json_string(st->last_reason));
    }
    return o;
}
