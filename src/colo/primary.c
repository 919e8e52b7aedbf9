/*
 * lockstep colo primary: drives checkpoints of its dm into the secondary
 * side, and holds the dm's console output until the checkpoint that
 * covers it is confirmed (docs/colo.md).
 *
 * One checkpoint, epoch N: begin(N) to the secondary, `stop` here (the
 * secondary stops its dm meanwhile), COM1 drained to EAGAIN and epoch N
 * closed, save into the memfd (and, when the dm has guest RAM, its RAM
 * into a second memfd: all of it on the first checkpoint of a pairing and
 * after any failed one, the dirty pages otherwise), data(N) with the
 * state, the RAM and epoch N's output; the loop then runs until ack(N) (or the
 * session's end); resume(N) to the secondary, `cont` here, epoch N released to
 * the sink. Every path out of a checkpoint leaves the dm running: a lost
 * secondary makes this side carry on alone (output released, no more
 * checkpoints); a lost dm tells the secondary to fail over, and this side
 * exits.
 */
#include "colo/colo.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "base/log.h"
#include "colo/conn.h"
#include "colo/side.h"

typedef enum ColoPriState {
    COLO_PRI_CONNECTING, /* waiting for the secondary's hello */
    COLO_PRI_IDLE,       /* protected, between checkpoints */
    COLO_PRI_BUSY,       /* checkpoint: stopping, saving, sending */
    COLO_PRI_WAIT_ACK,   /* checkpoint data sent */
    COLO_PRI_ALONE,      /* the secondary is gone: unprotected */
    COLO_PRI_DONE,
} ColoPriState;

typedef struct ColoPrimary {
    ColoSide side;
    ColoConn *conn;
    ColoPriState st;
    uint64_t epoch;    /* the checkpoint under way, or the last one */
    uint64_t done;     /* confirmed checkpoints */
    uint64_t out_base; /* sink position at start: offsets continue it */
    bool dm_stopped;
    bool ram_full_next; /* the next RAM save must be full */
    GSource *tick;
    guint pressure_idle; /* a checkpoint asked for by the output trigger */
    ColoCheckpointRecord rec;
    gint64 t_begin, t_sent;
    char *fault_phase; /* tests: --x-fault PHASE@N */
    uint64_t fault_epoch;
} ColoPrimary;

static void colo_pri_alone(ColoPrimary *p, const char *why);

/* ---- test fault hook ---- */

static void colo_pri_fault(ColoPrimary *p, const char *phase)
{
    const ColoOptions *o = p->side.opts;

    if (!p->fault_phase || strcmp(p->fault_phase, phase) ||
        p->fault_epoch != p->epoch) {
        return;
    }
    fprintf(stderr,
            "lockstep colo primary: x-fault at %s of checkpoint %" PRIu64 "\n",
            phase, p->epoch);
    g_clear_pointer(&p->fault_phase, g_free); /* once */
    if (o->x_fault_pid > 0) {
        kill(o->x_fault_pid, SIGKILL);
        g_usleep(50 * 1000); /* let the kernel close its sockets */
        return;
    }
    raise(SIGKILL);
}

static bool colo_pri_parse_fault(ColoPrimary *p, const char *spec,
                                 GError **errp)
{
    static const char *const phases[] = {"stop", "save", "transfer", "load",
                                         "resume"};
    const char *at = spec ? strchr(spec, '@') : NULL;

    if (!spec) {
        return true;
    }
    p->fault_phase = at ? g_strndup(spec, (gsize)(at - spec)) : NULL;
    for (size_t i = 0; p->fault_phase && i < G_N_ELEMENTS(phases); i++) {
        if (!strcmp(p->fault_phase, phases[i])) {
            p->fault_epoch = g_ascii_strtoull(at + 1, NULL, 10);
            if (p->fault_epoch > 0) {
                return true;
            }
            break;
        }
    }
    ls_error_set(errp,
                 "--x-fault wants PHASE@N (stop|save|transfer|load|"
                 "resume, N >= 1), got '%s'",
                 spec);
    return false;
}

/* ---- failures ---- */

/* The dm is gone (or unusable): the secondary must take over. Held
   output is not released: the secondary continues from its checkpoint. */
static void colo_pri_dm_lost(ColoPrimary *p, const char *why)
{
    colo_side_event(&p->side, "COLO_DM_LOST", json_pack("{ss}", "reason", why));
    p->side.state = "dm-lost";
    if (p->conn && !colo_conn_closed(p->conn)) {
        colo_conn_close(p->conn, false, COLO_CODE_DM_LOST, why);
    }
    p->st = COLO_PRI_DONE;
    colo_side_quit(&p->side, COLO_EXIT_FAILED);
}

/* A dm command failed: lost dm, or an error reply (the dm is alive; the
   checkpoint is abandoned and the session ended without failover). */
static void colo_pri_dm_failed(ColoPrimary *p, GError *err)
{
    g_autofree char *why = g_strdup(err->message);

    if (!colo_dm_usable(p->side.dm)) {
        colo_pri_dm_lost(p, why);
        return;
    }
    if (p->conn && !colo_conn_closed(p->conn)) {
        colo_conn_close(p->conn, false, COLO_CODE_DM, why);
    }
    colo_pri_alone(p, why);
}

static void colo_pri_record_failure(ColoPrimary *p, ColoPhase phase,
                                    const char *why)
{
    p->rec.ok = false;
    p->rec.failed_phase = phase;
    p->rec.reason = why;
    p->rec.pause_us = colo_us_since(p->t_begin);
    colo_stats_add(p->side.stats, &p->rec);
}

/* Unprotected, the dirty log only slows the guest down. Best effort: a
   dm that cannot do it now is noticed at its next command. */
static void colo_pri_dirty_log_off(ColoPrimary *p)
{
    g_autoptr(GError) err = NULL;

    if (colo_dm_ram_size(p->side.dm) &&
        !colo_dm_set_dirty_log(p->side.dm, false, &err)) {
        ls_error_report("cannot stop the dirty log: %s", err->message);
    }
}

/* The secondary is gone (or the session failed): resume the dm if a
   checkpoint had stopped it, release everything held, go on alone. */
static void colo_pri_alone(ColoPrimary *p, const char *why)
{
    g_autoptr(GError) err = NULL;

    if (p->st == COLO_PRI_ALONE || p->st == COLO_PRI_DONE) {
        return;
    }
    if (p->st == COLO_PRI_WAIT_ACK || p->dm_stopped) {
        colo_pri_record_failure(p,
                                p->st == COLO_PRI_WAIT_ACK ? COLO_PHASE_TRANSFER
                                                           : COLO_PHASE_SAVE,
                                why);
    }
    p->st = COLO_PRI_ALONE;
    p->side.state = "alone";
    if (p->tick) {
        g_source_destroy(p->tick);
        g_clear_pointer(&p->tick, g_source_unref);
    }
    if (p->dm_stopped && !colo_dm_cont(p->side.dm, &err)) {
        colo_pri_dm_lost(p, err->message);
        return;
    }
    p->dm_stopped = false;
    colo_pri_dirty_log_off(p);
    colo_outbuf_release_all(p->side.ob);
    colo_side_event(&p->side, "COLO_SECONDARY_LOST",
                    json_pack("{ss, sI}", "reason", why, "last-epoch",
                              (json_int_t)p->side.last_epoch));
}

/* ---- one checkpoint ---- */

/* Stop, drain COM1, close the epoch. */
static bool colo_pri_stop(ColoPrimary *p, GError **errp)
{
    GBytes *begin = colo_proto_u64(COLO_MSG_BEGIN, p->epoch);
    bool eof;

    colo_conn_send(p->conn, begin);
    g_bytes_unref(begin);
    if (!colo_dm_stop(p->side.dm, errp)) {
        return false;
    }
    p->dm_stopped = true;
    if (!colo_side_drain_serial(&p->side, &eof, errp) ||
        !colo_outbuf_close_epoch(p->side.ob, p->epoch, NULL, errp)) {
        return false;
    }
    p->rec.phase_us[COLO_PHASE_STOP] = colo_us_since(p->t_begin);
    return true;
}

/* The RAM half of the checkpoint (none when the dm has no RAM): all of
   it when ram_full_next, else the dirty pages. A checkpoint that does not
   reach its ack leaves ram_full_next set, since the dirty save cleared
   the dm's log. */
static bool colo_pri_save_ram(ColoPrimary *p, GBytes **ram, GError **errp)
{
    bool dirty = !p->ram_full_next;

    *ram = NULL;
    if (!colo_dm_ram_size(p->side.dm)) {
        return true;
    }
    p->ram_full_next = true;
    *ram = colo_dm_save_ram(p->side.dm, dirty, COLO_PROTO_MAX_RAM,
                            &p->rec.ram_pages, errp);
    if (!*ram) {
        return false;
    }
    p->rec.ram_full = !dirty;
    p->rec.ram_bytes = g_bytes_get_size(*ram);
    return true;
}

/* Devices, then RAM, into one data(N) frame. */
static GBytes *colo_pri_build_data(ColoPrimary *p, GError **errp)
{
    gint64 t = g_get_monotonic_time();
    g_autoptr(GBytes) state = NULL, ram = NULL;
    ColoDataParts d = {.epoch = p->epoch};
    uint64_t start = 0;

    state = colo_dm_save(p->side.dm, COLO_PROTO_MAX_STATE, errp);
    if (!state || !colo_pri_save_ram(p, &ram, errp)) {
        return NULL;
    }
    p->rec.phase_us[COLO_PHASE_SAVE] = colo_us_since(t);
    colo_pri_fault(p, "save");
    d.out = colo_outbuf_epoch_bytes(p->side.ob, p->epoch, &d.out_len, &start);
    d.out_offset = p->out_base + start;
    d.state = g_bytes_get_data(state, &d.state_len);
    if (ram) {
        d.ram = g_bytes_get_data(ram, &d.ram_len);
    }
    p->rec.devstate_bytes = d.state_len;
    p->rec.output_held = d.out_len;
    return colo_proto_data(&d, errp);
}

/* Save and send data(N). */
static bool colo_pri_save_send(ColoPrimary *p, GError **errp)
{
    g_autoptr(GBytes) frame = colo_pri_build_data(p, errp);

    if (!frame) {
        return false;
    }
    p->t_sent = g_get_monotonic_time();
    if (p->fault_phase && !strcmp(p->fault_phase, "transfer") &&
        p->fault_epoch == p->epoch && p->side.opts->x_fault_pid <= 0) {
        colo_conn_send_prefix(p->conn, frame, g_bytes_get_size(frame) / 2);
        colo_conn_flush(p->conn, 1000);
    }
    colo_pri_fault(p, "transfer");
    colo_conn_send(p->conn, frame);
    p->st = COLO_PRI_WAIT_ACK;
    if (p->fault_phase && !strcmp(p->fault_phase, "load")) {
        colo_conn_flush(p->conn, 1000);
    }
    colo_pri_fault(p, "load");
    return true;
}

/* Starts checkpoint epoch+1 for `why`; the ack finishes it. Every
   trigger comes through here. */
static bool colo_pri_checkpoint(ColoPrimary *p, ColoTrigger why, GError **errp)
{
    g_autoptr(GError) err = NULL;

    if (p->st != COLO_PRI_IDLE) {
        ls_error_set(errp, "no checkpoint now: %s",
                     p->st == COLO_PRI_WAIT_ACK ? "one is in progress"
                                                : p->side.state);
        return false;
    }
    p->st = COLO_PRI_BUSY;
    p->side.triggered[why]++;
    p->epoch++;
    memset(&p->rec, 0, sizeof(p->rec));
    p->rec.epoch = p->epoch;
    p->rec.wall_us = g_get_real_time();
    p->t_begin = g_get_monotonic_time();
    if (!colo_pri_stop(p, &err)) {
        colo_pri_dm_failed(p, err);
        return true;
    }
    colo_pri_fault(p, "stop");
    if (!colo_pri_save_send(p, &err)) {
        colo_pri_dm_failed(p, err);
    }
    return true;
}

static void colo_pri_finish(ColoPrimary *p)
{
    colo_outbuf_release_all(p->side.ob);
    colo_conn_close(p->conn, true, COLO_CODE_OK, "done");
    p->st = COLO_PRI_DONE;
    p->side.state = "done";
    colo_side_quit(&p->side, COLO_EXIT_OK);
}

/* ack(N): resume both, release epoch N. */
static void colo_pri_on_ack(ColoPrimary *p, const ColoMsg *m)
{
    g_autoptr(GError) err = NULL;
    ColoOutbufStats before, after;
    GBytes *resume;
    gint64 t;

    p->rec.phase_us[COLO_PHASE_LOAD] = m->value;
    t = (gint64)colo_us_since(p->t_sent);
    p->rec.phase_us[COLO_PHASE_TRANSFER] =
        t > (gint64)m->value ? (uint64_t)t - m->value : 0;
    resume = colo_proto_u64(COLO_MSG_RESUME, p->epoch);
    colo_conn_send(p->conn, resume);
    g_bytes_unref(resume);
    colo_pri_fault(p, "resume");
    t = g_get_monotonic_time();
    if (!colo_dm_cont(p->side.dm, &err)) {
        colo_pri_dm_failed(p, err);
        return;
    }
    p->dm_stopped = false;
    p->rec.phase_us[COLO_PHASE_RESUME] = colo_us_since(t);
    p->rec.pause_us = colo_us_since(p->t_begin);
    colo_outbuf_get_stats(p->side.ob, &before);
    colo_outbuf_release(p->side.ob, p->epoch, NULL);
    colo_outbuf_get_stats(p->side.ob, &after);
    p->rec.output_released = after.released - before.released;
    p->rec.ok = true;
    p->ram_full_next = false;
    colo_stats_add(p->side.stats, &p->rec);
    colo_dm_drop_events(p->side.dm);
    p->side.last_epoch = p->epoch;
    p->st = COLO_PRI_IDLE;
    if (++p->done == p->side.opts->checkpoints) {
        colo_pri_finish(p);
    }
}

/* ---- connection callbacks ---- */

static void colo_pri_on_msg(ColoConn *c, ColoMsg *m, void *opaque)
{
    ColoPrimary *p = opaque;
    g_autofree char *why = NULL;

    if (m->type == COLO_MSG_ACK && p->st == COLO_PRI_WAIT_ACK &&
        m->epoch == p->epoch) {
        colo_pri_on_ack(p, m);
        return;
    }
    why = g_strdup_printf("unexpected %s (epoch %" PRIu64 ") from the "
                          "secondary",
                          colo_msg_type_name(m->type), m->epoch);
    colo_conn_reject(c, why);
    colo_pri_alone(p, why);
}

static gboolean colo_pri_tick_cb(gpointer opaque)
{
    ColoPrimary *p = opaque;

    if (p->st == COLO_PRI_IDLE) {
        colo_pri_checkpoint(p, COLO_TRIGGER_PERIODIC, NULL);
    }
    return G_SOURCE_CONTINUE;
}

/* A new pairing: the dirty log starts now, and the first checkpoint
   carries all of RAM. */
static bool colo_pri_start_ram(ColoPrimary *p, GError **errp)
{
    p->ram_full_next = true;
    if (!colo_dm_ram_size(p->side.dm)) {
        return true;
    }
    return colo_dm_set_dirty_log(p->side.dm, true, errp);
}

static void colo_pri_on_ready(ColoConn *c, void *opaque)
{
    ColoPrimary *p = opaque;
    g_autoptr(GError) err = NULL;
    unsigned ms = p->side.opts->interval_ms;

    p->st = COLO_PRI_IDLE;
    p->side.state = "protected";
    colo_side_event(&p->side, "COLO_PAIRED",
                    json_pack("{ss, sI}", "peer", colo_conn_peer(c), "ram-size",
                              (json_int_t)colo_dm_ram_size(p->side.dm)));
    if (!colo_pri_start_ram(p, &err)) {
        colo_pri_dm_failed(p, err);
        return;
    }
    if (ms) {
        p->tick = g_timeout_source_new(ms);
        g_source_set_callback(p->tick, colo_pri_tick_cb, p, NULL);
        g_source_attach(p->tick, NULL);
    }
}

static void colo_pri_on_closed(ColoConn *c, ColoEnd end, uint32_t code,
                               const char *why, void *opaque)
{
    ColoPrimary *p = opaque;
    g_autofree char *text = g_strdup(why ? why : "session ended");

    colo_conn_free(c);
    p->conn = NULL;
    if (p->st == COLO_PRI_CONNECTING) {
        ls_error_report("the secondary at %s refused the session: %s",
                        p->side.opts->peer, text);
        p->st = COLO_PRI_DONE;
        colo_side_quit(&p->side, COLO_EXIT_STARTUP);
        return;
    }
    colo_pri_alone(p, text);
}

static const ColoConnOps colo_pri_conn_ops = {
    .on_ready = colo_pri_on_ready,
    .on_msg = colo_pri_on_msg,
    .on_closed = colo_pri_on_closed,
};

/* ---- COM1, control, signals ---- */

static void colo_pri_on_serial(ColoSide *s)
{
    ColoPrimary *p = (ColoPrimary *)s;
    g_autoptr(GError) err = NULL;
    bool eof;

    if (!colo_side_drain_serial(s, &eof, &err)) {
        colo_pri_dm_lost(p, err->message);
    }
}

/* The output trigger: held output crossed the high-water mark. */
static gboolean colo_pri_pressure_idle(gpointer opaque)
{
    ColoPrimary *p = opaque;

    p->pressure_idle = 0;
    if (p->st == COLO_PRI_IDLE) {
        colo_pri_checkpoint(p, COLO_TRIGGER_OUTPUT, NULL);
    }
    return G_SOURCE_REMOVE;
}

static void colo_pri_pressure(ColoOutbuf *ob, ColoOutbufPressure pr,
                              void *opaque)
{
    ColoPrimary *p = opaque;

    if (pr == COLO_OUTBUF_HIGH_WATER && !p->pressure_idle) {
        p->pressure_idle = g_idle_add(colo_pri_pressure_idle, p);
    } else if (pr == COLO_OUTBUF_FULL) {
        colo_side_watch_serial(&p->side, false);
    } else if (pr == COLO_OUTBUF_ROOM) {
        colo_side_watch_serial(&p->side, true);
    }
}

static json_t *colo_pri_cmd_checkpoint(json_t *args, QmpSession *ss,
                                       void *opaque, GError **errp)
{
    ColoPrimary *p = opaque;

    if (!colo_pri_checkpoint(p, COLO_TRIGGER_REQUEST, errp)) {
        return NULL;
    }
    return json_pack("{sI}", "epoch", (json_int_t)p->epoch);
}

static void colo_pri_on_signal(ColoSide *s)
{
    ColoPrimary *p = (ColoPrimary *)s;
    g_autoptr(GError) err = NULL;

    if (p->dm_stopped && !colo_dm_cont(s->dm, &err)) {
        ls_error_report("cannot resume the dm: %s", err->message);
    }
    p->dm_stopped = false;
    colo_outbuf_release_all(s->ob);
    if (p->conn) {
        colo_conn_close(p->conn, true, COLO_CODE_OK, "primary side stopped");
    }
    p->st = COLO_PRI_DONE;
    colo_side_quit(s, COLO_EXIT_OK);
}

static bool colo_pri_open_output(ColoPrimary *p, GError **errp)
{
    ColoOutbufConfig cfg = {.pressure = colo_pri_pressure, .opaque = p};
    ColoSink *sink = NULL;

    if (p->side.opts->serial_out) {
        sink = colo_sink_open(p->side.opts->serial_out, 0, errp);
        if (!sink) {
            return false;
        }
        if (!colo_sink_position(sink, &p->out_base, NULL)) {
            p->out_base = 0;
        }
        colo_sink_attach(sink, NULL);
    }
    p->side.ob = colo_outbuf_new(sink, &cfg);
    p->side.on_serial = colo_pri_on_serial;
    colo_side_watch_serial(&p->side, true);
    return true;
}

static bool colo_pri_start(ColoPrimary *p, const ColoOptions *o, GError **errp)
{
    int fd;

    if (!colo_pri_parse_fault(p, o->x_fault, errp) ||
        !colo_side_init(&p->side, o, "primary", errp) ||
        !colo_pri_open_output(p, errp)) {
        return false;
    }
    if (!colo_side_check_ram(&p->side, errp)) {
        return false;
    }
    qmp_commands_add(p->side.cmds, "checkpoint", colo_pri_cmd_checkpoint, NULL,
                     0, p);
    p->side.on_signal = colo_pri_on_signal;
    fd = colo_tcp_connect(o->peer, COLO_DEFAULT_PEER_TIMEOUT_MS, errp);
    if (fd < 0) {
        return false;
    }
    p->side.state = "connecting";
    p->conn =
        colo_conn_new(fd, o->tls, COLO_ROLE_PRIMARY, COLO_ROLE_SECONDARY,
                      o->heartbeat_ms, o->hb_timeout_ms, &colo_pri_conn_ops, p);
    return true;
}

static void colo_pri_summary(ColoPrimary *p)
{
    g_autofree char *table = colo_stats_summary_table(p->side.stats);
    json_t *sum = colo_stats_summary_json(p->side.stats);
    g_autofree char *line = qmp_json_dumps(sum);

    fprintf(stderr, "%s", table);
    if (p->side.opts->stats && !strcmp(p->side.opts->stats, "-")) {
        printf("{\"summary\": %s}\n", line);
        fflush(stdout);
    }
    json_decref(sum);
}

int colo_primary_run(const ColoOptions *o)
{
    g_autoptr(GError) err = NULL;
    ColoPrimary p = {.st = COLO_PRI_CONNECTING};
    int rc;

    if (!colo_pri_start(&p, o, &err)) {
        ls_error_report("colo primary: %s", err->message);
        rc = COLO_EXIT_STARTUP;
    } else {
        rc = colo_side_run(&p.side);
        colo_pri_summary(&p);
    }
    if (p.conn) {
        colo_conn_flush(p.conn, 200);
        colo_conn_free(p.conn);
    }
    if (p.tick) {
        g_source_destroy(p.tick);
        g_source_unref(p.tick);
    }
    if (p.pressure_idle) {
        g_source_remove(p.pressure_idle);
    }
    colo_side_cleanup(&p.side);
    g_free(p.fault_phase);
    return rc;
}
