/*
 * Secondary failover: see secondary.h. The order matters for the output
 * stream: the dm is stopped and reloaded before its COM1 is drained, so
 * whatever it wrote since the checkpoint is dropped; the sink is taken
 * over (the last checkpoint's output written where the primary left off)
 * before `cont`, so the dm's next byte follows it.
 */
#include "colo/secondary.h"

#include "base/error.h"
#include "base/log.h"

static bool colo_sec_restore(ColoSecondary *s, GError **errp)
{
    gsize len;
    const uint8_t *state = g_bytes_get_data(s->good, &len);
    bool eof;

    if (!colo_dm_stop(s->side.dm, errp) ||
        !colo_dm_load(s->side.dm, state, len, errp)) {
        return false;
    }
    s->dm_stopped = true;
    if (!colo_side_drain_serial(&s->side, &eof, errp)) {
        return false;
    }
    colo_outbuf_discard_open(s->side.ob);
    return true;
}

/* The sink (if any) continues the stream. A failure is reported; the dm
   runs on regardless (its state is right; only the output is at risk). */
static void colo_sec_take_sink(ColoSecondary *s)
{
    g_autoptr(GError) err = NULL;
    const char *spec = s->side.opts->serial_out;
    ColoSink *sink;

    if (!spec) {
        colo_outbuf_release_all(s->side.ob);
        return;
    }
    sink = colo_sink_open(spec, 0, &err);
    if (sink && !colo_outbuf_takeover(s->side.ob, sink, &err)) {
        colo_sink_free(sink);
        sink = NULL;
    }
    if (!sink) {
        colo_side_event(&s->side, "COLO_OUTPUT_ERROR",
                        json_pack("{ss}", "reason", err->message));
        colo_outbuf_release_all(s->side.ob);
        return;
    }
    colo_sink_attach(sink, NULL);
}

void colo_sec_failover(ColoSecondary *s, const char *why)
{
    g_autoptr(GError) err = NULL;
    gint64 t0 = g_get_monotonic_time();

    colo_sec_set_state(s, COLO_SEC_ACTIVE);
    colo_sec_stop_listening(s);
    if (!colo_sec_restore(s, &err)) {
        ls_error_report("failover failed: %s", err->message);
        colo_side_event(&s->side, "COLO_FAILOVER_FAILED",
                        json_pack("{ss}", "reason", err->message));
        colo_side_quit(&s->side, COLO_EXIT_FAILED);
        return;
    }
    colo_sec_take_sink(s);
    if (!colo_dm_cont(s->side.dm, &err)) {
        ls_error_report("failover: cannot resume the dm: %s", err->message);
        colo_side_quit(&s->side, COLO_EXIT_FAILED);
        return;
    }
    s->dm_stopped = false;
    colo_side_event(&s->side, "COLO_FAILOVER",
                    json_pack("{sI, ss, sI}", "epoch",
                              (json_int_t)s->side.last_epoch, "reason", why,
                              "duration-us", (json_int_t)colo_us_since(t0)));
    if (s->side.opts->exit_on_failover) {
        colo_side_quit(&s->side, COLO_EXIT_OK);
    }
}
