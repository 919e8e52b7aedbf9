/*
 * -serial backends: null, stdio, file, pty, unix socket (client or
 * server): their I/O on the GLib loop. Parsing a spec and opening each
 * kind is chardev-open.c. See chardev.h for the contract.
 */
#include "dm/chardev-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib-unix.h>

#include "base/error.h"

typedef struct DmCharReadSource {
    GSource src;
    DmCharBackend *be;
    gpointer tag;
    GIOCondition events; /* what the fd is polled for now */
} DmCharReadSource;

static void chr_read_start(DmCharBackend *be);

static void chr_source_drop(GSource **src)
{
    if (*src) {
        g_source_destroy(*src);
        g_source_unref(*src);
        *src = NULL;
    }
}

static void chr_attach(DmCharBackend *be, GSource *src)
{
    g_source_attach(src, be->ctx);
}

static bool chr_is_socket(const DmCharBackend *be)
{
    return be->kind == DM_CHR_UNIX_SERVER || be->kind == DM_CHR_UNIX_CLIENT;
}

/* ---- connection state ---- */

static void chr_watch_fire_later(DmCharBackend *be);

/* The peer left: stop reading, drop output from now on; a server listens
   again. A pending write watch still fires, so the UART drains (dropped). */
static void chr_disconnect(DmCharBackend *be)
{
    bool had_watch = be->watch_src != NULL;

    chr_source_drop(&be->read_src);
    chr_source_drop(&be->watch_src);
    if (chr_is_socket(be) && be->out_fd >= 0) {
        close(be->out_fd);
    }
    if (chr_is_socket(be)) {
        be->in_fd = be->out_fd = -1;
    }
    if (had_watch) {
        chr_watch_fire_later(be);
    }
    if (be->kind == DM_CHR_UNIX_SERVER) {
        dm_chr_listen_start(be);
    }
}

/* pty: no reader on the slave side shows as HUP on the master; QEMU
   checks again every second, and so do we. */
static gboolean chr_pty_timer_cb(gpointer opaque)
{
    DmCharBackend *be = opaque;
    struct pollfd p = {.fd = be->out_fd, .events = POLLOUT};

    if (poll(&p, 1, 0) >= 0 && !(p.revents & POLLHUP)) {
        g_source_unref(be->pty_timer);
        be->pty_timer = NULL;
        chr_read_start(be);
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

static void chr_pty_hangup(DmCharBackend *be)
{
    chr_source_drop(&be->read_src);
    if (!be->pty_timer) {
        be->pty_timer = g_timeout_source_new(1000);
        g_source_set_callback(be->pty_timer, chr_pty_timer_cb, be, NULL);
        chr_attach(be, be->pty_timer);
    }
}

static void chr_hangup(DmCharBackend *be)
{
    if (be->kind == DM_CHR_PTY) {
        chr_pty_hangup(be);
    } else if (chr_is_socket(be)) {
        chr_disconnect(be);
    } else {
        chr_source_drop(&be->read_src); /* stdin at EOF */
    }
}

/* ---- input ---- */

static int chr_fe_room(DmCharBackend *be)
{
    if (!be->can_receive || !be->receive) {
        return 0;
    }
    return MIN(be->can_receive(be->fe), DM_CHARDEV_READ_MAX);
}

/* Ask the front end before every poll (QEMU's can_read): no room, no
   POLLIN, and the bytes wait in the kernel. Every modify wakes the loop
   up once more (GLib writes its eventfd), so a modify on every pass kept
   the loop spinning: only a change is passed on. */
static gboolean chr_read_prepare(GSource *src, gint *timeout)
{
    DmCharReadSource *rs = (DmCharReadSource *)src;
    GIOCondition ev =
        (chr_fe_room(rs->be) > 0 ? G_IO_IN : 0) | G_IO_HUP | G_IO_ERR;

    if (ev != rs->events) {
        rs->events = ev;
        g_source_modify_unix_fd(src, rs->tag, ev);
    }
    *timeout = -1;
    return FALSE;
}

static gboolean chr_read_check(GSource *src)
{
    DmCharReadSource *rs = (DmCharReadSource *)src;

    return g_source_query_unix_fd(src, rs->tag) != 0;
}

static gboolean chr_read_dispatch(GSource *src, GSourceFunc cb, gpointer u)
{
    DmCharReadSource *rs = (DmCharReadSource *)src;
    DmCharBackend *be = rs->be;
    GIOCondition rev = g_source_query_unix_fd(src, rs->tag);
    uint8_t buf[DM_CHARDEV_READ_MAX];
    int room = chr_fe_room(be);
    ssize_t n;

    if (!(rev & G_IO_IN) || room <= 0) {
        if (rev & (G_IO_HUP | G_IO_ERR)) {
            chr_hangup(be);
        }
        return G_SOURCE_CONTINUE;
    }
    n = read(be->in_fd, buf, room);
    if (n > 0) {
        be->receive(be->fe, buf, (int)n);
    } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        chr_hangup(be); /* EOF, or EIO from a pty whose reader left */
    }
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs chr_read_funcs = {
    .prepare = chr_read_prepare,
    .check = chr_read_check,
    .dispatch = chr_read_dispatch,
};

static void chr_read_start(DmCharBackend *be)
{
    DmCharReadSource *rs;

    if (be->read_src || be->in_fd < 0 || !be->receive) {
        return;
    }
    be->read_src = g_source_new(&chr_read_funcs, sizeof(DmCharReadSource));
    rs = (DmCharReadSource *)be->read_src;
    rs->be = be;
    rs->events = G_IO_IN | G_IO_HUP | G_IO_ERR;
    rs->tag = g_source_add_unix_fd(be->read_src, be->in_fd, rs->events);
    chr_attach(be, be->read_src);
}

/* ---- unix server: one client at a time ---- */

static gboolean chr_accept_cb(gint fd, GIOCondition cond, gpointer opaque)
{
    DmCharBackend *be = opaque;
    int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

    if (c < 0) {
        return G_SOURCE_CONTINUE;
    }
    be->in_fd = be->out_fd = c;
    g_source_unref(be->listen_src);
    be->listen_src = NULL;
    chr_read_start(be);
    return G_SOURCE_REMOVE;
}

void dm_chr_listen_start(DmCharBackend *be)
{
    if (be->listen_src || be->listen_fd < 0) {
        return;
    }
    be->listen_src = g_unix_fd_source_new(be->listen_fd, G_IO_IN);
    g_source_set_callback(be->listen_src, G_SOURCE_FUNC(chr_accept_cb), be,
                          NULL);
    chr_attach(be, be->listen_src);
}

/* ---- output: HwCharOps ---- */

static int chr_write(void *opaque, const uint8_t *buf, int len)
{
    DmCharBackend *be = opaque;
    struct pollfd p = {.fd = be->out_fd, .events = POLLOUT};
    ssize_t n;

    if (be->out_fd < 0) {
        return len; /* null, or nothing connected: dropped as QEMU */
    }
    /* stdio may be a blocking fd we must not make non-blocking; a pty
       without reader hangs up: both are checked first. */
    if (poll(&p, 1, 0) < 0 || (p.revents & (POLLHUP | POLLERR))) {
        if (chr_is_socket(be)) {
            chr_disconnect(be);
        }
        return len;
    }
    if (!(p.revents & POLLOUT)) {
        return 0;
    }
    do {
        n = chr_is_socket(be)
                ? send(be->out_fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL)
                : write(be->out_fd, buf, len);
    } while (n < 0 && errno == EINTR);
    if (n >= 0) {
        return (int)n;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
        return 0;
    }
    if (chr_is_socket(be)) {
        chr_disconnect(be);
    }
    return -1;
}

static gboolean chr_watch_cb(gpointer opaque)
{
    DmCharBackend *be = opaque;
    GSource *src = be->watch_src;

    /* The callback may add a new watch at once (still blocked). */
    be->watch_src = NULL;
    be->watch_cb(be->watch_opaque);
    g_source_unref(src);
    return G_SOURCE_REMOVE;
}

static gboolean chr_watch_fd_cb(gint fd, GIOCondition c, gpointer opaque)
{
    return chr_watch_cb(opaque);
}

static void chr_watch_fire_later(DmCharBackend *be)
{
    be->watch_src = g_idle_source_new();
    g_source_set_callback(be->watch_src, chr_watch_cb, be, NULL);
    chr_attach(be, be->watch_src);
}

static bool chr_add_write_watch(void *opaque, HwCharWatchCb cb, void *arg)
{
    DmCharBackend *be = opaque;

    if (be->watch_src) {
        return false;
    }
    be->watch_cb = cb;
    be->watch_opaque = arg;
    if (be->out_fd < 0) {
        chr_watch_fire_later(be);
        return true;
    }
    be->watch_src =
        g_unix_fd_source_new(be->out_fd, G_IO_OUT | G_IO_HUP | G_IO_ERR);
    g_source_set_callback(be->watch_src, G_SOURCE_FUNC(chr_watch_fd_cb), be,
                          NULL);
    chr_attach(be, be->watch_src);
    return true;
}

static void chr_cancel_write_watch(void *opaque)
{
    chr_source_drop(&((DmCharBackend *)opaque)->watch_src);
}

/* The front end has room again: re-run prepare, which asks it. */
static void chr_accept_input(void *opaque)
{
    DmCharBackend *be = opaque;

    if (be->read_src) {
        g_main_context_wakeup(be->ctx);
    }
}

static const HwCharOps chr_ops = {
    .write = chr_write,
    .add_write_watch = chr_add_write_watch,
    .cancel_write_watch = chr_cancel_write_watch,
    .set_break = NULL,
    .accept_input = chr_accept_input,
};

const HwCharOps *dm_chardev_ops(DmCharBackend *be)
{
    return &chr_ops;
}

void dm_chardev_connect(DmCharBackend *be, DmCharCanReceive can_receive,
                        DmCharReceive receive, void *opaque)
{
    chr_source_drop(&be->read_src);
    be->can_receive = can_receive;
    be->receive = receive;
    be->fe = opaque;
    chr_read_start(be);
}

static int chr_serial_can_receive(void *opaque)
{
    return serial_can_receive(opaque);
}

static void chr_serial_receive(void *opaque, const uint8_t *buf, int len)
{
    serial_receive(opaque, buf, len);
}

void dm_chardev_connect_serial(DmCharBackend *be, SerialDevice *d)
{
    dm_chardev_connect(be, chr_serial_can_receive, chr_serial_receive, d);
}

const char *dm_chardev_pty_path(DmCharBackend *be)
{
    return be->kind == DM_CHR_PTY ? be->path : NULL;
}

bool dm_chardev_connected(DmCharBackend *be)
{
    if (chr_is_socket(be)) {
        return be->out_fd >= 0;
    }
    if (be->kind == DM_CHR_PTY) {
        return be->pty_timer == NULL;
    }
    return true;
}

void dm_chardev_free(DmCharBackend *be)
{
    if (!be) {
        return;
    }
    chr_source_drop(&be->read_src);
    chr_source_drop(&be->listen_src);
    chr_source_drop(&be->watch_src);
    chr_source_drop(&be->pty_timer);
    if (be->kind != DM_CHR_STDIO && be->out_fd >= 0) {
        close(be->out_fd);
    }
    if (be->listen_fd >= 0) {
        close(be->listen_fd);
    }
    ls_unix_bound_release(be->bound);
    if (be->ctx) {
        g_main_context_unref(be->ctx);
    }
    g_free(be->label);
    g_free(be->path);
    g_free(be);
}
