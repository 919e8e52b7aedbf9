/*
 * lockstep colo secondary: keeps its dm at the primary's last checkpoint
 * and takes over when the primary is lost (docs/colo.md).
 *
 * Listens for one primary at a time (a second gets error "busy"). Per
 * checkpoint: begin(N) stops the dm; data(N) is held whole and checked
 * (the reader only hands out complete, CRC-checked frames), loaded, and
 * kept in memory with epoch N's output as the last complete checkpoint;
 * ack(N) goes back; resume(N) resumes the dm. Its own dm's COM1 output is
 * read and dropped while a primary is alive.
 *
 * The session ends: by bye or an error the primary chose to send (other
 * than dm-lost), the dm is resumed if stopped and this side listens
 * again; by loss (EOF, I/O error, bad frame, message out of order,
 * silence, error dm-lost) after at least one complete checkpoint of that
 * session, failover (failover.c).
 */
#include "colo/secondary.h"

#include <errno.h>
#include <glib-unix.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/error.h"
#include "base/log.h"

static const char *const colo_sec_state_names[] = {
    [COLO_SEC_LISTENING] = "listening", [COLO_SEC_PAIRED] = "protecting",
    [COLO_SEC_STOPPED] = "protecting",  [COLO_SEC_LOADED] = "protecting",
    [COLO_SEC_ACTIVE] = "active",
};

void colo_sec_set_state(ColoSecondary *s, ColoSecState st)
{
    s->st = st;
    s->side.state = colo_sec_state_names[st];
}

/* Our dm failed a command: tell the primary; a lost dm ends this side (it
   is no use without one), a refusal ends the session only. */
static void colo_sec_dm_failed(ColoSecondary *s, int code, GError *err)
{
    bool lost = !colo_dm_usable(s->side.dm);

    colo_side_event(&s->side, lost ? "COLO_DM_LOST" : "COLO_DM_ERROR",
                    json_pack("{ss}", "reason", err->message));
    if (s->conn) {
        colo_conn_close(s->conn, false, lost ? COLO_CODE_DM_LOST : code,
                        err->message);
    }
    if (lost) {
        colo_side_quit(&s->side, COLO_EXIT_FAILED);
    }
}

static void colo_sec_reject(ColoSecondary *s, const ColoMsg *m)
{
    g_autofree char *why = g_strdup_printf(
        "unexpected %s (epoch %" PRIu64 ") after epoch %" PRIu64,
        colo_msg_type_name(m->type), m->epoch, s->epoch);

    colo_conn_reject(s->conn, why);
}

/* Reads the dm's COM1 and drops it (never released while a primary is
   alive). False when the dm is gone. */
static bool colo_sec_drop_output(ColoSecondary *s, GError **errp)
{
    bool eof;
    bool ok = colo_side_drain_serial(&s->side, &eof, errp);

    colo_outbuf_discard_open(s->side.ob);
    return ok;
}

static void colo_sec_on_begin(ColoSecondary *s, const ColoMsg *m)
{
    g_autoptr(GError) err = NULL;

    if (s->st != COLO_SEC_PAIRED || m->epoch != s->epoch + 1) {
        colo_sec_reject(s, m);
        return;
    }
    s->epoch = m->epoch;
    s->t_begin = g_get_monotonic_time();
    memset(&s->rec, 0, sizeof(s->rec));
    s->rec.epoch = m->epoch;
    s->rec.wall_us = g_get_real_time();
    if (!colo_dm_stop(s->side.dm, &err)) {
        colo_sec_dm_failed(s, COLO_CODE_DM, err);
        return;
    }
    s->dm_stopped = true;
    s->rec.phase_us[COLO_PHASE_STOP] = colo_us_since(s->t_begin);
    colo_sec_set_state(s, COLO_SEC_STOPPED);
    if (!colo_sec_drop_output(s, &err)) {
        colo_sec_dm_failed(s, COLO_CODE_DM, err);
    }
}

/* The checkpoint is in; keep it as the last complete one. Its output
   was checked by colo_sec_load before the load, so adopting it cannot
   fail: the dm and s->good never hold different checkpoints. */
static void colo_sec_keep(ColoSecondary *s, ColoMsg *m)
{
    GBytes *whole;

    colo_outbuf_adopt_epoch(s->side.ob, m->epoch, m->out_offset, m->out,
                            m->out_len, NULL);
    whole = g_bytes_new_take(m->payload, m->payload_len);
    m->payload = NULL;
    g_clear_pointer(&s->good, g_bytes_unref);
    s->good = g_bytes_new_from_bytes(
        whole, COLO_PROTO_DATA_FIXED + (gsize)m->out_len, m->state_len);
    g_bytes_unref(whole);
    s->side.last_epoch = m->epoch;
}

/* Loads data(N) into the dm: devices alone, or devices and RAM with one
   command (the dm applies both or neither). */
static bool colo_sec_load(ColoSecondary *s, const ColoMsg *m, int *code,
                          GError **errp)
{
    *code = COLO_CODE_PROTOCOL;
    if (!colo_outbuf_adopt_check(s->side.ob, m->epoch, m->out_offset, errp)) {
        return false;
    }
    if (s->epoch > 1 && !s->ram != !m->ram_len) {
        ls_error_set(errp, "checkpoint %" PRIu64 " %s", m->epoch,
                     m->ram_len ? "carries RAM, the earlier ones "
                                  "of this session did not"
                                : "lacks RAM, the earlier ones of "
                                  "this session carried it");
        return false;
    }
    *code = COLO_CODE_LOAD_FAILED;
    if (m->ram_len) {
        return colo_dm_load_checkpoint(s->side.dm, m->state, m->state_len,
                                       m->ram, m->ram_len, errp);
    }
    return colo_dm_load(s->side.dm, m->state, m->state_len, errp);
}

static void colo_sec_on_data(ColoSecondary *s, ColoMsg *m)
{
    g_autoptr(GError) err = NULL;
    gint64 t = g_get_monotonic_time();
    uint64_t load_us;
    GBytes *ack;
    int code;

    if (s->st != COLO_SEC_STOPPED || m->epoch != s->epoch) {
        colo_sec_reject(s, m);
        return;
    }
    if (!colo_sec_load(s, m, &code, &err)) {
        if (code == COLO_CODE_PROTOCOL) {
            colo_conn_reject(s->conn, err->message);
        } else {
            colo_sec_dm_failed(s, code, err);
        }
        return;
    }
    load_us = colo_us_since(t);
    s->ram = m->ram_len > 0;
    s->rec.phase_us[COLO_PHASE_LOAD] = load_us;
    s->rec.devstate_bytes = m->state_len;
    s->rec.ram_bytes = m->ram_len;
    s->rec.ram_full = m->ram_len && m->epoch == 1; /* colo-protocol.md */
    s->rec.output_held = m->out_len;
    colo_sec_keep(s, m);
    ack = colo_proto_ack(m->epoch, load_us);
    colo_conn_send(s->conn, ack);
    g_bytes_unref(ack);
    colo_sec_set_state(s, COLO_SEC_LOADED);
}

/* resume(N). With RAM the dm stays paused: a running secondary would
   write pages that the next checkpoint's dirty pages (the primary's) do
   not overwrite. */
static void colo_sec_on_resume(ColoSecondary *s, const ColoMsg *m)
{
    g_autoptr(GError) err = NULL;
    gint64 t = g_get_monotonic_time();

    if (s->st != COLO_SEC_LOADED || m->epoch != s->epoch) {
        colo_sec_reject(s, m);
        return;
    }
    if (!s->ram && !colo_dm_cont(s->side.dm, &err)) {
        colo_sec_dm_failed(s, COLO_CODE_DM, err);
        return;
    }
    s->dm_stopped = s->ram;
    s->rec.phase_us[COLO_PHASE_RESUME] = colo_us_since(t);
    s->rec.pause_us = colo_us_since(s->t_begin);
    s->rec.ok = true;
    colo_stats_add(s->side.stats, &s->rec);
    colo_dm_drop_events(s->side.dm);
    colo_sec_set_state(s, COLO_SEC_PAIRED);
}

static void colo_sec_on_msg(ColoConn *c, ColoMsg *m, void *opaque)
{
    ColoSecondary *s = opaque;

    switch (m->type) {
    case COLO_MSG_BEGIN:
        colo_sec_on_begin(s, m);
        break;
    case COLO_MSG_DATA:
        colo_sec_on_data(s, m);
        break;
    case COLO_MSG_RESUME:
        colo_sec_on_resume(s, m);
        break;
    default:
        colo_sec_reject(s, m);
        break;
    }
}

static void colo_sec_on_ready(ColoConn *c, void *opaque)
{
    ColoSecondary *s = opaque;

    colo_sec_set_state(s, COLO_SEC_PAIRED);
    colo_side_event(&s->side, "COLO_PAIRED",
                    json_pack("{ss}", "peer", colo_conn_peer(c)));
}

/* Session over without failover: resume the dm if a checkpoint had
   stopped it, and listen again. */
static void colo_sec_unpair(ColoSecondary *s)
{
    g_autoptr(GError) err = NULL;

    if (s->dm_stopped && !colo_dm_cont(s->side.dm, &err)) {
        ls_error_report("cannot resume the dm: %s", err->message);
        if (!colo_dm_usable(s->side.dm)) {
            colo_side_quit(&s->side, COLO_EXIT_FAILED);
        }
    }
    s->dm_stopped = false;
    colo_sec_set_state(s, COLO_SEC_LISTENING);
}

static void colo_sec_on_closed(ColoConn *c, ColoEnd end, uint32_t code,
                               const char *why, void *opaque)
{
    ColoSecondary *s = opaque;
    g_autofree char *text = g_strdup(why ? why : "session ended");
    bool lost = end == COLO_END_LOST ||
                (end == COLO_END_PEER_ERROR && code == COLO_CODE_DM_LOST);

    colo_conn_free(c);
    s->conn = NULL;
    if (s->st == COLO_SEC_ACTIVE) {
        return;
    }
    colo_side_event(&s->side, "COLO_PRIMARY_GONE",
                    json_pack("{ss, sb, sI}", "reason", text, "lost", lost,
                              "last-epoch", (json_int_t)s->side.last_epoch));
    if (lost && s->good) {
        colo_sec_failover(s, text);
    } else {
        colo_sec_unpair(s);
    }
}

static const ColoConnOps colo_sec_conn_ops = {
    .on_ready = colo_sec_on_ready,
    .on_msg = colo_sec_on_msg,
    .on_closed = colo_sec_on_closed,
};

/* ---- listening ---- */

/* A primary while paired: hello + error busy, close. (After a failover
   this side does not listen at all.) */
static void colo_sec_refuse(ColoSecondary *s, int fd, const char *why)
{
    const ColoOptions *o = s->side.opts;

    colo_conn_refuse(fd, o->tls, COLO_ROLE_SECONDARY, o->heartbeat_ms,
                     o->hb_timeout_ms, COLO_CODE_BUSY, why);
}

/* A new session starts from nothing: no checkpoint, a fresh output
   buffer (stream offsets are the new primary's). */
static void colo_sec_new_session(ColoSecondary *s, int fd)
{
    const ColoOptions *o = s->side.opts;

    g_clear_pointer(&s->good, g_bytes_unref);
    s->side.last_epoch = 0;
    s->epoch = 0;
    s->ram = false;
    colo_outbuf_free(s->side.ob);
    s->side.ob = colo_side_outbuf_new(&s->side, NULL);
    colo_side_watch_serial(&s->side, true); /* had it filled up */
    s->conn =
        colo_conn_new(fd, o->tls, COLO_ROLE_SECONDARY, COLO_ROLE_PRIMARY,
                      o->heartbeat_ms, o->hb_timeout_ms, &colo_sec_conn_ops, s);
    s->side.state = "handshake";
}

static gboolean colo_sec_accept_cb(gint lfd, GIOCondition c, gpointer opaque)
{
    ColoSecondary *s = opaque;
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

    if (fd < 0) {
        return G_SOURCE_CONTINUE;
    }
    if (s->conn) {
        colo_sec_refuse(s, fd, "paired with another primary");
    } else {
        colo_sec_new_session(s, fd);
    }
    return G_SOURCE_CONTINUE;
}

static void colo_sec_on_serial(ColoSide *side)
{
    ColoSecondary *s = (ColoSecondary *)side;
    g_autoptr(GError) err = NULL;
    bool ok;

    if (s->st == COLO_SEC_ACTIVE) {
        bool eof;
        ok = colo_side_drain_serial(side, &eof, &err);
    } else {
        ok = colo_sec_drop_output(s, &err);
    }
    if (!ok) {
        colo_sec_dm_failed(s, COLO_CODE_DM, err);
        if (colo_dm_usable(side->dm)) {
            colo_side_quit(side, COLO_EXIT_FAILED); /* COM1 gone */
        }
    }
}

/* SIGTERM/SIGINT. After a failover the dm is left paused, so that a new
   primary side started against it loses no console output. */
static void colo_sec_on_signal(ColoSide *side)
{
    ColoSecondary *s = (ColoSecondary *)side;
    g_autoptr(GError) err = NULL;

    if (s->st == COLO_SEC_ACTIVE) {
        bool eof;
        /* No sink when the failover could not take it over. */
        ColoSink *sink = colo_outbuf_sink(side->ob);
        if (!colo_dm_stop(side->dm, &err)) {
            ls_error_report("cannot pause the dm: %s", err->message);
        }
        colo_side_drain_serial(side, &eof, NULL);
        if (sink) {
            colo_sink_flush(sink, NULL);
        }
    } else if (s->conn) {
        colo_conn_close(s->conn, true, COLO_CODE_OK, "secondary side stopped");
        colo_sec_unpair(s);
    }
    colo_side_quit(side, COLO_EXIT_OK);
}

void colo_sec_stop_listening(ColoSecondary *s)
{
    if (s->listen_src) {
        g_source_destroy(s->listen_src);
        g_clear_pointer(&s->listen_src, g_source_unref);
    }
    if (s->listen_fd >= 0) {
        close(s->listen_fd);
        s->listen_fd = -1;
    }
}

/* x-colo-checkpoint-save {"filename": PATH}: writes the last complete
   checkpoint's device state as held in memory (demo, tests: compare the
   dm with what it was given). */
static json_t *colo_sec_cmd_ckpt_save(json_t *args, QmpSession *ss,
                                      void *opaque, GError **errp)
{
    ColoSecondary *s = opaque;
    const char *path = json_string_value(json_object_get(args, "filename"));
    gsize len;
    const char *data;

    if (!s->good) {
        ls_error_set(errp, "no complete checkpoint");
        return NULL;
    }
    data = g_bytes_get_data(s->good, &len);
    if (!g_file_set_contents(path, data, (gssize)len, errp)) {
        return NULL;
    }
    return json_pack("{sI, sI}", "epoch", (json_int_t)s->side.last_epoch,
                     "bytes", (json_int_t)len);
}

static const QmpArg colo_sec_ckpt_save_args[] = {
    {"filename", QMP_ARG_STR, false},
    {NULL},
};

static bool colo_sec_start(ColoSecondary *s, const ColoOptions *o,
                           GError **errp)
{
    if (!colo_side_init(&s->side, o, "secondary", errp) ||
        !colo_side_check_ram(&s->side, errp)) {
        return false;
    }
    qmp_commands_add(s->side.cmds, "x-colo-checkpoint-save",
                     colo_sec_cmd_ckpt_save, colo_sec_ckpt_save_args, 0, s);
    s->side.ob = colo_side_outbuf_new(&s->side, NULL);
    s->side.on_serial = colo_sec_on_serial;
    s->side.on_signal = colo_sec_on_signal;
    colo_side_watch_serial(&s->side, true);
    s->listen_fd = colo_tcp_listen(o->listen, errp);
    if (s->listen_fd < 0) {
        return false;
    }
    s->listen_src = g_unix_fd_source_new(s->listen_fd, G_IO_IN);
    g_source_set_callback(s->listen_src, G_SOURCE_FUNC(colo_sec_accept_cb), s,
                          NULL);
    g_source_attach(s->listen_src, NULL);
    colo_sec_set_state(s, COLO_SEC_LISTENING);
    return true;
}

int colo_secondary_run(const ColoOptions *o)
{
    g_autoptr(GError) err = NULL;
    ColoSecondary s = {.listen_fd = -1};
    int rc;

    if (!colo_sec_start(&s, o, &err)) {
        ls_error_report("colo secondary: %s", err->message);
        rc = COLO_EXIT_STARTUP;
    } else {
        rc = colo_side_run(&s.side);
    }
    if (s.conn) {
        colo_conn_flush(s.conn, 200);
        colo_conn_free(s.conn);
    }
    colo_sec_stop_listening(&s);
    g_clear_pointer(&s.good, g_bytes_unref);
    colo_side_cleanup(&s.side);
    return rc;
}
