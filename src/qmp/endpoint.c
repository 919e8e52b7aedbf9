/*
 * QMP socket endpoints: spec parsing and socket setup (see endpoint.h).
 * Error texts follow QEMU's where it has one ("Failed to bind socket to
 * PATH: ...", "Failed to connect to 'PATH': ...").
 */
#include "qmp/endpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/error.h"
#include "base/unix-socket.h"
#include "qmp/qmp-internal.h"

/* Splits on ',' where ",," stands for a literal comma (QemuOpts). */
static GPtrArray *qmp_ep_split(const char *spec)
{
    GPtrArray *items = g_ptr_array_new_with_free_func(g_free);
    GString *cur = g_string_new(NULL);

    for (const char *p = spec; *p; p++) {
        if (*p == ',' && p[1] == ',') {
            g_string_append_c(cur, ',');
            p++;
        } else if (*p == ',') {
            g_ptr_array_add(items, g_string_free(cur, FALSE));
            cur = g_string_new(NULL);
        } else {
            g_string_append_c(cur, *p);
        }
    }
    g_ptr_array_add(items, g_string_free(cur, FALSE));
    return items;
}

static bool qmp_ep_bool(const char *key, const char *val, bool *out,
                        GError **errp)
{
    if (!val || !strcmp(val, "on") || !strcmp(val, "yes") ||
        !strcmp(val, "true")) {
        *out = true;
    } else if (!strcmp(val, "off") || !strcmp(val, "no") ||
               !strcmp(val, "false")) {
        *out = false;
    } else {
        ls_error_set(errp, "Parameter '%s' expects 'on' or 'off'", key);
        return false;
    }
    return true;
}

static bool qmp_ep_fd(const char *s, QmpEndpoint *ep, GError **errp)
{
    char *end = NULL;
    long v = strtol(s, &end, 10);

    if (!*s || *end || v < 0 || v > INT_MAX) {
        ls_error_set(errp, "Invalid file descriptor '%s'", s);
        return false;
    }
    ep->kind = QMP_EP_FD;
    ep->fd = (int)v;
    ep->fd_given = true;
    return true;
}

static bool qmp_ep_hostport(const char *s, QmpEndpoint *ep, GError **errp)
{
    const char *colon;

    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':') {
            ls_error_set(errp, "Invalid address '%s'", s);
            return false;
        }
        ep->host = g_strndup(s + 1, close - s - 1);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon) {
            ls_error_set(errp, "Invalid address '%s': expected HOST:PORT", s);
            return false;
        }
        ep->host = g_strndup(s, colon - s);
    }
    ep->port = g_strdup(colon + 1);
    ep->kind = QMP_EP_TCP;
    if (!*ep->port) {
        ls_error_set(errp, "Invalid address '%s': port missing", s);
        return false;
    }
    return true;
}

static bool qmp_ep_key(const char *item, QmpEndpoint *ep, GError **errp)
{
    g_autofree char *key = g_strdup(item);
    char *val = strchr(key, '=');

    if (val) {
        *val++ = '\0';
    }
    if (!strcmp(key, "path") && val) {
        ep->kind = QMP_EP_UNIX;
        g_free(ep->path);
        ep->path = g_strdup(val);
    } else if (!strcmp(key, "host") && val) {
        ep->kind = QMP_EP_TCP;
        g_free(ep->host);
        ep->host = g_strdup(val);
    } else if (!strcmp(key, "port") && val) {
        ep->kind = QMP_EP_TCP;
        g_free(ep->port);
        ep->port = g_strdup(val);
    } else if (!strcmp(key, "fd") && val) {
        return qmp_ep_fd(val, ep, errp);
    } else if (!strcmp(key, "server")) {
        return qmp_ep_bool(key, val, &ep->server, errp);
    } else if (!strcmp(key, "wait")) {
        return qmp_ep_bool(key, val, &ep->wait, errp);
    } else if (!strcmp(key, "nowait") && !val) {
        ep->wait = false;
    } else if (strcmp(key, "id") && strcmp(key, "ipv4") &&
               strcmp(key, "ipv6") && strcmp(key, "nodelay")) {
        ls_error_set(errp, "Invalid parameter '%s'", key);
        return false;
    }
    return true;
}

bool qmp_endpoint_parse(const char *spec, QmpEndpoint *ep, GError **errp)
{
    g_autoptr(GPtrArray) items = qmp_ep_split(spec);
    const char *first = g_ptr_array_index(items, 0);
    guint i = 1;
    bool ok = true;

    memset(ep, 0, sizeof(*ep));
    ep->kind = -1;
    ep->fd = -1;
    if (g_str_has_prefix(first, "unix:")) {
        ep->kind = QMP_EP_UNIX;
        ep->path = g_strdup(first + 5);
    } else if (g_str_has_prefix(first, "tcp:")) {
        ok = qmp_ep_hostport(first + 4, ep, errp);
    } else if (g_str_has_prefix(first, "fd:")) {
        ok = qmp_ep_fd(first + 3, ep, errp);
    } else {
        i = 0;
    }
    for (; ok && i < items->len; i++) {
        ok = qmp_ep_key(g_ptr_array_index(items, i), ep, errp);
    }
    if (ok && ((int)ep->kind < 0 || (ep->kind == QMP_EP_UNIX && !*ep->path) ||
               (ep->kind == QMP_EP_TCP && (!ep->host || !ep->port)))) {
        ls_error_set(errp, "Invalid QMP endpoint '%s'", spec);
        ok = false;
    }
    return ok;
}

void qmp_endpoint_clear(QmpEndpoint *ep)
{
    g_free(ep->path);
    g_free(ep->host);
    g_free(ep->port);
    ls_unix_bound_release(ep->bound);
    memset(ep, 0, sizeof(*ep));
}

static int qmp_ep_tcp_try(const struct addrinfo *ai, bool server)
{
    int one = 1;
    int fd =
        socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);

    if (fd < 0) {
        return -1;
    }
    if (server) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
            listen(fd, QMP_LISTEN_BACKLOG) == 0) {
            return fd;
        }
    } else if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
        setsockopt(fd, IPPROTO_TCP, 1 /* TCP_NODELAY */, &one, sizeof(one));
        return fd;
    }
    close(fd);
    return -1;
}

static int qmp_ep_tcp(const QmpEndpoint *ep, bool server, GError **errp)
{
    struct addrinfo hints = {0};
    struct addrinfo *res = NULL;
    int fd = -1;
    int rc;
    int saved = 0;

    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = server ? AI_PASSIVE : 0;
    rc = getaddrinfo(*ep->host ? ep->host : NULL, ep->port, &hints, &res);
    if (rc != 0) {
        ls_error_set(errp, "address resolution failed for %s:%s: %s", ep->host,
                     ep->port, gai_strerror(rc));
        return -1;
    }
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = qmp_ep_tcp_try(ai, server);
        saved = errno;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        ls_error_set(errp, "Failed to %s %s:%s: %s",
                     server ? "listen on" : "connect to", ep->host, ep->port,
                     g_strerror(saved));
    }
    return fd;
}

int qmp_endpoint_connect(const QmpEndpoint *ep, GError **errp)
{
    switch (ep->kind) {
    case QMP_EP_UNIX:
        return ls_unix_connect(ep->path, false, errp);
    case QMP_EP_TCP:
        return qmp_ep_tcp(ep, false, errp);
    default:
        ls_error_set(errp, "Cannot connect to an fd endpoint");
        return -1;
    }
}

static int qmp_ep_take_fd(QmpEndpoint *ep, GError **errp)
{
    int listening = 0;
    socklen_t len = sizeof(listening);

    if (fcntl(ep->fd, F_GETFD) < 0 ||
        getsockopt(ep->fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0) {
        ls_error_set(errp, "File descriptor %d is not a socket: %s", ep->fd,
                     g_strerror(errno));
        return -1;
    }
    ep->listening = listening != 0;
    fcntl(ep->fd, F_SETFD, FD_CLOEXEC);
    return ep->fd;
}

int qmp_endpoint_open(QmpEndpoint *ep, GError **errp)
{
    int fd;

    if (ep->kind == QMP_EP_FD) {
        fd = qmp_ep_take_fd(ep, errp);
    } else if (ep->server) {
        fd = ep->kind == QMP_EP_UNIX
                 ? ls_unix_listen(ep->path, QMP_LISTEN_BACKLOG, true,
                                  &ep->bound, errp)
                 : qmp_ep_tcp(ep, true, errp);
        ep->listening = true;
    } else {
        fd = qmp_endpoint_connect(ep, errp);
        ep->listening = false;
    }
    if (fd >= 0) {
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    }
    return fd;
}
