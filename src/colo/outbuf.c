/*
 * COLO output commit: epochs of held bytes (see outbuf.h for the contract
 * and docs/colo-output.md for the guarantee).
 *
 * All bytes in an outbuf live in one buffer covering stream offsets
 * [base, appended): [base, released) is the released backlog the sink has
 * not taken yet, [released, appended) is held. `marks` lists the closed,
 * unreleased epochs in order, each with its offset range; the open epoch
 * runs from open_start (or released, if later) to appended.
 */
#include "colo/outbuf.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "base/log.h"

typedef struct ColoEpochMark {
    uint64_t epoch;
    uint64_t start, end;
} ColoEpochMark;

struct ColoOutbuf {
    ColoSink *sink;
    ColoOutbufConfig cfg;
    GByteArray *buf; /* buf[head..] holds offsets [base, appended) */
    size_t head;
    uint64_t base, released, appended;
    uint64_t open_epoch, open_start;
    GArray *marks; /* ColoEpochMark, closed and unreleased, ascending */
    uint64_t discarded;
    bool passthrough;
    bool hw_signalled, full_signalled;
    /* Secondary: the primary's adopted bytes, [tail_start, tail_end). */
    GByteArray *tail;
    uint64_t tail_start;
    uint64_t adopted_epoch; /* 0: none adopted */
};

static void colo_outbuf_sink_room(void *opaque);

static size_t colo_outbuf_used(const ColoOutbuf *ob)
{
    return ob->appended - ob->base;
}

static size_t colo_outbuf_held(const ColoOutbuf *ob)
{
    return ob->appended - ob->released;
}

ColoOutbuf *colo_outbuf_new(ColoSink *sink, const ColoOutbufConfig *cfg)
{
    ColoOutbuf *ob = g_new0(ColoOutbuf, 1);

    if (cfg) {
        ob->cfg = *cfg;
    }
    if (!ob->cfg.max_held) {
        ob->cfg.max_held = COLO_OUTBUF_MAX_HELD;
    }
    if (!ob->cfg.high_water || ob->cfg.high_water > ob->cfg.max_held) {
        ob->cfg.high_water = ob->cfg.max_held / 4 * 3;
    }
    if (!ob->cfg.max_tail) {
        ob->cfg.max_tail = ob->cfg.max_held;
    }
    ob->open_epoch = ob->cfg.first_epoch ? ob->cfg.first_epoch : 1;
    ob->buf = g_byte_array_new();
    ob->tail = g_byte_array_new();
    ob->marks = g_array_new(FALSE, FALSE, sizeof(ColoEpochMark));
    ob->sink = sink;
    if (sink) {
        colo_sink_set_room_cb(sink, colo_outbuf_sink_room, ob);
    }
    return ob;
}

void colo_outbuf_free(ColoOutbuf *ob)
{
    if (!ob) {
        return;
    }
    colo_sink_free(ob->sink);
    g_byte_array_unref(ob->buf);
    g_byte_array_unref(ob->tail);
    g_array_unref(ob->marks);
    g_free(ob);
}

ColoSink *colo_outbuf_sink(ColoOutbuf *ob)
{
    return ob->sink;
}

size_t colo_outbuf_room(const ColoOutbuf *ob)
{
    size_t used = colo_outbuf_used(ob);
    return used >= ob->cfg.max_held ? 0 : ob->cfg.max_held - used;
}

static void colo_outbuf_notify(ColoOutbuf *ob, ColoOutbufPressure p)
{
    if (ob->cfg.pressure) {
        ob->cfg.pressure(ob, p, ob->cfg.opaque);
    }
}

/* Signals pressure changes after anything that moved the counters. */
static void colo_outbuf_pressure(ColoOutbuf *ob)
{
    size_t held = colo_outbuf_held(ob);

    if (held >= ob->cfg.high_water && !ob->hw_signalled) {
        ob->hw_signalled = true;
        colo_outbuf_notify(ob, COLO_OUTBUF_HIGH_WATER);
    } else if (held < ob->cfg.high_water) {
        ob->hw_signalled = false;
    }
    if (colo_outbuf_room(ob) == 0 && !ob->full_signalled) {
        ob->full_signalled = true;
        colo_outbuf_notify(ob, COLO_OUTBUF_FULL);
    } else if (colo_outbuf_room(ob) > 0 && ob->full_signalled) {
        ob->full_signalled = false;
        colo_outbuf_notify(ob, COLO_OUTBUF_ROOM);
    }
}

/* Drops `n` bytes from the front of the buffer. */
static void colo_outbuf_consume(ColoOutbuf *ob, size_t n)
{
    ob->head += n;
    ob->base += n;
    if (ob->head * 2 >= ob->buf->len) {
        g_byte_array_remove_range(ob->buf, 0, ob->head);
        ob->head = 0;
    }
}

/* Moves released bytes to the sink, as many as it takes now (a sink that
   writes at once has room again: go on until it has none). */
static void colo_outbuf_flush(ColoOutbuf *ob)
{
    for (;;) {
        size_t backlog = ob->released - ob->base;
        size_t n = ob->sink ? MIN(backlog, colo_sink_room(ob->sink)) : backlog;
        g_autoptr(GError) err = NULL;

        if (n == 0) {
            return;
        }
        if (ob->sink &&
            !colo_sink_write(ob->sink, ob->buf->data + ob->head, n, &err)) {
            /* The bytes are queued in the sink even when the write failed. */
            ls_log_ratelimited("%s", err->message);
        }
        colo_outbuf_consume(ob, n);
    }
}

static void colo_outbuf_sink_room(void *opaque)
{
    ColoOutbuf *ob = opaque;

    colo_outbuf_flush(ob);
    colo_outbuf_pressure(ob);
}

bool colo_outbuf_append(ColoOutbuf *ob, const void *data, size_t len,
                        GError **errp)
{
    if (len > colo_outbuf_room(ob)) {
        ls_error_set(errp,
                     "Output buffer full: %zu bytes do not fit (%zu held, "
                     "%zu waiting for the sink, cap %zu)",
                     len, colo_outbuf_held(ob),
                     (size_t)(ob->released - ob->base), ob->cfg.max_held);
        colo_outbuf_pressure(ob);
        return false;
    }
    g_byte_array_append(ob->buf, data, len);
    ob->appended += len;
    if (ob->passthrough) {
        ob->released = ob->appended;
        colo_outbuf_flush(ob);
    }
    colo_outbuf_pressure(ob);
    return true;
}

ColoDrainResult colo_outbuf_drain_fd(ColoOutbuf *ob, int fd, size_t *nread,
                                     GError **errp)
{
    uint8_t chunk[COLO_OUTBUF_READ_CHUNK];
    size_t total = 0;
    ColoDrainResult res;

    for (;;) {
        size_t want = MIN(sizeof(chunk), colo_outbuf_room(ob));
        ssize_t n;
        if (want == 0) {
            colo_outbuf_pressure(ob);
            res = COLO_DRAIN_FULL;
            break;
        }
        n = read(fd, chunk, want);
        if (n > 0) {
            colo_outbuf_append(ob, chunk, n, NULL);
            total += n;
        } else if (n == 0) {
            res = COLO_DRAIN_EOF;
            break;
        } else if (errno == EINTR) {
            continue;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            res = COLO_DRAIN_AGAIN;
            break;
        } else {
            ls_error_set(errp, "Cannot read the console stream: %s",
                         g_strerror(errno));
            res = COLO_DRAIN_ERROR;
            break;
        }
    }
    if (nread) {
        *nread = total;
    }
    return res;
}

bool colo_outbuf_close_epoch(ColoOutbuf *ob, uint64_t epoch,
                             uint64_t *end_offset, GError **errp)
{
    ColoEpochMark m = {.epoch = epoch, .end = ob->appended};

    if (epoch != ob->open_epoch) {
        ls_error_set(errp,
                     "Cannot close output epoch %" G_GUINT64_FORMAT
                     ": the open epoch is %" G_GUINT64_FORMAT,
                     epoch, ob->open_epoch);
        return false;
    }
    m.start = MAX(ob->open_start, ob->released);
    if (!ob->passthrough) {
        g_array_append_val(ob->marks, m);
    }
    ob->open_epoch++;
    ob->open_start = ob->appended;
    if (end_offset) {
        *end_offset = ob->appended;
    }
    return true;
}

/* What an empty epoch points at: the buffer's data is NULL until the
   first byte is appended, and no offset may be applied to NULL. */
static const uint8_t colo_outbuf_no_bytes[1];

const uint8_t *colo_outbuf_epoch_bytes(const ColoOutbuf *ob, uint64_t epoch,
                                       size_t *len, uint64_t *start_offset)
{
    for (guint i = 0; i < ob->marks->len; i++) {
        const ColoEpochMark *m = &g_array_index(ob->marks, ColoEpochMark, i);
        if (m->epoch == epoch) {
            *len = m->end - m->start;
            if (start_offset) {
                *start_offset = m->start;
            }
            if (*len == 0) {
                return colo_outbuf_no_bytes;
            }
            return ob->buf->data + ob->head + (m->start - ob->base);
        }
    }
    return NULL;
}

bool colo_outbuf_release(ColoOutbuf *ob, uint64_t epoch, GError **errp)
{
    guint n = 0;

    if (epoch >= ob->open_epoch) {
        ls_error_set(errp,
                     "Cannot release output epoch %" G_GUINT64_FORMAT
                     ": it is not closed (open epoch %" G_GUINT64_FORMAT ")",
                     epoch, ob->open_epoch);
        return false;
    }
    while (n < ob->marks->len &&
           g_array_index(ob->marks, ColoEpochMark, n).epoch <= epoch) {
        ob->released = g_array_index(ob->marks, ColoEpochMark, n).end;
        n++;
    }
    g_array_remove_range(ob->marks, 0, n);
    colo_outbuf_flush(ob);
    colo_outbuf_pressure(ob);
    return true;
}

void colo_outbuf_release_all(ColoOutbuf *ob)
{
    g_array_set_size(ob->marks, 0);
    ob->released = ob->appended;
    ob->passthrough = true;
    colo_outbuf_flush(ob);
    colo_outbuf_pressure(ob);
}

void colo_outbuf_hold(ColoOutbuf *ob)
{
    ob->passthrough = false;
    ob->open_start = ob->appended;
}

size_t colo_outbuf_discard_open(ColoOutbuf *ob)
{
    uint64_t from = MAX(ob->open_start, ob->released);
    size_t n = ob->appended - from;

    g_byte_array_set_size(ob->buf, ob->buf->len - n);
    ob->appended = from;
    ob->discarded += n;
    colo_outbuf_pressure(ob);
    return n;
}

/* Appends adopted bytes to the tail, keeping the newest max_tail. */
static void colo_outbuf_tail_add(ColoOutbuf *ob, const void *data, size_t len)
{
    size_t over;

    g_byte_array_append(ob->tail, data, len);
    if (ob->tail->len > ob->cfg.max_tail) {
        over = ob->tail->len - ob->cfg.max_tail;
        g_byte_array_remove_range(ob->tail, 0, over);
        ob->tail_start += over;
    }
}

static uint64_t colo_outbuf_tail_end(const ColoOutbuf *ob)
{
    return ob->tail_start + ob->tail->len;
}

bool colo_outbuf_adopt_check(ColoOutbuf *ob, uint64_t epoch,
                             uint64_t start_offset, GError **errp)
{
    if (ob->passthrough || ob->marks->len || ob->released != ob->base ||
        ob->released != ob->open_start) {
        ls_error_set(errp,
                     "Cannot adopt output epoch %" G_GUINT64_FORMAT
                     ": this outbuf has closed or released bytes of "
                     "its own (not a secondary's)",
                     epoch);
        return false;
    }
    if (ob->adopted_epoch && epoch <= ob->adopted_epoch) {
        ls_error_set(errp,
                     "Output epoch %" G_GUINT64_FORMAT
                     " is not above the last adopted one (%" G_GUINT64_FORMAT
                     ")",
                     epoch, ob->adopted_epoch);
        return false;
    }
    if (ob->adopted_epoch && start_offset != colo_outbuf_tail_end(ob)) {
        ls_error_set(errp,
                     "Output epoch %" G_GUINT64_FORMAT
                     " starts at offset %" G_GUINT64_FORMAT
                     ", the stream so far ends at %" G_GUINT64_FORMAT,
                     epoch, start_offset, colo_outbuf_tail_end(ob));
        return false;
    }
    return true;
}

/* Drops all held bytes and restarts the stream position at `offset`. */
static void colo_outbuf_reset_at(ColoOutbuf *ob, uint64_t offset)
{
    ob->discarded += ob->appended - ob->base;
    g_byte_array_set_size(ob->buf, 0);
    ob->head = 0;
    ob->base = ob->released = ob->appended = ob->open_start = offset;
    colo_outbuf_pressure(ob);
}

bool colo_outbuf_adopt_epoch(ColoOutbuf *ob, uint64_t epoch,
                             uint64_t start_offset, const void *data,
                             size_t len, GError **errp)
{
    if (!colo_outbuf_adopt_check(ob, epoch, start_offset, errp)) {
        return false;
    }
    if (!ob->adopted_epoch) {
        ob->tail_start = start_offset;
    }
    colo_outbuf_tail_add(ob, data, len);
    ob->adopted_epoch = epoch;
    ob->open_epoch = epoch + 1;
    colo_outbuf_reset_at(ob, start_offset + len);
    return true;
}

/* Where a takeover continues the stream on `sink`; false if it cannot be
   done without a gap or a repeat. */
static bool colo_outbuf_takeover_from(ColoOutbuf *ob, ColoSink *sink,
                                      uint64_t *from, GError **errp)
{
    uint64_t end = colo_outbuf_tail_end(ob);
    g_autoptr(GError) err = NULL;

    if (!colo_sink_position(sink, from, &err)) {
        *from = end; /* socket sink: continue after the last checkpoint */
        return true;
    }
    if (ob->adopted_epoch && (*from < ob->tail_start || *from > end)) {
        ls_error_set(
            errp,
            "Cannot take over the output: the sink holds %" G_GUINT64_FORMAT
            " bytes, the adopted stream covers [%" G_GUINT64_FORMAT
            ", %" G_GUINT64_FORMAT ")",
            *from, ob->tail_start, end);
        return false;
    }
    return true;
}

bool colo_outbuf_takeover(ColoOutbuf *ob, ColoSink *sink, GError **errp)
{
    uint64_t from;
    uint64_t end = colo_outbuf_tail_end(ob);

    if (!colo_outbuf_takeover_from(ob, sink, &from, errp)) {
        return false;
    }
    if (!ob->adopted_epoch) {
        end = from; /* nothing adopted: the stream starts at the sink */
    }
    colo_outbuf_reset_at(ob, from);
    /* The adopted bytes the sink lacks become released backlog. */
    if (end > from) {
        g_byte_array_append(ob->buf, ob->tail->data + (from - ob->tail_start),
                            end - from);
    }
    ob->released = ob->appended = ob->open_start = end;
    colo_sink_free(ob->sink);
    ob->sink = sink;
    colo_sink_set_room_cb(sink, colo_outbuf_sink_room, ob);
    ob->passthrough = true;
    colo_outbuf_flush(ob);
    colo_outbuf_pressure(ob);
    return true;
}

void colo_outbuf_get_stats(const ColoOutbuf *ob, ColoOutbufStats *st)
{
    memset(st, 0, sizeof(*st));
    st->open_epoch = ob->open_epoch;
    st->appended = ob->appended;
    st->released = ob->released;
    st->discarded = ob->discarded;
    st->held = colo_outbuf_held(ob);
    st->backlog = ob->released - ob->base;
    st->open_bytes = ob->appended - MAX(ob->open_start, ob->released);
    st->tail_start = ob->tail_start;
    st->tail_end = colo_outbuf_tail_end(ob);
    st->passthrough = ob->passthrough;
}
