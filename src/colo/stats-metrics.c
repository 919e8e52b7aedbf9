/*
 * COLO metrics: the Prometheus text exposition format (version 0.0.4, as
 * documented at prometheus.io/docs/instrumenting/exposition_formats) and a
 * tiny HTTP/1.0 listener serving it on GET /metrics (see stats.h).
 *
 * Times are exported in seconds (Prometheus base units) from whole
 * microseconds, printed exactly as decimal fractions. A summary whose
 * window is empty reports NaN quantiles, as Prometheus client libraries do.
 */
#include "colo/stats.h"

#include <errno.h>
#include <glib-unix.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/error.h"
#include "base/log.h"
#include "qmp/endpoint.h"

/* ------------------------------------------------------------ the text */

static void colo_prom_family(GString *t, const char *name, const char *type,
                             const char *help)
{
    g_string_append_printf(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
                           type);
}

static void colo_prom_uint(GString *t, const char *name, const char *type,
                           const char *help, uint64_t v)
{
    colo_prom_family(t, name, type, help);
    g_string_append_printf(t, "%s %" G_GUINT64_FORMAT "\n", name, v);
}

/* Microseconds as exact decimal seconds. */
static void colo_prom_seconds(GString *t, uint64_t us)
{
    g_string_append_printf(t, "%" G_GUINT64_FORMAT ".%06" G_GUINT64_FORMAT,
                           us / 1000000, us % 1000000);
}

/* One summary's samples; `label` is "" or `phase="x"`. */
static void colo_prom_summary(GString *t, const char *name, const char *label,
                              const ColoStatsDist *d, uint64_t count)
{
    g_autofree char *braces =
        *label ? g_strdup_printf("{%s}", label) : g_strdup("");
    const uint64_t qv[] = {d->p50, d->p99};
    const char *const qn[] = {"0.5", "0.99"};

    for (size_t i = 0; i < G_N_ELEMENTS(qv); i++) {
        g_string_append_printf(t, "%s{%s%squantile=\"%s\"} ", name, label,
                               *label ? "," : "", qn[i]);
        if (d->count == 0) {
            g_string_append(t, "NaN");
        } else {
            colo_prom_seconds(t, qv[i]);
        }
        g_string_append_c(t, '\n');
    }
    g_string_append_printf(t, "%s_sum%s ", name, braces);
    colo_prom_seconds(t, d->sum);
    g_string_append_printf(t, "\n%s_count%s %" G_GUINT64_FORMAT "\n", name,
                           braces, count);
}

/* A summary of plain counts (pages, bytes) per checkpoint. */
static void colo_prom_count_summary(GString *t, const char *name,
                                    const char *help, const ColoStatsDist *d,
                                    uint64_t count)
{
    colo_prom_family(t, name, "summary", help);
    if (d->count == 0) {
        g_string_append_printf(t,
                               "%s{quantile=\"0.5\"} NaN\n"
                               "%s{quantile=\"0.99\"} NaN\n",
                               name, name);
    } else {
        g_string_append_printf(t,
                               "%s{quantile=\"0.5\"} %" G_GUINT64_FORMAT
                               "\n%s{quantile=\"0.99\"} %" G_GUINT64_FORMAT
                               "\n",
                               name, d->p50, name, d->p99);
    }
    g_string_append_printf(t,
                           "%s_sum %" G_GUINT64_FORMAT "\n%s_count "
                           "%" G_GUINT64_FORMAT "\n",
                           name, d->sum, name, count);
}

static void colo_prom_ram(GString *t, const ColoStatsSummary *s)
{
    colo_prom_uint(t, "lockstep_colo_ram_pages_total", "counter",
                   "RAM pages sent by successful checkpoints.", s->ram_pages);
    colo_prom_uint(t, "lockstep_colo_ram_bytes_total", "counter",
                   "RAM stream bytes sent by successful checkpoints.",
                   s->ram_bytes);
    colo_prom_uint(t, "lockstep_colo_ram_full_checkpoints_total", "counter",
                   "Successful checkpoints that carried all of RAM.",
                   s->ram_full);
    colo_prom_count_summary(t, "lockstep_colo_ram_pages_per_checkpoint",
                            "RAM pages sent per successful checkpoint "
                            "(quantiles over the recent window).",
                            &s->ram_pages_per, s->ok_checkpoints);
    colo_prom_count_summary(t, "lockstep_colo_ram_bytes_per_checkpoint",
                            "RAM stream bytes sent per successful checkpoint "
                            "(quantiles over the recent window).",
                            &s->ram_bytes_per, s->ok_checkpoints);
}

static void colo_prom_times(GString *t, const ColoStatsSummary *s)
{
    colo_prom_family(t, "lockstep_colo_pause_seconds", "summary",
                     "Guest pause per successful checkpoint, stop request to "
                     "resumed (quantiles over the recent window).");
    colo_prom_summary(t, "lockstep_colo_pause_seconds", "", &s->pause,
                      s->ok_checkpoints);
    colo_prom_family(t, "lockstep_colo_phase_seconds", "summary",
                     "Duration of each checkpoint phase (quantiles over the "
                     "recent window).");
    for (int p = 0; p < COLO_PHASE_COUNT; p++) {
        g_autofree char *label =
            g_strdup_printf("phase=\"%s\"", colo_phase_name(p));
        colo_prom_summary(t, "lockstep_colo_phase_seconds", label, &s->phase[p],
                          s->ok_checkpoints);
    }
    colo_prom_family(t, "lockstep_colo_pause_max_seconds", "gauge",
                     "Longest checkpoint pause since start.");
    g_string_append(t, "lockstep_colo_pause_max_seconds ");
    colo_prom_seconds(t, s->pause.max);
    g_string_append_c(t, '\n');
}

char *colo_stats_prometheus(ColoStats *st)
{
    GString *t = g_string_new(NULL);
    ColoStatsSummary s;

    colo_stats_summary(st, &s);
    colo_prom_uint(t, "lockstep_colo_checkpoints_total", "counter",
                   "Checkpoints attempted.", s.checkpoints);
    colo_prom_uint(t, "lockstep_colo_checkpoint_failures_total", "counter",
                   "Checkpoints that failed.", s.failures);
    colo_prom_uint(t, "lockstep_colo_last_checkpoint", "gauge",
                   "Epoch of the last successful checkpoint.", s.last_ok_epoch);
    colo_prom_times(t, &s);
    colo_prom_uint(t, "lockstep_colo_devstate_bytes_total", "counter",
                   "Device-state bytes sent by successful checkpoints.",
                   s.devstate_bytes);
    colo_prom_ram(t, &s);
    colo_prom_uint(t, "lockstep_colo_output_held_bytes", "gauge",
                   "Console output bytes held now, waiting for a checkpoint.",
                   s.output_held_now);
    colo_prom_uint(t, "lockstep_colo_output_released_bytes_total", "counter",
                   "Console output bytes released to the sink.",
                   s.output_released);
    return g_string_free(t, FALSE);
}

char *colo_stats_render_metrics(void *stats)
{
    return colo_stats_prometheus(stats);
}

/* ------------------------------------------------------- the listener */

typedef struct ColoMetricsClient ColoMetricsClient;

struct ColoMetricsServer {
    int fd;
    int port;
    GMainContext *ctx;
    GSource *accept_src;
    GList *clients; /* ColoMetricsClient */
    GList *dead;    /* closed clients, freed by `reaper` */
    GSource *reaper;
    ColoMetricsRenderFn render;
    void *opaque;
    unsigned timeout_ms;
};

struct ColoMetricsClient {
    ColoMetricsServer *srv;
    int fd;
    GSource *io;
    GSource *timer;
    GString *req;  /* request head read so far */
    GString *resp; /* response; resp->len > 0 once answered */
    size_t sent;
};

static gboolean colo_metrics_client_io(gint fd, GIOCondition cond,
                                       gpointer data);

static void colo_metrics_drop_source(GSource **src)
{
    if (*src) {
        g_source_destroy(*src);
        g_source_unref(*src);
        *src = NULL;
    }
}

static void colo_metrics_client_free(gpointer data)
{
    ColoMetricsClient *c = data;

    g_string_free(c->req, TRUE);
    g_string_free(c->resp, TRUE);
    g_free(c);
}

static gboolean colo_metrics_reap(gpointer data)
{
    ColoMetricsServer *srv = data;

    g_list_free_full(srv->dead, colo_metrics_client_free);
    srv->dead = NULL;
    g_source_unref(srv->reaper);
    srv->reaper = NULL;
    return G_SOURCE_REMOVE;
}

/*
 * Ends a client. Safe from the client's own callbacks: its sources are
 * destroyed (GLib keeps them alive until the callback returns) and the
 * struct is freed later, from an idle callback (or by server_free).
 */
static void colo_metrics_client_close(ColoMetricsClient *c)
{
    ColoMetricsServer *srv = c->srv;

    colo_metrics_drop_source(&c->io);
    colo_metrics_drop_source(&c->timer);
    close(c->fd);
    srv->clients = g_list_remove(srv->clients, c);
    srv->dead = g_list_prepend(srv->dead, c);
    if (!srv->reaper) {
        srv->reaper = g_idle_source_new();
        g_source_set_callback(srv->reaper, colo_metrics_reap, srv, NULL);
        g_source_attach(srv->reaper, srv->ctx);
    }
}

static void colo_metrics_respond(ColoMetricsClient *c, int code,
                                 const char *reason, const char *type,
                                 const char *body)
{
    g_string_printf(c->resp,
                    "HTTP/1.0 %d %s\r\nContent-Type: %s\r\n"
                    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                    code, reason, type, strlen(body), body);
}

static void colo_metrics_error(ColoMetricsClient *c, int code,
                               const char *reason)
{
    g_autofree char *body = g_strdup_printf("%d %s\n", code, reason);

    colo_metrics_respond(c, code, reason, "text/plain; charset=utf-8", body);
}

/* Answers a complete request head ("METHOD SP TARGET SP HTTP/1.x"). */
static void colo_metrics_answer(ColoMetricsClient *c)
{
    g_autofree char *line =
        g_strndup(c->req->str, strcspn(c->req->str, "\r\n"));
    g_auto(GStrv) parts = g_strsplit(line, " ", -1);
    char *query;

    if (g_strv_length(parts) != 3 || !g_str_has_prefix(parts[2], "HTTP/1.") ||
        strlen(parts[2]) != 8 || parts[1][0] != '/') {
        colo_metrics_error(c, 400, "Bad Request");
        return;
    }
    if (strcmp(parts[0], "GET") != 0) {
        colo_metrics_error(c, 405, "Method Not Allowed");
        return;
    }
    query = strchr(parts[1], '?');
    if (query) {
        *query = '\0';
    }
    if (strcmp(parts[1], "/metrics") != 0) {
        colo_metrics_error(c, 404, "Not Found");
        return;
    }
    g_autofree char *text = c->srv->render(c->srv->opaque);
    colo_metrics_respond(c, 200, "OK",
                         "text/plain; version=0.0.4; charset=utf-8",
                         text ? text : "");
}

/*
 * Reads what is there; answers once the head is complete, too big or
 * malformed. False when the client should just be closed (EOF before a
 * complete head, read error).
 */
static bool colo_metrics_client_read(ColoMetricsClient *c)
{
    char buf[1024];
    ssize_t n;

    while ((n = read(c->fd, buf, sizeof(buf))) > 0) {
        size_t keep = MIN((size_t)n, COLO_METRICS_MAX_REQUEST - c->req->len);
        if (memchr(buf, '\0', n)) {
            colo_metrics_error(c, 400, "Bad Request");
            return true;
        }
        g_string_append_len(c->req, buf, keep);
        if (strstr(c->req->str, "\r\n\r\n") || strstr(c->req->str, "\n\n")) {
            colo_metrics_answer(c);
            return true;
        }
        if (c->req->len >= COLO_METRICS_MAX_REQUEST) {
            colo_metrics_error(c, 431, "Request Header Fields Too Large");
            return true;
        }
    }
    if (n == 0) {
        return false;
    }
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
}

static void colo_metrics_client_watch(ColoMetricsClient *c, GIOCondition cond)
{
    colo_metrics_drop_source(&c->io);
    c->io = g_unix_fd_source_new(c->fd, cond);
    g_source_set_callback(c->io, G_SOURCE_FUNC(colo_metrics_client_io), c,
                          NULL);
    g_source_attach(c->io, c->srv->ctx);
}

/* Sends the response; false once done or failed (close the client). */
static bool colo_metrics_client_write(ColoMetricsClient *c)
{
    while (c->sent < c->resp->len) {
        ssize_t n = send(c->fd, c->resp->str + c->sent, c->resp->len - c->sent,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            c->sent += n;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return true;
        } else if (!(n < 0 && errno == EINTR)) {
            return false;
        }
    }
    return false;
}

/* After the response: discard input until the client closes (so unread
   request bytes do not turn our close into a reset that eats the answer);
   the timeout bounds it. */
static bool colo_metrics_client_linger(ColoMetricsClient *c)
{
    char buf[1024];
    ssize_t n;

    while ((n = read(c->fd, buf, sizeof(buf))) > 0) {
    }
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
}

static gboolean colo_metrics_client_io(gint fd, GIOCondition cond,
                                       gpointer data)
{
    ColoMetricsClient *c = data;

    if (c->resp->len == 0) {
        if (!colo_metrics_client_read(c)) {
            colo_metrics_client_close(c);
        } else if (c->resp->len > 0) {
            colo_metrics_client_watch(c, G_IO_OUT);
        }
        return G_SOURCE_CONTINUE;
    }
    if (c->sent < c->resp->len) {
        if (!colo_metrics_client_write(c)) {
            shutdown(c->fd, SHUT_WR);
            colo_metrics_client_watch(c, G_IO_IN);
        }
        return G_SOURCE_CONTINUE;
    }
    if (!colo_metrics_client_linger(c)) {
        colo_metrics_client_close(c);
    }
    return G_SOURCE_CONTINUE;
}

static gboolean colo_metrics_client_timeout(gpointer data)
{
    ColoMetricsClient *c = data;

    colo_metrics_client_close(c);
    return G_SOURCE_REMOVE;
}

static void colo_metrics_client_new(ColoMetricsServer *srv, int fd)
{
    ColoMetricsClient *c = g_new0(ColoMetricsClient, 1);

    c->srv = srv;
    c->fd = fd;
    c->req = g_string_new(NULL);
    c->resp = g_string_new(NULL);
    c->timer = g_timeout_source_new(srv->timeout_ms);
    g_source_set_callback(c->timer, colo_metrics_client_timeout, c, NULL);
    g_source_attach(c->timer, srv->ctx);
    colo_metrics_client_watch(c, G_IO_IN);
    srv->clients = g_list_prepend(srv->clients, c);
}

static void colo_metrics_watch_accept(ColoMetricsServer *srv);

static gboolean colo_metrics_accept_resume(gpointer data)
{
    ColoMetricsServer *srv = data;

    g_source_unref(srv->accept_src);
    srv->accept_src = NULL;
    colo_metrics_watch_accept(srv);
    return G_SOURCE_REMOVE;
}

/* Out of fds (or memory): the listening fd stays readable, so stop
   watching it for a while instead of spinning. */
static void colo_metrics_accept_pause(ColoMetricsServer *srv, int err)
{
    ls_log_ratelimited("metrics: accept: %s; pausing %d ms", g_strerror(err),
                       COLO_METRICS_ACCEPT_PAUSE_MS);
    colo_metrics_drop_source(&srv->accept_src);
    srv->accept_src = g_timeout_source_new(COLO_METRICS_ACCEPT_PAUSE_MS);
    g_source_set_callback(srv->accept_src, colo_metrics_accept_resume, srv,
                          NULL);
    g_source_attach(srv->accept_src, srv->ctx);
}

static gboolean colo_metrics_accept(gint lfd, GIOCondition cond, gpointer data)
{
    ColoMetricsServer *srv = data;
    int fd;

    while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
        if (g_list_length(srv->clients) >= COLO_METRICS_MAX_CLIENTS) {
            ls_log_ratelimited("metrics: %d clients already, refusing one",
                               COLO_METRICS_MAX_CLIENTS);
            close(fd);
            continue;
        }
        colo_metrics_client_new(srv, fd);
    }
    if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
        errno == ENOMEM) {
        colo_metrics_accept_pause(srv, errno);
    }
    return G_SOURCE_CONTINUE;
}

static void colo_metrics_watch_accept(ColoMetricsServer *srv)
{
    srv->accept_src = g_unix_fd_source_new(srv->fd, G_IO_IN);
    g_source_set_callback(srv->accept_src, G_SOURCE_FUNC(colo_metrics_accept),
                          srv, NULL);
    g_source_attach(srv->accept_src, srv->ctx);
}

static int colo_metrics_listen(const char *spec, GError **errp)
{
    QmpEndpoint ep;
    int fd = -1;

    if (!qmp_endpoint_parse(spec, &ep, errp)) {
        qmp_endpoint_clear(&ep);
        return -1;
    }
    if (ep.kind != QMP_EP_TCP) {
        ls_error_set(errp, "Metrics address '%s' must be tcp:HOST:PORT", spec);
    } else {
        ep.server = true;
        fd = qmp_endpoint_open(&ep, errp);
    }
    qmp_endpoint_clear(&ep);
    return fd;
}

static int colo_metrics_port(int fd)
{
    struct sockaddr_storage ss = {0};
    socklen_t len = sizeof(ss);

    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
        return -1;
    }
    if (ss.ss_family == AF_INET) {
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    }
    if (ss.ss_family == AF_INET6) {
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    return -1;
}

ColoMetricsServer *colo_metrics_server_new(const char *spec, GMainContext *ctx,
                                           ColoMetricsRenderFn render,
                                           void *opaque, GError **errp)
{
    ColoMetricsServer *srv;
    int fd = colo_metrics_listen(spec, errp);

    if (fd < 0) {
        return NULL;
    }
    srv = g_new0(ColoMetricsServer, 1);
    srv->fd = fd;
    srv->port = colo_metrics_port(fd);
    srv->ctx = g_main_context_ref(ctx ? ctx : g_main_context_default());
    srv->render = render;
    srv->opaque = opaque;
    srv->timeout_ms = COLO_METRICS_TIMEOUT_MS;
    colo_metrics_watch_accept(srv);
    return srv;
}

void colo_metrics_server_free(ColoMetricsServer *srv)
{
    if (!srv) {
        return;
    }
    while (srv->clients) {
        colo_metrics_client_close(srv->clients->data);
    }
    colo_metrics_drop_source(&srv->reaper);
    g_list_free_full(srv->dead, colo_metrics_client_free);
    colo_metrics_drop_source(&srv->accept_src);
    close(srv->fd);
    g_main_context_unref(srv->ctx);
    g_free(srv);
}

int colo_metrics_server_port(const ColoMetricsServer *srv)
{
    return srv->port;
}

void colo_metrics_server_set_timeout(ColoMetricsServer *srv, unsigned ms)
{
    srv->timeout_ms = ms;
}
