/*
 * Output sinks for COLO output commit (see outbuf.h): a FILE appended to,
 * or a unix/TCP peer connected to as a client. Writes never block: bytes
 * wait in a bounded queue and go out when the fd is writable. A socket
 * sink that loses its peer reconnects with a doubling back-off; its queue
 * survives the reconnection.
 */
#include "colo/outbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/error.h"
#include "base/log.h"
#include "qmp/endpoint.h"

/* Bytes read and thrown away per wake-up from a peer that talks back. */
#define COLO_SINK_DISCARD_CHUNK 4096

struct ColoSink {
    ColoSinkKind kind;
    char *name; /* the spec, for messages */
    int fd;     /* -1 while disconnected */
    bool connecting;
    bool ever_connected;
    bool file_stalled; /* a FILE write failed: retry at next_attempt_us */
    bool fsync;
    struct sockaddr_storage addr; /* socket sinks */
    socklen_t addrlen;
    GByteArray *queue; /* pending bytes are queue[head..] */
    size_t head;
    size_t max_pending;
    ColoSinkStats st;
    unsigned backoff_ms;
    gint64 next_attempt_us;
    GMainContext *ctx;
    GSource *io;
    gpointer io_tag;
    int io_fd; /* the fd `io` watches */
    GSource *timer;
    void (*room_cb)(void *opaque);
    void *room_opaque;
};

/* The GSource driving a sink's fd. */
typedef struct ColoSinkSource {
    GSource base;
    ColoSink *sink;
} ColoSinkSource;

static void colo_sink_watch(ColoSink *sink);
static void colo_sink_connected(ColoSink *sink);

static size_t colo_sink_pending(const ColoSink *sink)
{
    return sink->queue->len - sink->head;
}

static bool colo_sink_resolve(ColoSink *sink, const char *spec, GError **errp)
{
    QmpEndpoint ep;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    bool ok = qmp_endpoint_parse(spec, &ep, errp);
    int rc;

    if (ok && (ep.server || ep.kind == QMP_EP_FD)) {
        ls_error_set(errp, "Output sink '%s' must be an address to connect to",
                     spec);
        ok = false;
    } else if (ok && ep.kind == QMP_EP_UNIX) {
        struct sockaddr_un *sa = (struct sockaddr_un *)&sink->addr;
        if (strlen(ep.path) >= sizeof(sa->sun_path)) {
            ls_error_set(errp, "UNIX socket path '%s' is too long", ep.path);
            ok = false;
        } else {
            sa->sun_family = AF_UNIX;
            strcpy(sa->sun_path, ep.path);
            sink->addrlen = sizeof(*sa);
        }
    } else if (ok) {
        rc = getaddrinfo(ep.host, ep.port, &hints, &res);
        if (rc != 0) {
            ls_error_set(errp, "address resolution failed for %s:%s: %s",
                         ep.host, ep.port, gai_strerror(rc));
            ok = false;
        } else {
            memcpy(&sink->addr, res->ai_addr, res->ai_addrlen);
            sink->addrlen = res->ai_addrlen;
            freeaddrinfo(res);
        }
    }
    qmp_endpoint_clear(&ep);
    return ok;
}

/* One non-blocking connection attempt; false only on an immediate failure. */
static bool colo_sink_connect(ColoSink *sink, GError **errp)
{
    int one = 1;
    int fd = socket(sink->addr.ss_family,
                    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    if (fd < 0) {
        ls_error_set(errp, "socket: %s", g_strerror(errno));
        return false;
    }
    if (sink->kind == COLO_SINK_TCP) {
        setsockopt(fd, IPPROTO_TCP, 1 /* TCP_NODELAY */, &one, sizeof(one));
    }
    sink->fd = fd;
    if (connect(fd, (struct sockaddr *)&sink->addr, sink->addrlen) == 0) {
        colo_sink_connected(sink);
    } else if (errno == EINPROGRESS) {
        sink->connecting = true;
    } else {
        ls_error_set(errp, "Failed to connect to '%s': %s", sink->name,
                     g_strerror(errno));
        close(fd);
        sink->fd = -1;
        return false;
    }
    return true;
}

static bool colo_sink_open_file(ColoSink *sink, const char *path, GError **errp)
{
    sink->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (sink->fd < 0) {
        ls_error_set(errp, "Cannot open output file '%s': %s", path,
                     g_strerror(errno));
        return false;
    }
    sink->st.connected = true;
    return true;
}

ColoSink *colo_sink_open(const char *spec, size_t max_pending, GError **errp)
{
    ColoSink *sink = g_new0(ColoSink, 1);
    bool ok;

    sink->fd = -1;
    sink->name = g_strdup(spec);
    sink->queue = g_byte_array_new();
    sink->max_pending = max_pending ? max_pending : COLO_SINK_MAX_PENDING;
    sink->backoff_ms = COLO_SINK_RECONNECT_MIN_MS;
    if (g_str_has_prefix(spec, "unix:") || g_str_has_prefix(spec, "tcp:")) {
        sink->kind = spec[0] == 'u' ? COLO_SINK_UNIX : COLO_SINK_TCP;
        ok = colo_sink_resolve(sink, spec, errp) &&
             colo_sink_connect(sink, errp);
    } else {
        const char *path = g_str_has_prefix(spec, "file:") ? spec + 5 : spec;
        sink->kind = COLO_SINK_FILE;
        ok = *path ? colo_sink_open_file(sink, path, errp) : false;
        if (!*path) {
            ls_error_set(errp, "Output sink '%s': empty file name", spec);
        }
    }
    if (!ok) {
        colo_sink_free(sink);
        return NULL;
    }
    return sink;
}

static void colo_sink_drop_source(GSource **src)
{
    if (*src) {
        g_source_destroy(*src);
        g_source_unref(*src);
        *src = NULL;
    }
}

static void colo_sink_drop_sources(ColoSink *sink)
{
    colo_sink_drop_source(&sink->io);
    colo_sink_drop_source(&sink->timer);
}

void colo_sink_free(ColoSink *sink)
{
    if (!sink) {
        return;
    }
    colo_sink_drop_sources(sink);
    if (sink->fd >= 0) {
        close(sink->fd);
    }
    if (sink->ctx) {
        g_main_context_unref(sink->ctx);
    }
    g_byte_array_unref(sink->queue);
    g_free(sink->name);
    g_free(sink);
}

ColoSinkKind colo_sink_kind(const ColoSink *sink)
{
    return sink->kind;
}

void colo_sink_set_fsync(ColoSink *sink, bool on)
{
    sink->fsync = on;
}

size_t colo_sink_room(const ColoSink *sink)
{
    size_t pending = colo_sink_pending(sink);
    return pending >= sink->max_pending ? 0 : sink->max_pending - pending;
}

void colo_sink_get_stats(const ColoSink *sink, ColoSinkStats *st)
{
    *st = sink->st;
    st->pending = colo_sink_pending(sink);
}

void colo_sink_set_room_cb(ColoSink *sink, void (*cb)(void *opaque),
                           void *opaque)
{
    sink->room_cb = cb;
    sink->room_opaque = opaque;
}

static void colo_sink_connected(ColoSink *sink)
{
    if (sink->ever_connected) {
        sink->st.reconnects++;
    }
    sink->ever_connected = true;
    sink->connecting = false;
    sink->st.connected = true;
    sink->backoff_ms = COLO_SINK_RECONNECT_MIN_MS;
}

/* The connection is gone: close it and schedule the next attempt. */
static void colo_sink_lost(ColoSink *sink, int err)
{
    if (sink->fd >= 0) {
        ls_warn("output sink %s: %s (%s), retrying", sink->name,
                sink->connecting ? "cannot connect" : "connection lost",
                g_strerror(err));
        close(sink->fd);
        sink->fd = -1;
    }
    sink->connecting = false;
    sink->st.connected = false;
    sink->next_attempt_us =
        g_get_monotonic_time() + (gint64)sink->backoff_ms * 1000;
    sink->backoff_ms = MIN(sink->backoff_ms * 2, COLO_SINK_RECONNECT_MAX_MS);
    colo_sink_watch(sink);
}

/* Called when a pending connect may have finished. */
static void colo_sink_connect_done(ColoSink *sink)
{
    int err = 0;
    socklen_t len = sizeof(err);

    if (getsockopt(sink->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) {
        err = errno;
    }
    if (err) {
        colo_sink_lost(sink, err);
        return;
    }
    colo_sink_connected(sink);
}

static void colo_sink_try_reconnect(ColoSink *sink)
{
    g_autoptr(GError) err = NULL;

    if (sink->fd >= 0 || g_get_monotonic_time() < sink->next_attempt_us) {
        return;
    }
    if (!colo_sink_connect(sink, &err)) {
        colo_sink_lost(sink, ECONNREFUSED);
    }
}

/* A FILE write failed (ENOSPC, EIO...): keep the bytes, retry later with
   the same back-off as a reconnection instead of spinning on a writable
   fd. */
static void colo_sink_file_stall(ColoSink *sink)
{
    sink->st.write_errors++;
    sink->file_stalled = true;
    sink->next_attempt_us =
        g_get_monotonic_time() + (gint64)sink->backoff_ms * 1000;
    sink->backoff_ms = MIN(sink->backoff_ms * 2, COLO_SINK_RECONNECT_MAX_MS);
}

static ssize_t colo_sink_write_fd(ColoSink *sink, const void *buf, size_t len)
{
    if (sink->kind == COLO_SINK_FILE) {
        return write(sink->fd, buf, len);
    }
    return send(sink->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* Writes until the fd would block; false + *errp on a FILE error. */
static bool colo_sink_push(ColoSink *sink, GError **errp)
{
    size_t before = sink->head;

    while (colo_sink_pending(sink) > 0) {
        ssize_t n = colo_sink_write_fd(sink, sink->queue->data + sink->head,
                                       colo_sink_pending(sink));
        if (n > 0) {
            sink->head += n;
            sink->st.written += n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        } else if (sink->kind != COLO_SINK_FILE) {
            colo_sink_lost(sink, n < 0 ? errno : EPIPE);
            break;
        } else {
            ls_error_set(errp, "Cannot write to output file '%s': %s",
                         sink->name, g_strerror(n < 0 ? errno : EIO));
            colo_sink_file_stall(sink);
            return false;
        }
    }
    if (sink->fsync && sink->kind == COLO_SINK_FILE && sink->head != before) {
        fdatasync(sink->fd);
    }
    if (sink->head > 0 && sink->head * 2 >= sink->queue->len) {
        g_byte_array_remove_range(sink->queue, 0, sink->head);
        sink->head = 0;
    }
    return true;
}

bool colo_sink_flush(ColoSink *sink, GError **errp)
{
    bool ok = true;

    if (sink->fd < 0) {
        colo_sink_try_reconnect(sink);
    }
    if (sink->fd >= 0 && sink->connecting) {
        struct pollfd pfd = {.fd = sink->fd, .events = POLLOUT};
        if (poll(&pfd, 1, 0) > 0) {
            colo_sink_connect_done(sink);
        }
    }
    if (sink->file_stalled && g_get_monotonic_time() >= sink->next_attempt_us) {
        sink->file_stalled = false;
    }
    if (sink->fd >= 0 && !sink->connecting && !sink->file_stalled) {
        uint64_t errors = sink->st.write_errors;
        ok = colo_sink_push(sink, errp);
        if (ok && sink->kind == COLO_SINK_FILE && errors) {
            sink->backoff_ms = COLO_SINK_RECONNECT_MIN_MS;
        }
    }
    colo_sink_watch(sink);
    return ok;
}

bool colo_sink_write(ColoSink *sink, const void *data, size_t len,
                     GError **errp)
{
    if (len > colo_sink_room(sink)) {
        ls_error_set(errp,
                     "Output sink '%s' is full (%zu bytes pending, cap %zu)",
                     sink->name, colo_sink_pending(sink), sink->max_pending);
        return false;
    }
    g_byte_array_append(sink->queue, data, len);
    sink->st.queued += len;
    return colo_sink_flush(sink, errp);
}

bool colo_sink_position(ColoSink *sink, uint64_t *pos, GError **errp)
{
    struct stat st;

    if (sink->kind != COLO_SINK_FILE) {
        ls_error_set(errp, "Output sink '%s' cannot tell its position",
                     sink->name);
        return false;
    }
    if (fstat(sink->fd, &st) < 0) {
        ls_error_set(errp, "Cannot stat output file '%s': %s", sink->name,
                     g_strerror(errno));
        return false;
    }
    *pos = (uint64_t)st.st_size + colo_sink_pending(sink);
    return true;
}

/* Reads and throws away what a peer sends; notices its hang-up. */
static void colo_sink_discard_input(ColoSink *sink)
{
    char buf[COLO_SINK_DISCARD_CHUNK];
    ssize_t n = recv(sink->fd, buf, sizeof(buf), MSG_DONTWAIT);

    if (n == 0) {
        colo_sink_lost(sink, EPIPE);
    } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
               errno != EINTR) {
        colo_sink_lost(sink, errno);
    }
}

static gboolean colo_sink_io_dispatch(GSource *src, GSourceFunc cb,
                                      gpointer data)
{
    ColoSink *sink = ((ColoSinkSource *)src)->sink;
    GIOCondition cond = g_source_query_unix_fd(src, sink->io_tag);
    g_autoptr(GError) err = NULL;
    size_t room = colo_sink_room(sink);

    if (sink->kind != COLO_SINK_FILE && !sink->connecting &&
        (cond & (G_IO_IN | G_IO_HUP | G_IO_ERR))) {
        colo_sink_discard_input(sink);
    }
    if (sink->fd >= 0 && !colo_sink_flush(sink, &err)) {
        ls_log_ratelimited("%s", err->message);
    }
    if (colo_sink_room(sink) > room && sink->room_cb) {
        sink->room_cb(sink->room_opaque);
    }
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs colo_sink_io_funcs = {
    .dispatch = colo_sink_io_dispatch,
};

static gboolean colo_sink_timer_cb(gpointer data)
{
    ColoSink *sink = data;
    size_t room = colo_sink_room(sink);

    g_source_unref(sink->timer);
    sink->timer = NULL;
    colo_sink_flush(sink, NULL);
    if (colo_sink_room(sink) > room && sink->room_cb) {
        sink->room_cb(sink->room_opaque);
    }
    return G_SOURCE_REMOVE;
}

static void colo_sink_arm_timer(ColoSink *sink)
{
    gint64 wait = sink->next_attempt_us - g_get_monotonic_time();

    if (!sink->timer) {
        sink->timer = g_timeout_source_new(MAX(wait, 0) / 1000 + 1);
        g_source_set_callback(sink->timer, colo_sink_timer_cb, sink, NULL);
        g_source_attach(sink->timer, sink->ctx);
    }
}

/* Keeps the GLib sources in line with the state (when attached). */
static void colo_sink_watch(ColoSink *sink)
{
    GIOCondition cond = 0;

    if (!sink->ctx) {
        return;
    }
    if (sink->io && sink->io_fd != sink->fd) {
        colo_sink_drop_source(&sink->io);
    }
    if (sink->fd < 0 || sink->file_stalled) {
        colo_sink_arm_timer(sink);
        if (sink->fd < 0) {
            return;
        }
    } else {
        colo_sink_drop_source(&sink->timer);
    }
    if (sink->kind != COLO_SINK_FILE) {
        cond |= G_IO_IN;
    }
    if ((sink->connecting || colo_sink_pending(sink) > 0) &&
        !sink->file_stalled) {
        cond |= G_IO_OUT;
    }
    if (!sink->io) {
        sink->io = g_source_new(&colo_sink_io_funcs, sizeof(ColoSinkSource));
        ((ColoSinkSource *)sink->io)->sink = sink;
        sink->io_tag = g_source_add_unix_fd(sink->io, sink->fd, cond);
        sink->io_fd = sink->fd;
        g_source_attach(sink->io, sink->ctx);
    } else {
        g_source_modify_unix_fd(sink->io, sink->io_tag, cond);
    }
}

void colo_sink_attach(ColoSink *sink, GMainContext *ctx)
{
    colo_sink_drop_sources(sink);
    if (sink->ctx) {
        g_main_context_unref(sink->ctx);
    }
    sink->ctx = g_main_context_ref(ctx ? ctx : g_main_context_default());
    colo_sink_watch(sink);
}
