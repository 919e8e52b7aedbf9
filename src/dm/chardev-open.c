/*
 * Parsing -serial SPEC and opening each kind of backend (chardev.c runs
 * them). Error texts follow QEMU 7.2's.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <string.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <glib-unix.h>

#include "base/error.h"
#include "base/opts.h"
#include "dm/chardev-internal.h"

static DmCharBackend *chr_alloc(DmCharKind kind, const char *label)
{
    DmCharBackend *be = g_new0(DmCharBackend, 1);

    be->kind = kind;
    be->label = g_strdup(label ? label : "serial");
    be->in_fd = be->out_fd = be->listen_fd = -1;
    be->ctx = g_main_context_ref_thread_default();
    return be;
}

static bool chr_open_file(DmCharBackend *be, const char *path, GError **errp)
{
    be->path = g_strdup(path);
    be->out_fd =
        open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NONBLOCK | O_CLOEXEC, 0666);
    if (be->out_fd < 0) {
        ls_error_set(errp, "Could not open '%s': %s", path, g_strerror(errno));
        return false;
    }
    return true;
}

static bool chr_open_pty(DmCharBackend *be, GError **errp)
{
    char name[256];
    struct termios tio;
    int master, slave;

    if (openpty(&master, &slave, name, NULL, NULL) < 0) {
        ls_error_set(errp, "Failed to create PTY: %s", g_strerror(errno));
        return false;
    }
    /* Raw, as QEMU sets it; the slave is closed until a reader opens it. */
    tcgetattr(slave, &tio);
    cfmakeraw(&tio);
    tcsetattr(slave, TCSAFLUSH, &tio);
    close(slave);
    g_unix_set_fd_nonblocking(master, TRUE, NULL);
    fcntl(master, F_SETFD, FD_CLOEXEC);
    be->in_fd = be->out_fd = master;
    be->path = g_strdup(name);
    g_printerr("char device redirected to %s (label %s)\n", name, be->label);
    return true;
}

static bool chr_unix_client(DmCharBackend *be, GError **errp)
{
    int fd = ls_unix_connect(be->path, true, errp);

    if (fd < 0) {
        return false;
    }
    be->in_fd = be->out_fd = fd;
    return true;
}

static bool chr_unix_server(DmCharBackend *be, bool wait, GError **errp)
{
    int fd = ls_unix_listen(be->path, 1, true, &be->bound, errp);

    if (fd < 0) {
        return false;
    }
    be->listen_fd = fd;
    if (wait) {
        struct pollfd p = {.fd = fd, .events = POLLIN};

        g_printerr("info: QEMU waiting for connection on: "
                   "disconnected:unix:%s,server=on\n",
                   be->path);
        while (poll(&p, 1, -1) < 0 && errno == EINTR) {
        }
        be->in_fd = be->out_fd =
            accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    }
    if (be->out_fd < 0) {
        dm_chr_listen_start(be);
    }
    return true;
}

/* unix:PATH[,server[=on|off]][,wait=on|off][,nowait]; ",," is a comma */
static bool chr_open_unix(DmCharBackend *be, const char *rest, GError **errp)
{
    static const char *const keys[] = {"path", "server", "wait", "nowait",
                                       NULL};
    g_autoptr(GPtrArray) opts = ls_opts_split(rest, "path");
    bool server, wait;

    if (!ls_opts_check_keys(opts, NULL, keys, errp) ||
        !ls_opts_server_wait(opts, NULL, &server, &wait, errp)) {
        return false;
    }
    be->path = g_strdup(ls_opts_get(opts, "path"));
    if (!be->path) {
        ls_error_set(errp, "Parameter 'path' is missing");
        return false;
    }
    be->kind = server ? DM_CHR_UNIX_SERVER : DM_CHR_UNIX_CLIENT;
    return server ? chr_unix_server(be, wait, errp) : chr_unix_client(be, errp);
}

static bool chr_open(DmCharBackend *be, const char *spec, GError **errp)
{
    if (!strcmp(spec, "null")) {
        return true;
    }
    if (!strcmp(spec, "stdio")) {
        be->kind = DM_CHR_STDIO;
        be->in_fd = STDIN_FILENO;
        be->out_fd = STDOUT_FILENO;
        return true;
    }
    if (!strcmp(spec, "pty")) {
        be->kind = DM_CHR_PTY;
        return chr_open_pty(be, errp);
    }
    if (g_str_has_prefix(spec, "file:")) {
        be->kind = DM_CHR_FILE;
        return chr_open_file(be, spec + 5, errp);
    }
    if (g_str_has_prefix(spec, "unix:")) {
        return chr_open_unix(be, spec + 5, errp);
    }
    ls_error_set(errp, "'%s' is not a valid char driver", spec);
    return false;
}

DmCharBackend *dm_chardev_new(const char *spec, const char *label,
                              GError **errp)
{
    DmCharBackend *be = chr_alloc(DM_CHR_NULL, label);

    if (!chr_open(be, spec, errp)) {
        dm_chardev_free(be);
        return NULL;
    }
    return be;
}
