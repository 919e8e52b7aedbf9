/*
 * Socket endpoints for QMP monitors: the -qmp SPEC form and the
 * -chardev socket form, both ending in a DmSockSpec. Covers unix, tcp and
 * inherited listening fds; server (listen) or client (connect out, as
 * libqtest launches its QEMU). wait=on is accepted and ignored: the daemon
 * never blocks for a client.
 */
#include "dm/options.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/log.h"
#include "dm/options-kv.h"

void dm_sock_spec_free(DmSockSpec *s)
{
    if (!s) {
        return;
    }
    g_free(s->path);
    g_free(s->host);
    g_free(s->port);
    g_free(s);
}

char *dm_sock_spec_str(const DmSockSpec *s)
{
    const char *tail =
        s->server ? (s->wait ? ",server=on,wait=on" : ",server=on,wait=off")
                  : "";
    g_autofree char *path = NULL;

    switch (s->kind) {
    case DM_SOCK_UNIX:
        path = ls_opts_escape(s->path);
        return g_strdup_printf("unix:%s%s", path, tail);
    case DM_SOCK_TCP:
        return g_strdup_printf(strchr(s->host, ':') ? "tcp:[%s]:%s%s"
                                                    : "tcp:%s:%s%s",
                               s->host, s->port, tail);
    case DM_SOCK_FD:
        return g_strdup_printf("fd:%d", s->fd); /* listening already */
    }
    return g_strdup("?");
}

static bool dm_sock_parse_fd(const char *opt, const char *str, int *fd,
                             GError **errp)
{
    char *end = NULL;
    long v = strtol(str, &end, 10);

    if (!*str || *end || v < 0 || v > 65535) {
        ls_error_set(errp, "%s: invalid file descriptor '%s'", opt, str);
        return false;
    }
    *fd = (int)v;
    return true;
}

/* "HOST:PORT" or "[V6]:PORT"; an empty host means any address. */
static bool dm_sock_parse_hostport(const char *opt, const char *str,
                                   DmSockSpec *out, GError **errp)
{
    const char *colon = strrchr(str, ':');
    g_autofree char *host = NULL;

    if (!colon || !colon[1]) {
        ls_error_set(errp, "%s: host and port expected in '%s'", opt, str);
        return false;
    }
    host = g_strndup(str, colon - str);
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
        char *inner = g_strndup(host + 1, strlen(host) - 2);

        g_free(host);
        host = inner;
    }
    out->host = g_strdup(host[0] ? host : "0.0.0.0");
    out->port = g_strdup(colon + 1);
    return true;
}

static bool dm_sock_is_loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;

    return !strcmp(host, "localhost") ||
           (inet_pton(AF_INET, host, &a4) == 1 &&
            (ntohl(a4.s_addr) >> 24) == 127) ||
           (inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6));
}

/* QMP has no authentication: whoever reaches a tcp listener controls the
   dm. Said at start, as the user may not mean it. */
static void dm_sock_warn_exposed(const char *opt, const DmSockSpec *s)
{
    if (s->kind == DM_SOCK_TCP && s->server && !dm_sock_is_loopback(s->host)) {
        ls_warn("%s: QMP listens on %s beyond loopback; anyone who "
                "can reach it controls this process (QMP has no "
                "authentication; see docs/security.md)",
                opt, s->host);
    }
}

static bool dm_sock_parse_flags(const char *opt, GPtrArray *kv, DmSockSpec *out,
                                GError **errp)
{
    if (!ls_opts_server_wait(kv, opt, &out->server, &out->wait, errp)) {
        return false;
    }
    dm_sock_warn_exposed(opt, out);
    return true;
}

bool dm_sock_spec_parse(const char *opt, const char *spec, DmSockSpec *out,
                        GError **errp)
{
    static const char *const keys[] = {"addr", "server", "wait", "nowait",
                                       NULL};
    g_autoptr(GPtrArray) kv = ls_opts_split(spec, "addr");
    const char *addr = ls_opts_get(kv, "addr");

    memset(out, 0, sizeof(*out));
    out->fd = -1;
    if (!ls_opts_check_keys(kv, opt, keys, errp)) {
        return false;
    }
    if (addr && g_str_has_prefix(addr, "unix:") && addr[5]) {
        out->kind = DM_SOCK_UNIX;
        out->path = g_strdup(addr + 5);
    } else if (addr && g_str_has_prefix(addr, "tcp:")) {
        out->kind = DM_SOCK_TCP;
        if (!dm_sock_parse_hostport(opt, addr + 4, out, errp)) {
            return false;
        }
    } else if (addr && g_str_has_prefix(addr, "fd:")) {
        out->kind = DM_SOCK_FD;
        if (!dm_sock_parse_fd(opt, addr + 3, &out->fd, errp)) {
            return false;
        }
    } else {
        ls_error_set(errp,
                     "%s: '%s' is not a valid char driver (expected "
                     "unix:PATH, tcp:HOST:PORT or fd:N)",
                     opt, addr ? addr : "");
        return false;
    }
    return dm_sock_parse_flags(opt, kv, out, errp);
}

/* -chardev socket,id=ID,(path=P | host=H,port=N | fd=N)[,server..][,wait..] */
bool dm_sock_spec_from_chardev(const char *opt, GPtrArray *kv, DmSockSpec *out,
                               GError **errp)
{
    const char *path = ls_opts_get(kv, "path");
    const char *port = ls_opts_get(kv, "port");
    const char *fd = ls_opts_get(kv, "fd");

    memset(out, 0, sizeof(*out));
    out->fd = -1;
    if ((path != NULL) + (port != NULL) + (fd != NULL) != 1) {
        ls_error_set(errp,
                     "%s: exactly one of 'path', 'host'/'port' or "
                     "'fd' is required",
                     opt);
        return false;
    }
    if (path) {
        out->kind = DM_SOCK_UNIX;
        out->path = g_strdup(path);
    } else if (port) {
        const char *host = ls_opts_get(kv, "host");

        out->kind = DM_SOCK_TCP;
        out->host = g_strdup(host && host[0] ? host : "0.0.0.0");
        out->port = g_strdup(port);
    } else {
        out->kind = DM_SOCK_FD;
        if (!dm_sock_parse_fd(opt, fd, &out->fd, errp)) {
            return false;
        }
    }
    return dm_sock_parse_flags(opt, kv, out, errp);
}
