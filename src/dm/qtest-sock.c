/*
 * The qtest socket layer: -qtest unix:PATH connects out (libqtest
 * listens), unix:PATH,server=on listens (wait=on blocks until a client
 * connects, at startup, as QEMU), one client at a time.
 *
 * Nothing here blocks the loop once it runs: the connection is
 * non-blocking; replies the client has not taken wait in q->out (QEMU's
 * qtest chardev writes them in full, blocking) and go out as the socket
 * accepts them. A client that lets more than DM_QTEST_MAX_OUTPUT bytes
 * pile up is dropped, as a QMP client is; it is closed from an idle
 * callback, never inside its own I/O.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib-unix.h>

#include "base/error.h"
#include "base/log.h"
#include "base/opts.h"
#include "dm/qtest-internal.h"

static void dm_qtest_attach(DmQtest *q, int conn);

static void dm_qtest_source_drop(GSource **src)
{
    if (*src) {
        g_source_destroy(*src);
        g_source_unref(*src);
        *src = NULL;
    }
}

static void dm_qtest_close_conn(DmQtest *q)
{
    dm_qtest_source_drop(&q->conn_src);
    dm_qtest_source_drop(&q->out_src);
    dm_qtest_source_drop(&q->drop_src);
    if (q->conn >= 0) {
        close(q->conn);
        q->conn = -1;
    }
    q->dropping = false;
    g_string_truncate(q->inbuf, 0);
    g_string_truncate(q->out, 0);
    q->out_off = 0;
    q->discarding = false;
    dm_qtest_log(q, 'I', "CLOSED\n");
    if (q->pending >= 0) {
        int next = q->pending;
        q->pending = -1;
        dm_qtest_attach(q, next);
    }
}

static gboolean dm_qtest_drop_cb(gpointer opaque)
{
    DmQtest *q = opaque;

    dm_qtest_close_conn(q); /* destroys this source: GLib holds a ref */
    return G_SOURCE_REMOVE;
}

/* Stops all I/O on the client now and closes it from an idle callback:
   this may run inside the client's own read callback or from a device's
   IRQ observer. */
static void dm_qtest_drop(DmQtest *q)
{
    if (q->dropping || q->conn < 0) {
        return;
    }
    q->dropping = true;
    dm_qtest_source_drop(&q->conn_src);
    dm_qtest_source_drop(&q->out_src);
    q->drop_src = g_idle_source_new();
    g_source_set_callback(q->drop_src, dm_qtest_drop_cb, q, NULL);
    g_source_attach(q->drop_src, NULL);
}

static gboolean dm_qtest_on_writable(gint fd, GIOCondition cond,
                                     gpointer opaque);

/* Writes what the socket takes now; waits for G_IO_OUT for the rest. */
static void dm_qtest_flush(DmQtest *q)
{
    while (!q->dropping && q->out_off < q->out->len) {
        ssize_t n = send(q->conn, q->out->str + q->out_off,
                         q->out->len - q->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        }
        if (n <= 0) {
            dm_qtest_drop(q); /* the client left */
            return;
        }
        q->out_off += (size_t)n;
    }
    if (q->out_off == q->out->len) {
        g_string_truncate(q->out, 0);
        q->out_off = 0;
    } else if (!q->out_src) {
        q->out_src = g_unix_fd_source_new(q->conn, G_IO_OUT | G_IO_ERR);
        g_source_set_callback(q->out_src, G_SOURCE_FUNC(dm_qtest_on_writable),
                              q, NULL);
        g_source_attach(q->out_src, NULL);
    }
}

static gboolean dm_qtest_on_writable(gint fd, GIOCondition cond,
                                     gpointer opaque)
{
    DmQtest *q = opaque;
    GSource *self = q->out_src;

    q->out_src = NULL; /* flush may arm a new one */
    dm_qtest_flush(q);
    g_source_unref(self);
    return G_SOURCE_REMOVE;
}

void dm_qtest_sock_send(DmQtest *q, const char *text)
{
    size_t len = strlen(text);

    if (q->conn < 0 || q->dropping) {
        return;
    }
    if (q->out->len - q->out_off + len > DM_QTEST_MAX_OUTPUT) {
        ls_warn("qtest: client is not reading its replies, dropping it");
        dm_qtest_drop(q);
        return;
    }
    if (q->out_off > 0 && q->out_off >= q->out->len / 2) {
        g_string_erase(q->out, 0, (gssize)q->out_off);
        q->out_off = 0;
    }
    g_string_append_len(q->out, text, (gssize)len);
    dm_qtest_flush(q);
}

/* Splits buffered input into lines and answers each. */
static void dm_qtest_consume(DmQtest *q)
{
    char *nl;

    while (!q->dropping &&
           (nl = memchr(q->inbuf->str, '\n', q->inbuf->len)) != NULL) {
        size_t n = (size_t)(nl - q->inbuf->str);
        g_autoptr(GString) reply = g_string_new(NULL);

        if (q->discarding) {
            q->discarding = false;
        } else {
            q->inbuf->str[n] = '\0';
            dm_qtest_process_line(q, q->inbuf->str, reply);
        }
        g_string_erase(q->inbuf, 0, (gssize)n + 1);
        dm_qtest_sock_send(q, reply->str);
    }
    if (!q->dropping && q->inbuf->len > DM_QTEST_MAX_LINE) {
        if (!q->discarding) {
            static const char too_long[] = "FAIL line longer than " G_STRINGIFY(
                DM_QTEST_MAX_LINE) " bytes\n";

            dm_qtest_log(q, 'S', too_long);
            dm_qtest_sock_send(q, too_long);
        }
        q->discarding = true;
        g_string_truncate(q->inbuf, 0);
    }
}

static gboolean dm_qtest_on_readable(gint fd, GIOCondition cond,
                                     gpointer opaque)
{
    DmQtest *q = opaque;
    char buf[1024];
    ssize_t n;

    do {
        n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        return G_SOURCE_CONTINUE;
    }
    if (n <= 0) {
        dm_qtest_drop(q);
        return G_SOURCE_REMOVE;
    }
    g_string_append_len(q->inbuf, buf, n);
    dm_qtest_consume(q);
    return G_SOURCE_CONTINUE;
}

static void dm_qtest_attach(DmQtest *q, int conn)
{
    g_unix_set_fd_nonblocking(conn, TRUE, NULL);
    q->conn = conn;
    q->conn_src = g_unix_fd_source_new(conn, G_IO_IN | G_IO_HUP | G_IO_ERR);
    g_source_set_callback(q->conn_src, G_SOURCE_FUNC(dm_qtest_on_readable), q,
                          NULL);
    g_source_attach(q->conn_src, NULL);
    memset(q->irq_levels, 0, sizeof(q->irq_levels));
    if (q->timer) {
        g_timer_destroy(q->timer);
    }
    q->timer = g_timer_new();
    dm_qtest_log(q, 'I', "OPENED\n");
}

static gboolean dm_qtest_on_accept(gint fd, GIOCondition cond, gpointer opaque)
{
    DmQtest *q = opaque;
    int conn = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

    if (conn < 0) {
        return G_SOURCE_CONTINUE;
    }
    if (q->conn >= 0) {
        /* One client at a time, as QEMU's chardev: the next one waits
           (as in QEMU's listen backlog) until the current one leaves;
           it may connect before the current one's hang-up is seen. */
        if (q->pending >= 0) {
            close(conn);
        } else {
            q->pending = conn;
        }
        return G_SOURCE_CONTINUE;
    }
    dm_qtest_attach(q, conn);
    return G_SOURCE_CONTINUE;
}
/* "unix:PATH[,server=on|off][,wait=on|off]" (also "server", "nowait");
   ",," is a comma. */
static bool dm_qtest_parse_spec(DmQtest *q, const char *spec, bool *wait,
                                GError **errp)
{
    static const char *const keys[] = {"path", "server", "wait", "nowait",
                                       NULL};
    g_autoptr(GPtrArray) opts = NULL;
    g_autofree char *what = g_strdup_printf("-qtest '%s'", spec);

    if (!g_str_has_prefix(spec, "unix:") || !spec[5]) {
        ls_error_set(errp, "%s: only unix:PATH is supported", what);
        return false;
    }
    opts = ls_opts_split(spec + 5, "path");
    if (!ls_opts_check_keys(opts, what, keys, errp) ||
        !ls_opts_server_wait(opts, what, &q->server, wait, errp)) {
        return false;
    }
    q->path = g_strdup(ls_opts_get(opts, "path"));
    if (!q->path) {
        ls_error_set(errp, "%s: Parameter 'path' is missing", what);
        return false;
    }
    return true;
}

static bool dm_qtest_open_log(DmQtest *q, const char *log_path, GError **errp)
{
    if (!log_path || !strcmp(log_path, "/dev/null") ||
        !strcmp(log_path, "none")) {
        return true;
    }
    q->log = fopen(log_path, "w+");
    if (!q->log) {
        ls_error_set(errp, "-qtest-log: cannot open '%s': %s", log_path,
                     g_strerror(errno));
        return false;
    }
    return true;
}

static bool dm_qtest_listen(DmQtest *q, bool wait, GError **errp)
{
    q->listener = ls_unix_listen(q->path, 1, true, &q->bound, errp);
    if (q->listener < 0) {
        return false;
    }
    if (wait) {
        struct pollfd p = {.fd = q->listener, .events = POLLIN};
        int conn;

        while (poll(&p, 1, -1) < 0 && errno == EINTR) {
        }
        conn = accept4(q->listener, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (conn < 0) {
            ls_error_set(errp, "Failed to accept on %s: %s", q->path,
                         g_strerror(errno));
            return false;
        }
        dm_qtest_attach(q, conn);
    }
    q->accept_src = g_unix_fd_source_new(q->listener, G_IO_IN);
    g_source_set_callback(q->accept_src, G_SOURCE_FUNC(dm_qtest_on_accept), q,
                          NULL);
    g_source_attach(q->accept_src, NULL);
    return true;
}

DmQtest *dm_qtest_start(DmMachine *m, const char *spec, const char *log_path,
                        GError **errp)
{
    DmQtest *q = dm_qtest_new(m);
    bool wait = true;
    bool ok = dm_qtest_parse_spec(q, spec, &wait, errp) &&
              dm_qtest_open_log(q, log_path, errp);

    if (ok && q->server) {
        ok = dm_qtest_listen(q, wait, errp);
    } else if (ok) {
        int conn = ls_unix_connect(q->path, false, errp);
        if (conn >= 0) {
            dm_qtest_attach(q, conn);
        }
        ok = conn >= 0;
    }
    if (!ok) {
        g_prefix_error(errp, "Failed to initialize device for qtest: ");
        dm_qtest_free(q);
        return NULL;
    }
    return q;
}

void dm_qtest_sock_close(DmQtest *q)
{
    if (q->pending >= 0) {
        close(q->pending);
        q->pending = -1;
    }
    if (q->conn >= 0) {
        dm_qtest_close_conn(q);
    }
    dm_qtest_source_drop(&q->accept_src);
    if (q->listener >= 0) {
        close(q->listener);
        q->listener = -1;
    }
    ls_unix_bound_release(q->bound);
    q->bound = NULL;
}
