/*
 * One QMP session on a connected socket: greeting, reading (with
 * SCM_RIGHTS fds queued for the commands that take them), framing,
 * dispatch, and a bounded output buffer written as the socket accepts it.
 * A session that errs, hangs up, or lets more than QMP_MAX_OUTPUT bytes
 * pile up is marked dead; the server frees it later from an idle
 * callback, never inside its own I/O.
 *
 * Leaves out: listening and accepting (server.c), the commands
 * (dispatch.c, fds.c).
 */
#include "qmp/qmp-internal.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"
#include "lockstep-config.h"

static void qmp_session_watch(QmpSession *s)
{
    GIOCondition cond;

    /* A dead session's fd leaves the poll set at once: poll() reports
       POLLHUP even for an empty event mask, which dispatched the session
       on every loop iteration, starving the idle reaper (a busy loop at
       100% CPU after every client disconnect). */
    if (s->dead) {
        /* Safe inside the source's own dispatch; free() unrefs it. */
        g_source_destroy(s->src);
        return;
    }
    /* A session closing after its output waits for writability even with
       nothing left to write, so that it gets closed. */
    cond = G_IO_IN |
           (s->out->len > s->out_off || s->close_when_flushed ? G_IO_OUT : 0);
    /* Each modify wakes the loop up once more (an eventfd write and an
       extra poll), so only a change is passed on. */
    if (cond != s->cond) {
        s->cond = cond;
        g_source_modify_unix_fd(s->src, s->tag, cond);
    }
}

void qmp_session_kill(QmpSession *s)
{
    if (s->dead) {
        return;
    }
    s->dead = true;
    qmp_session_watch(s);
    qmp_server_schedule_reap(s->srv);
    /* QEMU runs its fd set cleanup on every monitor's close (fds.c). */
    qmp_fdsets_cleanup(s->srv);
}

void qmp_session_send(QmpSession *s, const json_t *msg)
{
    g_autofree char *text = NULL;
    size_t len;

    if (s->dead) {
        return;
    }
    text = qmp_json_dumps(msg);
    len = strlen(text) + 2;
    if (s->out->len - s->out_off + len > QMP_MAX_OUTPUT) {
        ls_warn("QMP session %u: client is not reading its output, "
                "dropping it",
                s->id);
        qmp_session_kill(s);
        return;
    }
    g_string_append(s->out, text);
    g_string_append(s->out, "\r\n");
    /* Write now: the socket almost always takes it, and then the fd never
       needs to be polled for output. What it does not take waits for
       G_IO_OUT; order is kept by the buffer. */
    qmp_session_try_write(s);
}

bool qmp_session_try_write(QmpSession *s)
{
    while (!s->dead && s->out_off < s->out->len) {
        ssize_t n = send(s->fd, s->out->str + s->out_off,
                         s->out->len - s->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        }
        if (n <= 0) {
            qmp_session_kill(s);
            return false;
        }
        s->out_off += (size_t)n;
    }
    if (s->out_off == s->out->len) {
        g_string_truncate(s->out, 0);
        s->out_off = 0;
    } else if (s->out_off >= QMP_READ_CHUNK) {
        g_string_erase(s->out, 0, (gssize)s->out_off);
        s->out_off = 0;
    }
    if (s->dead) {
        return false;
    }
    if (s->close_when_flushed && s->out->len == 0) {
        qmp_session_kill(s);
        return true;
    }
    qmp_session_watch(s);
    return s->out->len == 0;
}

static void qmp_session_queue_fds(QmpSession *s, struct msghdr *msg)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
        size_t n;
        int *fds;
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
            continue;
        }
        n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        fds = (int *)CMSG_DATA(c);
        for (size_t i = 0; i < n; i++) {
            int fd;
            memcpy(&fd, &fds[i], sizeof(fd));
            if (g_queue_get_length(&s->fds) >= QMP_MAX_QUEUED_FDS) {
                close(fd);
                continue;
            }
            g_queue_push_tail(&s->fds, GINT_TO_POINTER(fd));
        }
    }
}

static void qmp_session_process(QmpSession *s)
{
    json_t *v;
    GError *err = NULL;

    while (!s->dead && !s->close_when_flushed &&
           qmp_json_stream_next(s->in, &v, &err)) {
        json_t *rsp =
            v ? qmp_dispatch(s->srv->cmds, s, v) : qmp_error_reply(err, NULL);
        qmp_session_send(s, rsp);
        json_decref(rsp);
        json_decref(v);
        g_clear_error(&err);
    }
}

/* Reads one chunk; false when the session is gone or has nothing more. */
static bool qmp_session_read(QmpSession *s)
{
    char buf[QMP_READ_CHUNK];
    char ctl[CMSG_SPACE(sizeof(int) * QMP_MAX_FDS_PER_MSG)];
    struct iovec iov = {buf, sizeof(buf)};
    struct msghdr msg = {0};
    ssize_t n;

    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctl;
    msg.msg_controllen = sizeof(ctl);
    n = recvmsg(s->fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        return false;
    }
    if (n <= 0) {
        qmp_session_kill(s);
        return false;
    }
    qmp_session_queue_fds(s, &msg);
    if (!s->close_when_flushed) {
        qmp_json_stream_feed(s->in, buf, (size_t)n);
        qmp_session_process(s);
    }
    return true;
}

static gboolean qmp_session_io(void *opaque, GIOCondition revents)
{
    QmpSession *s = opaque;

    if (s->dead) {
        return G_SOURCE_CONTINUE;
    }
    if (revents & (G_IO_IN | G_IO_HUP | G_IO_ERR)) {
        qmp_session_read(s);
    }
    if (!s->dead) {
        qmp_session_try_write(s);
    }
    return G_SOURCE_CONTINUE;
}

static json_t *qmp_greeting(const QmpServer *srv)
{
    return json_pack("{s{s{s{sisisi}ss}s[]}}", "QMP", "version", "qemu",
                     "micro", QMP_QEMU_MICRO, "minor", QMP_QEMU_MINOR, "major",
                     QMP_QEMU_MAJOR, "package", srv->package, "capabilities");
}

QmpSession *qmp_session_new(QmpServer *srv, int fd)
{
    QmpSession *s = g_new0(QmpSession, 1);
    json_t *greeting;

    s->srv = srv;
    s->id = ++srv->next_session_id;
    s->fd = fd;
    s->in = qmp_json_stream_new();
    s->out = g_string_new(NULL);
    g_queue_init(&s->fds);
    s->named_fds = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    s->src =
        qmp_fd_source_new(fd, G_IO_IN, qmp_session_io, s, srv->ctx, &s->tag);
    s->cond = G_IO_IN;
    g_ptr_array_add(srv->sessions, s);
    greeting = qmp_greeting(srv);
    qmp_session_send(s, greeting);
    json_decref(greeting);
    qmp_session_try_write(s);
    return s;
}

static void qmp_close_fd_cb(gpointer key, gpointer value, gpointer data)
{
    close(GPOINTER_TO_INT(value));
}

void qmp_session_free(QmpSession *s)
{
    if (!s) {
        return;
    }
    g_source_destroy(s->src);
    g_source_unref(s->src);
    close(s->fd);
    /* Not "while pop > 0": fd 0 is a valid fd (a daemon whose stdin was
       closed receives it) and GPOINTER_TO_INT(NULL) is 0 too. */
    while (!g_queue_is_empty(&s->fds)) {
        close(GPOINTER_TO_INT(g_queue_pop_head(&s->fds)));
    }
    g_hash_table_foreach(s->named_fds, qmp_close_fd_cb, NULL);
    g_hash_table_destroy(s->named_fds);
    qmp_json_stream_free(s->in);
    g_string_free(s->out, TRUE);
    g_free(s);
}

/* ---- Public session accessors ------------------------------------------ */

QmpServer *qmp_session_server(QmpSession *s)
{
    return s->srv;
}

unsigned qmp_session_id(const QmpSession *s)
{
    return s->id;
}

bool qmp_session_negotiated(const QmpSession *s)
{
    return s->negotiated;
}

int qmp_session_take_fd(QmpSession *s)
{
    if (!s || g_queue_is_empty(&s->fds)) {
        return -1;
    }
    return GPOINTER_TO_INT(g_queue_pop_head(&s->fds));
}

void qmp_session_close_later(QmpSession *s)
{
    s->close_when_flushed = true;
    qmp_session_watch(s);
}
