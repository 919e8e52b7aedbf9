/*
 * The parts both coordinator sides share: see side.h.
 */
#include "colo/side.h"

#include <errno.h>
#include <glib-unix.h>
#include <inttypes.h>
#include <malloc.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/error.h"
#include "base/log.h"
#include "colo/proto.h"

/* Allocations from this size up are mmapped (glibc's default start). */
#define COLO_SIDE_MMAP_THRESHOLD (128 * 1024)

void colo_options_defaults(ColoOptions *o)
{
    memset(o, 0, sizeof(*o));
    o->interval_ms = COLO_DEFAULT_INTERVAL_MS;
    o->heartbeat_ms = COLO_DEFAULT_HEARTBEAT_MS;
    o->hb_timeout_ms = COLO_DEFAULT_HB_TIMEOUT_MS;
    o->qmp_timeout_ms = COLO_DEFAULT_QMP_TIMEOUT_MS;
    o->x_fault_pid = -1;
}

uint64_t colo_us_since(gint64 t0)
{
    gint64 d = g_get_monotonic_time() - t0;

    return d > 0 ? (uint64_t)d : 0;
}

/* ---- TCP ---- */

static bool colo_split_hostport(const char *hp, char **host, char **port,
                                GError **errp)
{
    const char *colon;

    if (hp[0] == '[') {
        const char *end = strchr(hp, ']');
        if (!end || end[1] != ':') {
            ls_error_set(errp, "bad address '%s' (want [V6ADDR]:PORT)", hp);
            return false;
        }
        *host = g_strndup(hp + 1, (gsize)(end - hp - 1));
        *port = g_strdup(end + 2);
        return true;
    }
    colon = strrchr(hp, ':');
    if (!colon || colon == hp || !colon[1]) {
        ls_error_set(errp, "bad address '%s' (want HOST:PORT)", hp);
        return false;
    }
    *host = g_strndup(hp, (gsize)(colon - hp));
    *port = g_strdup(colon + 1);
    return true;
}

static struct addrinfo *colo_resolve(const char *hp, bool passive,
                                     GError **errp)
{
    g_autofree char *host = NULL, *port = NULL;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    int rc;

    if (!colo_split_hostport(hp, &host, &port, errp)) {
        return NULL;
    }
    hints.ai_flags = passive ? AI_PASSIVE : 0;
    rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        ls_error_set(errp, "cannot resolve '%s': %s", hp, gai_strerror(rc));
        return NULL;
    }
    return res;
}

/* Non-blocking connect, waited for up to timeout_ms. */
static int colo_connect_one(const struct addrinfo *ai, int timeout_ms)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
    struct pollfd p;
    int err = 0;
    socklen_t len = sizeof(err);

    if (fd < 0) {
        return -1;
    }
    g_unix_set_fd_nonblocking(fd, TRUE, NULL);
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
        return fd;
    }
    if (errno == EINPROGRESS) {
        p.fd = fd;
        p.events = POLLOUT;
        if (poll(&p, 1, timeout_ms) == 1 &&
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0) {
            return fd;
        }
        errno = err ? err : ETIMEDOUT;
    }
    err = errno;
    close(fd);
    errno = err;
    return -1;
}

int colo_tcp_connect(const char *hostport, int timeout_ms, GError **errp)
{
    struct addrinfo *res = colo_resolve(hostport, false, errp);
    int fd = -1, err = 0;

    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = colo_connect_one(ai, timeout_ms);
        err = errno;
    }
    if (res) {
        freeaddrinfo(res);
        if (fd < 0) {
            ls_error_set(errp, "cannot connect to %s: %s", hostport,
                         g_strerror(err));
        }
    }
    return fd;
}

int colo_tcp_listen(const char *hostport, GError **errp)
{
    struct addrinfo *res = colo_resolve(hostport, true, errp);
    int fd = -1, one = 1, err = 0;

    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            err = errno;
            continue;
        }
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 4) < 0) {
            err = errno;
            close(fd);
            fd = -1;
        }
    }
    if (res) {
        freeaddrinfo(res);
        if (fd < 0) {
            ls_error_set(errp, "cannot listen on %s: %s", hostport,
                         g_strerror(err));
        }
    }
    return fd;
}

/* ---- the dm's COM1 ---- */

static int colo_unix_connect(const char *spec, GError **errp)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    const char *path = spec + strlen("unix:");
    int fd;

    if (!g_str_has_prefix(spec, "unix:") || !*path ||
        strlen(path) >= sizeof(sa.sun_path)) {
        ls_error_set(errp, "--dm-serial wants unix:PATH, got '%s'", spec);
        return -1;
    }
    strcpy(sa.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        ls_error_set(errp, "cannot connect to the dm's COM1 at %s: %s", path,
                     g_strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    g_unix_set_fd_nonblocking(fd, TRUE, NULL);
    return fd;
}

static gboolean colo_side_serial_cb(gint fd, GIOCondition c, gpointer opaque)
{
    ColoSide *s = opaque;

    s->on_serial(s);
    return G_SOURCE_CONTINUE;
}

void colo_side_watch_serial(ColoSide *s, bool on)
{
    if (on && !s->serial_src && s->serial_fd >= 0) {
        s->serial_src =
            g_unix_fd_source_new(s->serial_fd, G_IO_IN | G_IO_HUP | G_IO_ERR);
        g_source_set_callback(s->serial_src, G_SOURCE_FUNC(colo_side_serial_cb),
                              s, NULL);
        g_source_attach(s->serial_src, NULL);
    } else if (!on && s->serial_src) {
        g_source_destroy(s->serial_src);
        g_source_unref(s->serial_src);
        s->serial_src = NULL;
    }
}

static void colo_side_pressure(ColoOutbuf *ob, ColoOutbufPressure pr,
                               void *opaque)
{
    if (pr == COLO_OUTBUF_FULL) {
        colo_side_watch_serial(opaque, false);
    } else if (pr == COLO_OUTBUF_ROOM) {
        colo_side_watch_serial(opaque, true);
    }
}

ColoOutbuf *colo_side_outbuf_new(ColoSide *s, ColoSink *sink)
{
    ColoOutbufConfig cfg = {.pressure = colo_side_pressure, .opaque = s};

    return colo_outbuf_new(sink, &cfg);
}

bool colo_side_drain_serial(ColoSide *s, bool *eof, GError **errp)
{
    ColoDrainResult r;

    *eof = false;
    if (s->serial_fd < 0) {
        return true;
    }
    r = colo_outbuf_drain_fd(s->ob, s->serial_fd, NULL, errp);
    if (r == COLO_DRAIN_FULL) {
        colo_side_watch_serial(s, false);
    }
    if (r == COLO_DRAIN_EOF) {
        ls_error_set(errp, "the dm closed its COM1 socket");
        *eof = true;
        colo_side_watch_serial(s, false);
        return false;
    }
    return r != COLO_DRAIN_ERROR;
}

/* ---- control socket, events, signals ---- */

static json_t *colo_cmd_query_status(json_t *args, QmpSession *ss, void *opaque,
                                     GError **errp)
{
    ColoSide *s = opaque;
    ColoStatusInfo info = {
        .role = s->role,
        .state = s->state,
        .peer = s->opts->peer ? s->opts->peer : s->opts->listen,
        .interval_ms = s->opts->interval_ms,
    };
    json_t *r = colo_stats_status_json(s->stats, &info);

    json_object_set_new(r, "last-complete-epoch",
                        json_integer((json_int_t)s->last_epoch));
    if (!strcmp(s->role, "primary")) {
        json_object_set_new(
            r, "triggers",
            json_pack("{sI, sI, sI}", "periodic",
                      (json_int_t)s->triggered[COLO_TRIGGER_PERIODIC],
                      "request", (json_int_t)s->triggered[COLO_TRIGGER_REQUEST],
                      "output", (json_int_t)s->triggered[COLO_TRIGGER_OUTPUT]));
    }
    return r;
}

void colo_side_event(ColoSide *s, const char *name, json_t *data)
{
    g_autofree char *text = data ? qmp_json_dumps(data) : g_strdup("{}");

    g_autoptr(GDateTime) now = g_date_time_new_now_utc();
    g_autofree char *ts = g_date_time_format(now, "%H:%M:%S.%f");

    fprintf(stderr, "lockstep colo %s %s: %s %s\n", s->role, ts, name, text);
    if (s->ctl) {
        qmp_server_emit(s->ctl, name, data);
    } else if (data) {
        json_decref(data);
    }
}

static gboolean colo_side_signal_cb(gpointer opaque)
{
    ColoSide *s = opaque;

    if (s->on_signal) {
        s->on_signal(s);
    } else {
        colo_side_quit(s, COLO_EXIT_OK);
    }
    return G_SOURCE_CONTINUE;
}

static bool colo_side_open_extras(ColoSide *s, GError **errp)
{
    const ColoOptions *o = s->opts;

    s->stats = colo_stats_new(0);
    if (o->stats && !colo_stats_set_output(s->stats, o->stats, errp)) {
        return false;
    }
    s->cmds = qmp_commands_new();
    qmp_commands_add(s->cmds, "query-colo-status", colo_cmd_query_status, NULL,
                     0, s);
    if (o->control) {
        g_autofree char *spec =
            g_strdup_printf("%s,server=on,wait=off", o->control);
        s->ctl = qmp_server_new(s->cmds, NULL, "lockstep colo");
        if (!g_str_has_prefix(o->control, "unix:") ||
            !qmp_server_add(s->ctl, spec, errp)) {
            if (errp && !*errp) {
                ls_error_set(errp, "--control wants unix:PATH");
            }
            return false;
        }
    }
    if (o->metrics) {
        s->metrics = colo_metrics_server_new(
            o->metrics, NULL, colo_stats_render_metrics, s->stats, errp);
        if (!s->metrics) {
            return false;
        }
    }
    return true;
}

bool colo_side_init(ColoSide *s, const ColoOptions *o, const char *role,
                    GError **errp)
{
    s->opts = o;
    s->role = role;
    s->state = "starting";
    s->serial_fd = -1;
    s->exit_status = COLO_EXIT_OK;
    signal(SIGPIPE, SIG_IGN);
    /* A side runs for months and sees large transient buffers (a control
       client's input up to QMP_MAX_MESSAGE, unread output up to
       QMP_MAX_OUTPUT). With glibc's dynamic threshold, the first such
       buffer freed moves the next ones from mmap into the heap, where
       they fragment it and its RSS creeps up (make soak). A fixed
       threshold keeps them mmapped, returned to the system when freed. */
    mallopt(M_MMAP_THRESHOLD, COLO_SIDE_MMAP_THRESHOLD);
    s->loop = g_main_loop_new(NULL, FALSE);
    s->sig_ids[0] = g_unix_signal_add(SIGTERM, colo_side_signal_cb, s);
    s->sig_ids[1] = g_unix_signal_add(SIGINT, colo_side_signal_cb, s);
    if (!colo_side_open_extras(s, errp)) {
        return false;
    }
    s->dm = colo_dm_connect(o->qmp, (int)o->qmp_timeout_ms, errp);
    if (!s->dm) {
        return false;
    }
    if (o->dm_serial) {
        s->serial_fd = colo_unix_connect(o->dm_serial, errp);
        if (s->serial_fd < 0) {
            return false;
        }
    }
    return true;
}

bool colo_side_check_ram(ColoSide *s, GError **errp)
{
    uint64_t size = colo_dm_ram_size(s->dm);

    if (size > COLO_PROTO_MAX_RAM_SIZE) {
        ls_error_set(errp,
                     "the dm has %" PRIu64 " MiB of guest RAM; the "
                     "coordinator carries at most %u MiB "
                     "(COLO_PROTO_MAX_RAM_SIZE)",
                     size >> 20, COLO_PROTO_MAX_RAM_SIZE >> 20);
        return false;
    }
    return true;
}

void colo_side_cleanup(ColoSide *s)
{
    for (size_t i = 0; i < G_N_ELEMENTS(s->sig_ids); i++) {
        if (s->sig_ids[i]) {
            g_source_remove(s->sig_ids[i]);
        }
    }
    colo_side_watch_serial(s, false);
    if (s->serial_fd >= 0) {
        close(s->serial_fd);
    }
    colo_outbuf_free(s->ob);
    colo_dm_free(s->dm);
    colo_metrics_server_free(s->metrics);
    if (s->ctl) {
        qmp_server_flush(s->ctl, 200);
        qmp_server_free(s->ctl);
    }
    qmp_commands_free(s->cmds);
    colo_stats_free(s->stats);
    if (s->loop) {
        g_main_loop_unref(s->loop);
    }
}

int colo_side_run(ColoSide *s)
{
    g_main_loop_run(s->loop);
    return s->exit_status;
}

void colo_side_quit(ColoSide *s, int status)
{
    s->exit_status = status;
    g_main_loop_quit(s->loop);
}
