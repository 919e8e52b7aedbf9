/*
 * The synchronous QMP client (see client.h): one socket, blocking waits
 * bounded by poll() timeouts, requests numbered by an integer "id",
 * replies matched by it, events queued (at most QMP_CLIENT_MAX_EVENTS,
 * oldest dropped). Server output is framed with the same JSON stream as
 * the server's input, so it accepts QEMU's replies too.
 *
 * Leaves out: OOB, asynchronous use, reconnecting.
 */
#include "qmp/client.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/error.h"
#include "qmp/endpoint.h"
#include "qmp/json-stream.h"
#include "qmp/qmp.h"

#define QMP_CLIENT_DEFAULT_TIMEOUT_MS 5000

struct QmpClient {
    int fd;
    int timeout_ms;
    json_t *greeting;
    QmpJsonStream *in;
    GQueue events;  /* json_t * */
    GQueue replies; /* json_t *, non-event messages not yet claimed */
    json_int_t next_id;
    bool broken;
};

static void qmp_client_broken(QmpClient *c, GError **errp, const char *what)
{
    c->broken = true;
    ls_error_set(errp, "QMP client: %s", what);
}

/* Reads once (waiting until `deadline`, monotonic us); false on timeout
   (errp unset) or failure (errp set). */
static bool qmp_client_fill(QmpClient *c, gint64 deadline, GError **errp)
{
    char buf[65536];
    struct pollfd pfd = {c->fd, POLLIN, 0};
    gint64 left = (deadline - g_get_monotonic_time()) / 1000;
    int rc;
    ssize_t n;

    rc = poll(&pfd, 1, left > 0 ? (int)left : 0);
    if (rc < 0 && errno == EINTR) {
        return true;
    }
    if (rc <= 0) {
        if (rc < 0) {
            qmp_client_broken(c, errp, g_strerror(errno));
        }
        return false;
    }
    n = recv(c->fd, buf, sizeof(buf), 0);
    if (n <= 0) {
        qmp_client_broken(c, errp,
                          n == 0 ? "connection closed by server"
                                 : g_strerror(errno));
        return false;
    }
    qmp_json_stream_feed(c->in, buf, (size_t)n);
    return true;
}

/* The next message from the server, or NULL (timeout: errp unset). */
static json_t *qmp_client_recv(QmpClient *c, gint64 deadline, GError **errp)
{
    for (;;) {
        json_t *v = NULL;
        GError *err = NULL;
        if (c->broken) {
            ls_error_set(errp, "QMP client: connection unusable");
            return NULL;
        }
        if (qmp_json_stream_next(c->in, &v, &err)) {
            if (v) {
                return v;
            }
            qmp_client_broken(c, errp, err->message);
            g_error_free(err);
            return NULL;
        }
        if (!qmp_client_fill(c, deadline, errp)) {
            return NULL;
        }
    }
}

static void qmp_client_queue_event(QmpClient *c, json_t *ev)
{
    if (g_queue_get_length(&c->events) >= QMP_CLIENT_MAX_EVENTS) {
        json_decref(g_queue_pop_head(&c->events));
    }
    g_queue_push_tail(&c->events, ev);
}

/* The next non-event message; events met on the way are queued. */
static json_t *qmp_client_next_reply(QmpClient *c, gint64 deadline,
                                     GError **errp)
{
    json_t *v;

    if (!g_queue_is_empty(&c->replies)) {
        return g_queue_pop_head(&c->replies);
    }
    while ((v = qmp_client_recv(c, deadline, errp))) {
        if (!json_object_get(v, "event")) {
            return v;
        }
        qmp_client_queue_event(c, v);
    }
    return NULL;
}

static gint64 qmp_client_deadline(const QmpClient *c)
{
    return g_get_monotonic_time() + (gint64)c->timeout_ms * 1000;
}

static bool qmp_client_send(QmpClient *c, const char *buf, size_t len, int fd,
                            GError **errp)
{
    char ctl[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {(void *)buf, len};
    struct msghdr msg = {0};

    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (fd >= 0) {
        struct cmsghdr *cm;
        memset(ctl, 0, sizeof(ctl));
        msg.msg_control = ctl;
        msg.msg_controllen = sizeof(ctl);
        cm = CMSG_FIRSTHDR(&msg);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &fd, sizeof(int));
    }
    while (iov.iov_len > 0) {
        ssize_t n = sendmsg(c->fd, &msg, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            qmp_client_broken(c, errp, g_strerror(errno));
            return false;
        }
        iov.iov_base = (char *)iov.iov_base + n;
        iov.iov_len -= (size_t)n;
        msg.msg_control = NULL; /* the fd goes with the first byte */
        msg.msg_controllen = 0;
    }
    return true;
}

bool qmp_client_send_raw(QmpClient *c, const void *buf, size_t len,
                         GError **errp)
{
    return qmp_client_send(c, buf, len, -1, errp);
}

bool qmp_client_usable(const QmpClient *c)
{
    return !c->broken;
}

int qmp_client_fd(const QmpClient *c)
{
    return c->fd;
}

json_t *qmp_client_recv_reply(QmpClient *c, GError **errp)
{
    GError *err = NULL;
    json_t *v = qmp_client_next_reply(c, qmp_client_deadline(c), &err);

    if (!v && !err) {
        c->broken = true; /* a late reply would answer the next request */
        ls_error_set(&err, "QMP client: timed out waiting for a reply");
    }
    if (err) {
        g_propagate_error(errp, err);
    }
    return v;
}

/* Turns a reply into the "return" value or an error. */
static json_t *qmp_client_result(json_t *rsp, GError **errp)
{
    json_t *ret = json_object_get(rsp, "return");
    json_t *e = json_object_get(rsp, "error");

    if (ret) {
        return json_incref(ret);
    }
    g_set_error(errp, LS_ERROR,
                ls_error_code_from_class(
                    json_string_value(json_object_get(e, "class"))),
                "%s",
                e ? json_string_value(json_object_get(e, "desc"))
                        ?: "(no description)"
                  : "malformed reply");
    return NULL;
}

json_t *qmp_client_execute(QmpClient *c, const char *cmd, json_t *args, int fd,
                           GError **errp)
{
    json_int_t id = ++c->next_id;
    json_t *req = json_pack("{ss}", "execute", cmd);
    g_autofree char *text = NULL;
    gint64 deadline = qmp_client_deadline(c);
    GError *err = NULL;
    json_t *rsp;
    json_t *ret = NULL;

    if (args) {
        json_object_set_new(req, "arguments", args);
    }
    json_object_set_new(req, "id", json_integer(id));
    text = qmp_json_dumps(req);
    json_decref(req);
    text = g_realloc(text, strlen(text) + 3);
    strcat(text, "\r\n");
    if (!qmp_client_send(c, text, strlen(text), fd, errp)) {
        return NULL;
    }
    while ((rsp = qmp_client_next_reply(c, deadline, &err))) {
        json_t *rid = json_object_get(rsp, "id");
        if (json_is_integer(rid) && json_integer_value(rid) == id) {
            ret = qmp_client_result(rsp, errp);
            json_decref(rsp);
            return ret;
        }
        json_decref(rsp); /* a reply to somebody else's request */
    }
    if (!err) {
        c->broken = true;
        ls_error_set(&err,
                     "QMP client: timed out waiting for the reply "
                     "to '%s'",
                     cmd);
    }
    g_propagate_error(errp, err);
    return NULL;
}

json_t *qmp_client_next_event(QmpClient *c, int timeout_ms, GError **errp)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    json_t *v;

    while (g_queue_is_empty(&c->events)) {
        v = qmp_client_recv(c, deadline, errp);
        if (!v) {
            return NULL;
        }
        if (json_object_get(v, "event")) {
            return v;
        }
        g_queue_push_tail(&c->replies, v);
    }
    return g_queue_pop_head(&c->events);
}

json_t *qmp_client_greeting(QmpClient *c)
{
    return c->greeting;
}

static bool qmp_client_start(QmpClient *c, unsigned flags, GError **errp)
{
    GError *err = NULL;
    json_t *ret;

    c->greeting = qmp_client_recv(c, qmp_client_deadline(c), &err);
    if (!c->greeting || !json_object_get(c->greeting, "QMP")) {
        if (!err) {
            ls_error_set(&err, "QMP client: no greeting from the server");
        }
        g_propagate_error(errp, err);
        return false;
    }
    if (flags & QMP_CLIENT_NO_NEGOTIATE) {
        return true;
    }
    ret = qmp_client_execute(c, "qmp_capabilities", NULL, -1, errp);
    json_decref(ret);
    return ret != NULL;
}

QmpClient *qmp_client_connect(const char *addr, unsigned flags, int timeout_ms,
                              GError **errp)
{
    QmpEndpoint ep;
    QmpClient *c;
    int fd;

    if (!qmp_endpoint_parse(addr, &ep, errp)) {
        qmp_endpoint_clear(&ep);
        return NULL;
    }
    fd = qmp_endpoint_connect(&ep, errp);
    qmp_endpoint_clear(&ep);
    if (fd < 0) {
        return NULL;
    }
    c = g_new0(QmpClient, 1);
    c->fd = fd;
    c->timeout_ms = timeout_ms > 0 ? timeout_ms : QMP_CLIENT_DEFAULT_TIMEOUT_MS;
    c->in = qmp_json_stream_new();
    g_queue_init(&c->events);
    g_queue_init(&c->replies);
    if (!qmp_client_start(c, flags, errp)) {
        qmp_client_free(c);
        return NULL;
    }
    return c;
}

void qmp_client_free(QmpClient *c)
{
    if (!c) {
        return;
    }
    close(c->fd);
    json_decref(c->greeting);
    qmp_json_stream_free(c->in);
    g_queue_clear_full(&c->events, (GDestroyNotify)json_decref);
    g_queue_clear_full(&c->replies, (GDestroyNotify)json_decref);
    g_free(c);
}
