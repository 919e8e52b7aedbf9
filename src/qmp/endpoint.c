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
#include "base/opts.h"
#include "base/unix-socket.h"
#include "qmp/qmp-internal.h"

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

/* "HOST:PORT" or "[V6]:PORT" (tcp:ADDR). */
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
    if (!*ep->port) {
        ls_error_set(errp, "Invalid address '%s': port missing", s);
        return false;
    }
    return true;
}

static bool qmp_ep_invalid(const char *spec, GError **errp)
{
    ls_error_set(errp, "Invalid QMP endpoint '%s'", spec);
    return false;
}

/* Exactly one of path | fd | addr (tcp:) | host+port. */
static bool qmp_ep_address(GPtrArray *opts, const char *spec, QmpEndpoint *ep,
                           GError **errp)
{
    const char *path = ls_opts_get(opts, "path");
    const char *fd = ls_opts_get(opts, "fd");
    const char *addr = ls_opts_get(opts, "addr");
    const char *host = ls_opts_get(opts, "host");
    const char *port = ls_opts_get(opts, "port");

    if ((path != NULL) + (fd != NULL) + (addr != NULL) +
            (host != NULL || port != NULL) !=
        1) {
        return qmp_ep_invalid(spec, errp);
    }
    if (path) {
        ep->kind = QMP_EP_UNIX;
        ep->path = g_strdup(path);
        return *path ? true : qmp_ep_invalid(spec, errp);
    }
    if (fd) {
        return qmp_ep_fd(fd, ep, errp);
    }
    ep->kind = QMP_EP_TCP;
    if (addr) {
        return qmp_ep_hostport(addr, ep, errp);
    }
    ep->host = g_strdup(host);
    ep->port = g_strdup(port);
    return host && port ? true : qmp_ep_invalid(spec, errp);
}

/* unix:PATH / tcp:ADDR / fd:N (the implied first key, as QEMU's legacy
   chardev syntax), or -chardev socket's keys; ",," is a comma. */
bool qmp_endpoint_parse(const char *spec, QmpEndpoint *ep, GError **errp)
{
    static const char *const keys[] = {
        "path",   "fd", "addr", "host", "port",    "server", "wait",
        "nowait", "id", "ipv4", "ipv6", "nodelay", NULL};
    static const struct {
        const char *prefix, *implied;
    } forms[] = {{"unix:", "path"}, {"tcp:", "addr"}, {"fd:", "fd"}};
    g_autoptr(GPtrArray) opts = NULL;
    const char *rest = spec, *implied = NULL;

    memset(ep, 0, sizeof(*ep));
    ep->fd = -1;
    for (size_t i = 0; i < G_N_ELEMENTS(forms); i++) {
        if (g_str_has_prefix(spec, forms[i].prefix)) {
            rest = spec + strlen(forms[i].prefix);
            implied = forms[i].implied;
            break;
        }
    }
    opts = ls_opts_split(rest, implied);
    if (!ls_opts_check_keys(opts, NULL, keys, errp) ||
        !ls_opts_server_wait(opts, NULL, &ep->server, &ep->wait, errp)) {
        return false;
    }
    return qmp_ep_address(opts, spec, ep, errp);
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
