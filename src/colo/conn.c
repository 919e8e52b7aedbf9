/*
 * A COLO peer connection: see conn.h. Input is read into the reader's own
 * space (no copy for a checkpoint's payload); output is a queue of frames
 * written as the socket takes them.
 */
#include "colo/conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <glib-unix.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/error.h"
#include "base/log.h"
#include "colo/tls.h"

/* How long an error or bye frame may take to leave before we close. */
#define COLO_CONN_GOODBYE_MS 200

struct ColoConn {
    int fd;
    ColoTransport *tr; /* plain or TLS: every frame byte goes through it */
    ColoRole my_role, peer_role;
    const ColoConnOps *ops;
    void *opaque;
    ColoProtoReader reader;
    GQueue out;       /* GBytes frames */
    size_t out_off;   /* bytes of the head frame already written */
    size_t out_bytes; /* queued, not written */
    GSource *in_src, *out_src, *hb_src, *closed_src;
    unsigned hb_ms, hb_timeout_ms;
    uint64_t hb_seq;
    gint64 last_rx;
    bool ready, closed;
    bool refusing;     /* colo_conn_refuse: say hello + error, hear nothing */
    bool half_closed;  /* refusing: both said, our side shut for writing */
    gint64 refuse_end; /* refusing: over at this time (monotonic us), even
                          if the peer keeps talking */
    char *refused_why; /* the handshake failed: read to the peer's EOF,
                          then end the session with this */
    ColoEnd end;
    uint32_t end_code;
    char *why;
    char *peer;
};

static void colo_conn_fail(ColoConn *c, int code, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

static gboolean colo_conn_closed_idle(gpointer opaque)
{
    ColoConn *c = opaque;

    g_source_unref(c->closed_src);
    c->closed_src = NULL;
    c->ops->on_closed(c, c->end, c->end_code, c->why, c->opaque);
    return G_SOURCE_REMOVE;
}

static void colo_src_drop(GSource **s)
{
    if (*s) {
        g_source_destroy(*s);
        g_source_unref(*s);
        *s = NULL;
    }
}

/* Marks the session over and schedules on_closed; idempotent. */
static void colo_conn_end(ColoConn *c, ColoEnd end, const char *why)
{
    if (c->closed) {
        return;
    }
    c->closed = true;
    c->end = end;
    c->why = g_strdup(why);
    colo_src_drop(&c->in_src);
    colo_src_drop(&c->out_src);
    colo_src_drop(&c->hb_src);
    if (c->fd >= 0) {
        shutdown(c->fd, SHUT_RDWR);
    }
    c->closed_src = g_idle_source_new();
    g_source_set_callback(c->closed_src, colo_conn_closed_idle, c, NULL);
    g_source_attach(c->closed_src, NULL);
}

/* ---- output ---- */

/* Advances the transport's handshake; true once frames may flow. Bytes
   of the handshake count as signs of life, so a peer that stalls in it
   meets the heartbeat timeout like a silent one. */
static bool colo_conn_handshake(ColoConn *c)
{
    g_autoptr(GError) err = NULL;
    uint64_t rx = colo_transport_rx_bytes(c->tr);
    int rc;

    if (colo_transport_up(c->tr)) {
        return true;
    }
    if (c->refused_why) {
        return false;
    }
    rc = colo_transport_handshake(c->tr, &err);
    if (colo_transport_rx_bytes(c->tr) != rx) {
        c->last_rx = g_get_monotonic_time();
    }
    if (rc < 0) {
        /* Our alert is out. Closing now, with the peer's next bytes
           unread, would send a reset that can drop the alert before the
           peer reads it: half-close, and end at the peer's EOF. */
        c->refused_why = g_strdup(err->message);
        colo_src_drop(&c->out_src);
        shutdown(c->fd, SHUT_WR);
    }
    return rc > 0;
}

static bool colo_conn_write_some(ColoConn *c)
{
    if (!colo_conn_handshake(c)) {
        return !c->closed;
    }
    while (!g_queue_is_empty(&c->out)) {
        GBytes *b = g_queue_peek_head(&c->out);
        gsize len;
        const uint8_t *p = g_bytes_get_data(b, &len);
        g_autoptr(GError) err = NULL;
        ssize_t n =
            colo_transport_write(c->tr, p + c->out_off, len - c->out_off, &err);
        if (n == COLO_IO_AGAIN) {
            return true;
        }
        if (n < 0) {
            colo_conn_end(c, COLO_END_LOST, err->message);
            return false;
        }
        c->out_off += (size_t)n;
        c->out_bytes -= (size_t)n;
        if (c->out_off == len) {
            g_bytes_unref(g_queue_pop_head(&c->out));
            c->out_off = 0;
        }
    }
    if (c->refusing && !c->half_closed) {
        c->half_closed = true;
        colo_transport_bye(c->tr);
        shutdown(c->fd, SHUT_WR); /* then read until the peer's EOF */
    }
    return true;
}

static gboolean colo_conn_out_cb(gint fd, GIOCondition cond, gpointer opaque);

static void colo_conn_kick(ColoConn *c)
{
    bool want_out;

    if (c->closed || !colo_conn_write_some(c) || c->refused_why) {
        return;
    }
    want_out = colo_transport_up(c->tr) ? !g_queue_is_empty(&c->out)
                                        : colo_transport_wants_write(c->tr);
    if (want_out && !c->out_src) {
        c->out_src = g_unix_fd_source_new(c->fd, G_IO_OUT);
        g_source_set_callback(c->out_src, G_SOURCE_FUNC(colo_conn_out_cb), c,
                              NULL);
        g_source_attach(c->out_src, NULL);
    }
}

static gboolean colo_conn_out_cb(gint fd, GIOCondition cond, gpointer opaque)
{
    ColoConn *c = opaque;

    g_source_unref(c->out_src);
    c->out_src = NULL;
    colo_conn_kick(c);
    return G_SOURCE_REMOVE;
}

static void colo_conn_queue(ColoConn *c, GBytes *frame)
{
    if (c->closed) {
        return;
    }
    if (c->out_bytes + g_bytes_get_size(frame) > COLO_CONN_MAX_QUEUED) {
        colo_conn_end(c, COLO_END_LOST,
                      "peer is not reading (send queue over its cap)");
        return;
    }
    c->out_bytes += g_bytes_get_size(frame);
    g_queue_push_tail(&c->out, g_bytes_ref(frame));
    colo_conn_kick(c);
}

void colo_conn_send(ColoConn *c, GBytes *frame)
{
    colo_conn_queue(c, frame);
}

void colo_conn_send_prefix(ColoConn *c, GBytes *frame, size_t n)
{
    GBytes *part =
        g_bytes_new_from_bytes(frame, 0, MIN(n, g_bytes_get_size(frame)));

    colo_conn_queue(c, part);
    g_bytes_unref(part);
}

bool colo_conn_flush(ColoConn *c, int timeout_ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

    while (!c->closed && !c->refused_why && !g_queue_is_empty(&c->out)) {
        bool in =
            !colo_transport_up(c->tr) && !colo_transport_wants_write(c->tr);
        struct pollfd p = {.fd = c->fd, .events = in ? POLLIN : POLLOUT};
        gint64 left = (end - g_get_monotonic_time()) / 1000;
        if (left <= 0) {
            return false;
        }
        if (poll(&p, 1, (int)left) < 0 && errno != EINTR) {
            return false;
        }
        if (!colo_conn_write_some(c)) {
            return false;
        }
    }
    return g_queue_is_empty(&c->out);
}

/* After a last frame has left: half-close, then read and drop what the
   peer still sends until its EOF, for at most timeout_ms. Closing a TCP
   socket with unread bytes (say, a heartbeat in flight) sends a reset,
   and a reset makes the peer's kernel drop what it had not read yet:
   the bye or error itself, turning a clean goodbye into a lost link. */
static void colo_conn_linger(ColoConn *c, int timeout_ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    uint8_t scratch[4096];

    colo_transport_bye(c->tr);
    if (shutdown(c->fd, SHUT_WR) < 0) {
        return;
    }
    for (;;) {
        struct pollfd p = {.fd = c->fd, .events = POLLIN};
        gint64 left = (end - g_get_monotonic_time()) / 1000;
        ssize_t n;

        if (left <= 0 || (poll(&p, 1, (int)left) < 0 && errno != EINTR)) {
            return;
        }
        n = recv(c->fd, scratch, sizeof(scratch), MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN &&
                       errno != EWOULDBLOCK)) {
            return; /* EOF (or the link is gone): nothing left to reset */
        }
    }
}

/* Reads and drops what the socket holds now, without waiting: a close()
   with unread bytes sends a reset, which makes the peer's kernel drop
   what it had not read yet (our last error, a TLS alert). True when the
   peer is done (EOF, or the link is gone). */
static bool colo_conn_drain(int fd)
{
    uint8_t scratch[4096];

    for (int i = 0; i < 64; i++) {
        ssize_t n = recv(fd, scratch, sizeof(scratch), MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN &&
                       errno != EWOULDBLOCK)) {
            return true;
        }
        if (n < 0 && errno != EINTR) {
            return false;
        }
    }
    return false;
}

/* Sends error/bye when code >= 0, then ends the session as `end`. */
static void colo_conn_close_as(ColoConn *c, ColoEnd end, bool bye, int code,
                               const char *why)
{
    if (c->closed) {
        return;
    }
    /* Before the handshake is through nothing can be said in band; a
       refused peer has been told already. */
    if (code >= 0 && colo_transport_up(c->tr) && !c->refusing) {
        GBytes *f = colo_proto_text(bye ? COLO_MSG_BYE : COLO_MSG_ERROR,
                                    (uint32_t)code, why);
        colo_conn_queue(c, f);
        g_bytes_unref(f);
        if (colo_conn_flush(c, COLO_CONN_GOODBYE_MS)) {
            colo_conn_linger(c, COLO_CONN_GOODBYE_MS);
        }
    }
    colo_conn_end(c, end, why);
}

void colo_conn_close(ColoConn *c, bool bye, int code, const char *why)
{
    colo_conn_close_as(c, COLO_END_LOCAL, bye, code, why);
}

static void colo_conn_fail(ColoConn *c, int code, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *why = NULL;

    va_start(ap, fmt);
    why = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    colo_conn_close_as(c, COLO_END_LOST, false, code, why);
}

void colo_conn_reject(ColoConn *c, const char *why)
{
    colo_conn_close_as(c, COLO_END_LOST, false, COLO_CODE_PROTOCOL, why);
}

/* ---- input ---- */

static void colo_conn_deliver(ColoConn *c, ColoMsg *m)
{
    g_autoptr(GError) err = NULL;

    if (m->type == COLO_MSG_HEARTBEAT || c->refusing) {
        return;
    }
    if (!c->ready) {
        if (!colo_proto_check_hello(m, c->peer_role, &err)) {
            colo_conn_fail(c, COLO_CODE_PROTOCOL, "%s", err->message);
            return;
        }
        c->ready = true;
        if (c->ops->on_ready) {
            c->ops->on_ready(c, c->opaque);
        }
        return;
    }
    if (m->type == COLO_MSG_HELLO) {
        colo_conn_fail(c, COLO_CODE_PROTOCOL, "second hello");
    } else if (m->type == COLO_MSG_BYE) {
        c->end_code = m->code;
        colo_conn_end(c, COLO_END_BYE, m->text);
    } else if (m->type == COLO_MSG_ERROR) {
        g_autofree char *why =
            g_strdup_printf("peer error %u: %s", m->code, m->text);
        c->end_code = m->code;
        colo_conn_end(c, COLO_END_PEER_ERROR, why);
    } else {
        c->ops->on_msg(c, m, c->opaque);
    }
}

/* `what` went wrong; before the peer's hello, a peer in the other mode
   (TLS against plain) is the likely cause: say so. */
static char *colo_conn_why_lost(ColoConn *c, const char *what)
{
    const char *mismatch = c->ready ? "" : colo_transport_mismatch(c->tr);

    return g_strdup_printf("%s%s%s", what, mismatch[0] ? ": " : "", mismatch);
}

/* One read into the reader's space. False when reading should stop (would
   block, or the session ended). */
static bool colo_conn_read_once(ColoConn *c)
{
    g_autoptr(GError) err = NULL;
    uint8_t *dst;
    size_t room;
    ColoMsg m;
    ssize_t n;
    int rc;

    colo_proto_reader_space(&c->reader, &dst, &room);
    n = colo_transport_read(c->tr, dst, room, &err);
    if (n == COLO_IO_AGAIN) {
        return false;
    }
    if (n <= 0) {
        g_autofree char *why = colo_conn_why_lost(
            c, n == 0 ? "connection closed by peer" : err->message);
        colo_conn_end(c, COLO_END_LOST, why);
        return false;
    }
    c->last_rx = g_get_monotonic_time();
    rc = colo_proto_reader_advance(&c->reader, (size_t)n, &m, &err);
    if (rc < 0) {
        g_autofree char *why = colo_conn_why_lost(c, err->message);
        colo_conn_fail(c, COLO_CODE_PROTOCOL, "bad message: %s", why);
        return false;
    }
    if (rc == 1) {
        colo_conn_deliver(c, &m);
        colo_msg_clear(&m);
    }
    return !c->closed;
}

void colo_conn_poll_input(ColoConn *c)
{
    if (!c->closed && c->refused_why) {
        if (colo_conn_drain(c->fd)) {
            colo_conn_end(c, COLO_END_LOST, c->refused_why);
        }
        return;
    }
    if (!c->closed && !colo_transport_up(c->tr)) {
        colo_conn_kick(c); /* the handshake, then our queued hello */
        if (c->closed || !colo_transport_up(c->tr)) {
            return;
        }
    }
    while (!c->closed && colo_conn_read_once(c)) {
    }
}

static gboolean colo_conn_in_cb(gint fd, GIOCondition cond, gpointer opaque)
{
    colo_conn_poll_input(opaque);
    return G_SOURCE_CONTINUE;
}

static gboolean colo_conn_hb_cb(gpointer opaque)
{
    ColoConn *c = opaque;
    gint64 silent_ms;
    GBytes *f;

    colo_conn_poll_input(c);
    if (c->closed) {
        return G_SOURCE_CONTINUE; /* colo_conn_end destroyed this source */
    }
    silent_ms = (g_get_monotonic_time() - c->last_rx) / 1000;
    if (c->refusing && g_get_monotonic_time() > c->refuse_end) {
        colo_conn_end(c, COLO_END_LOST,
                      "still connected after the "
                      "heartbeat timeout");
        return G_SOURCE_CONTINUE;
    }
    if (c->refused_why) {
        if (silent_ms > c->hb_timeout_ms) {
            colo_conn_end(c, COLO_END_LOST, c->refused_why);
        }
        return G_SOURCE_CONTINUE;
    }
    if (silent_ms > c->hb_timeout_ms) {
        g_autofree char *why = g_strdup_printf(
            "no message from the peer for %" G_GINT64_FORMAT " ms "
            "(heartbeat timeout %u ms)",
            silent_ms, c->hb_timeout_ms);
        colo_conn_close_as(c, COLO_END_LOST, false, COLO_CODE_PROTOCOL, why);
        return G_SOURCE_CONTINUE;
    }
    if (c->refusing) {
        return G_SOURCE_CONTINUE;
    }
    f = colo_proto_u64(COLO_MSG_HEARTBEAT, ++c->hb_seq);
    colo_conn_queue(c, f);
    g_bytes_unref(f);
    return G_SOURCE_CONTINUE;
}

static char *colo_conn_peer_name(int fd)
{
    struct sockaddr_storage ss = {0};
    socklen_t len = sizeof(ss);
    char host[64] = "?";
    int port = 0;

    if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0) {
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *a = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
            port = ntohs(a->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
            port = ntohs(a->sin6_port);
        }
    }
    return g_strdup_printf("%s:%d", host, port);
}

ColoConn *colo_conn_new(int fd, const ColoTlsCreds *tls, ColoRole my_role,
                        ColoRole peer_role, unsigned hb_ms,
                        unsigned hb_timeout_ms, const ColoConnOps *ops,
                        void *opaque)
{
    ColoConn *c = g_new0(ColoConn, 1);
    g_autoptr(GError) err = NULL;
    int one = 1;
    GBytes *hello;

    c->fd = fd;
    c->tr = colo_transport_new(fd, tls, &err);
    c->my_role = my_role;
    c->peer_role = peer_role;
    c->ops = ops;
    c->opaque = opaque;
    c->hb_ms = hb_ms ? hb_ms : 1;
    c->hb_timeout_ms = hb_timeout_ms;
    c->last_rx = g_get_monotonic_time();
    c->peer = colo_conn_peer_name(fd);
    colo_proto_reader_init(&c->reader);
    g_queue_init(&c->out);
    g_unix_set_fd_nonblocking(fd, TRUE, NULL);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->in_src = g_unix_fd_source_new(fd, G_IO_IN | G_IO_HUP | G_IO_ERR);
    g_source_set_callback(c->in_src, G_SOURCE_FUNC(colo_conn_in_cb), c, NULL);
    g_source_attach(c->in_src, NULL);
    c->hb_src = g_timeout_source_new(c->hb_ms);
    g_source_set_callback(c->hb_src, colo_conn_hb_cb, c, NULL);
    g_source_attach(c->hb_src, NULL);
    if (!c->tr) {
        colo_conn_end(c, COLO_END_LOST, err->message);
        return c;
    }
    hello = colo_proto_hello(my_role, hb_ms);
    colo_conn_queue(c, hello);
    g_bytes_unref(hello);
    return c;
}

void colo_conn_free(ColoConn *c)
{
    if (!c) {
        return;
    }
    colo_src_drop(&c->in_src);
    colo_src_drop(&c->out_src);
    colo_src_drop(&c->hb_src);
    colo_src_drop(&c->closed_src);
    g_queue_clear_full(&c->out, (GDestroyNotify)g_bytes_unref);
    colo_proto_reader_clear(&c->reader);
    colo_transport_free(c->tr);
    if (c->fd >= 0) {
        colo_conn_drain(c->fd);
        close(c->fd);
    }
    g_free(c->why);
    g_free(c->refused_why);
    g_free(c->peer);
    g_free(c);
}

bool colo_conn_ready(const ColoConn *c)
{
    return c->ready && !c->closed;
}

bool colo_conn_closed(const ColoConn *c)
{
    return c->closed;
}

const char *colo_conn_peer(const ColoConn *c)
{
    return c->peer;
}

gint64 colo_conn_last_rx(const ColoConn *c)
{
    return c->last_rx;
}

/* ---- turning a peer away ---- */

static void colo_conn_refused_closed(ColoConn *c, ColoEnd end, uint32_t code,
                                     const char *why, void *opaque)
{
    g_autofree char *told = opaque;

    ls_log_ratelimited("refused the connection from %s: %s", c->peer,
                       c->half_closed ? told : why);
    colo_conn_free(c);
}

static const ColoConnOps colo_conn_refuse_ops = {
    .on_closed = colo_conn_refused_closed,
};

void colo_conn_refuse(int fd, const ColoTlsCreds *tls, ColoRole my_role,
                      unsigned hb_ms, unsigned hb_timeout_ms, uint32_t code,
                      const char *why)
{
    ColoConn *c = colo_conn_new(fd, tls, my_role, 0, hb_ms, hb_timeout_ms,
                                &colo_conn_refuse_ops, g_strdup(why));
    GBytes *e = colo_proto_text(COLO_MSG_ERROR, code, why);

    c->refusing = true;
    c->refuse_end = g_get_monotonic_time() + (gint64)hb_timeout_ms * 1000;
    colo_conn_queue(c, e);
    g_bytes_unref(e);
}
