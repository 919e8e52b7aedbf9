/*
 * The QMP server: endpoints (unix and tcp listeners, an inherited
 * listening fd, or one connection out as QEMU's chardev client mode),
 * accepting sessions, broadcasting events, reaping closed sessions from an
 * idle callback, and a bounded blocking flush for exit paths.
 *
 * Leaves out: one session's I/O (session.c), endpoint spec parsing
 * (endpoint.c), dispatch (dispatch.c).
 */
#include "qmp/qmp-internal.h"
#include "qmp/endpoint.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/error.h"
#include "base/log.h"
#include "lockstep-config.h"

/* ---- fd sources --------------------------------------------------------- */

typedef struct QmpFdSource {
    GSource base;
    gpointer tag;
} QmpFdSource;

static gboolean qmp_fd_source_dispatch(GSource *src, GSourceFunc cb,
                                       gpointer data)
{
    QmpFdSource *fs = (QmpFdSource *)src;
    QmpFdFunc fn = (QmpFdFunc)(void (*)(void))cb;

    return fn(data, g_source_query_unix_fd(src, fs->tag));
}

static GSourceFuncs qmp_fd_source_funcs = {
    .dispatch = qmp_fd_source_dispatch,
};

GSource *qmp_fd_source_new(int fd, GIOCondition cond, QmpFdFunc fn,
                           void *opaque, GMainContext *ctx, gpointer *tag)
{
    GSource *src = g_source_new(&qmp_fd_source_funcs, sizeof(QmpFdSource));
    QmpFdSource *fs = (QmpFdSource *)src;

    fs->tag = g_source_add_unix_fd(src, fd, cond);
    /* GLib blocks a non-recursive source around its dispatch by taking
       its fds out of the poll set and putting them back, waking the loop
       up twice per request (two eventfd writes, an extra poll). Nothing
       here runs a nested loop, so recursion is harmless. */
    g_source_set_can_recurse(src, TRUE);
    g_source_set_callback(src, (GSourceFunc)(void (*)(void))fn, opaque, NULL);
    g_source_attach(src, ctx);
    *tag = fs->tag;
    return src;
}

/* ---- Server ------------------------------------------------------------- */

QmpServer *qmp_server_new(QmpCommands *cmds, GMainContext *ctx,
                          const char *package)
{
    QmpServer *srv = g_new0(QmpServer, 1);

    srv->cmds = cmds;
    srv->ctx =
        ctx ? g_main_context_ref(ctx) : g_main_context_ref_thread_default();
    srv->package = g_strdup(package ? package : "lockstep " LOCKSTEP_VERSION);
    srv->sessions = g_ptr_array_new();
    srv->listeners = g_ptr_array_new();
    return srv;
}

static void qmp_listener_free(QmpListener *l)
{
    g_source_destroy(l->src);
    g_source_unref(l->src);
    close(l->fd);
    ls_unix_bound_release(l->bound);
    g_free(l);
}

void qmp_server_free(QmpServer *srv)
{
    if (!srv) {
        return;
    }
    for (guint i = 0; i < srv->listeners->len; i++) {
        qmp_listener_free(g_ptr_array_index(srv->listeners, i));
    }
    for (guint i = 0; i < srv->sessions->len; i++) {
        qmp_session_free(g_ptr_array_index(srv->sessions, i));
    }
    if (srv->reaper) {
        g_source_destroy(srv->reaper);
        g_source_unref(srv->reaper);
    }
    qmp_fdsets_free(srv);
    g_ptr_array_free(srv->listeners, TRUE);
    g_ptr_array_free(srv->sessions, TRUE);
    g_main_context_unref(srv->ctx);
    g_free(srv->package);
    g_free(srv);
}

static gboolean qmp_server_reap(gpointer opaque)
{
    QmpServer *srv = opaque;
    unsigned reaped = 0;

    for (guint i = 0; i < srv->sessions->len;) {
        QmpSession *s = g_ptr_array_index(srv->sessions, i);
        if (!s->dead) {
            i++;
            continue;
        }
        g_ptr_array_remove_index(srv->sessions, i);
        qmp_session_free(s);
        reaped++;
    }
    g_source_unref(srv->reaper);
    srv->reaper = NULL;
    for (unsigned i = 0; i < reaped && srv->closed_cb; i++) {
        srv->closed_cb(srv, srv->closed_opaque);
    }
    return G_SOURCE_REMOVE;
}

void qmp_server_schedule_reap(QmpServer *srv)
{
    if (srv->reaper) {
        return;
    }
    srv->reaper = g_idle_source_new();
    g_source_set_callback(srv->reaper, qmp_server_reap, srv, NULL);
    g_source_attach(srv->reaper, srv->ctx);
}

static gboolean qmp_listener_io(void *opaque, GIOCondition revents)
{
    QmpListener *l = opaque;

    /* A few per wakeup, so a flood of connects cannot starve sessions. */
    for (int i = 0; i < 8; i++) {
        int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                ls_log_ratelimited("QMP accept failed: %s", g_strerror(errno));
            }
            break;
        }
        qmp_session_new(l->srv, fd);
    }
    return G_SOURCE_CONTINUE;
}

static void qmp_server_add_listener(QmpServer *srv, int fd, LsUnixBound *bound)
{
    QmpListener *l = g_new0(QmpListener, 1);
    gpointer tag;

    l->srv = srv;
    l->fd = fd;
    l->bound = bound;
    l->src = qmp_fd_source_new(fd, G_IO_IN, qmp_listener_io, l, srv->ctx, &tag);
    g_ptr_array_add(srv->listeners, l);
}

bool qmp_server_add(QmpServer *srv, const char *spec, GError **errp)
{
    QmpEndpoint ep;
    bool ok = false;
    int fd;

    if (!qmp_endpoint_parse(spec, &ep, errp)) {
        return false;
    }
    fd = qmp_endpoint_open(&ep, errp);
    if (fd >= 0) {
        if (ep.listening) {
            qmp_server_add_listener(srv, fd, g_steal_pointer(&ep.bound));
        } else {
            qmp_session_new(srv, fd);
        }
        ok = true;
    }
    qmp_endpoint_clear(&ep);
    return ok;
}

void qmp_server_broadcast(QmpServer *srv, json_t *event)
{
    for (guint i = 0; i < srv->sessions->len; i++) {
        QmpSession *s = g_ptr_array_index(srv->sessions, i);
        if (s->negotiated && !s->dead) {
            qmp_session_send(s, event);
        }
    }
    json_decref(event);
}

void qmp_server_emit(QmpServer *srv, const char *name, json_t *data)
{
    qmp_server_broadcast(srv, qmp_event_new(name, data));
}

/* Polls the sessions with pending output; false when none is left. */
static bool qmp_server_flush_once(QmpServer *srv, int timeout_ms)
{
    g_autofree struct pollfd *pfds =
        g_new0(struct pollfd, srv->sessions->len + 1);
    g_autofree QmpSession **who = g_new0(QmpSession *, srv->sessions->len + 1);
    nfds_t n = 0;

    for (guint i = 0; i < srv->sessions->len; i++) {
        QmpSession *s = g_ptr_array_index(srv->sessions, i);
        if (!s->dead && !qmp_session_try_write(s) && !s->dead) {
            pfds[n].fd = s->fd;
            pfds[n].events = POLLOUT;
            who[n++] = s;
        }
    }
    if (n == 0) {
        return false;
    }
    if (poll(pfds, n, timeout_ms) <= 0) {
        return false;
    }
    for (nfds_t i = 0; i < n; i++) {
        if (pfds[i].revents) {
            qmp_session_try_write(who[i]);
        }
    }
    return true;
}

void qmp_server_flush(QmpServer *srv, int timeout_ms)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

    for (;;) {
        gint64 left = (deadline - g_get_monotonic_time()) / 1000;
        if (left < 0 || !qmp_server_flush_once(srv, (int)left)) {
            return;
        }
    }
}

unsigned qmp_server_session_count(const QmpServer *srv)
{
    unsigned n = 0;

    for (guint i = 0; i < srv->sessions->len; i++) {
        QmpSession *s = g_ptr_array_index(srv->sessions, i);
        n += !s->dead;
    }
    return n;
}

void qmp_server_set_closed_cb(QmpServer *srv, QmpSessionClosedFn fn,
                              void *opaque)
{
    srv->closed_cb = fn;
    srv->closed_opaque = opaque;
}
