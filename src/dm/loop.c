/*
 * The daemon's life: take the pid file, build the machine and the QMP
 * server, open every endpoint, tell a -daemonize parent we are ready, run
 * the GLib main loop until `quit` or SIGTERM/SIGINT/SIGHUP (QEMU's
 * SHUTDOWN event, reason host-signal), flush replies, clean up.
 *
 * Everything runs inside the loop, and nothing in it waits on a peer:
 * QMP, qtest and serial sockets are non-blocking with bounded output
 * buffers; a save or load through a pipe, FIFO or socket, and a save
 * into a character device passed with add-fd (a tty), moves only what it
 * holds or takes now (dm/state-io.h; a load refuses character devices).
 * A regular file is read or written in full. Before the loop starts,
 * wait=on endpoints block until their client connects, as in QEMU; at
 * exit, replies get DM_QUIT_FLUSH_MS to go out.
 */
#include "dm/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "base/log.h"
#include "cpu/vcpu-loop.h"
#include "qmp/fds.h"

#define DM_QUIT_FLUSH_MS 1000
#define DM_PIDFILE_TRIES 8 /* attempts to lock a pid file being replaced */

static void dm_daemon_emit(void *opaque, const char *event, json_t *data)
{
    DmDaemon *d = opaque;

    if (d->srv) {
        qmp_server_emit(d->srv, event, data);
    } else if (data) {
        json_decref(data);
    }
}

void dm_daemon_request_quit(DmDaemon *d)
{
    d->quit = true;
    if (d->loop) {
        g_main_loop_quit(d->loop);
    }
}

static gboolean dm_daemon_on_signal(gpointer opaque)
{
    DmDaemon *d = opaque;

    if (!d->quit) {
        dm_runstate_shutdown(&d->rs, false, "host-signal");
        dm_daemon_request_quit(d);
    }
    return G_SOURCE_CONTINUE;
}

/* Device-requested reset (port 92, i8042): done from the loop, never
   inside the device's own register write. The vCPU executes nothing
   more: its slice ends at once and the reset idle outranks its source. */
static gboolean dm_daemon_do_guest_reset(gpointer opaque)
{
    DmDaemon *d = opaque;

    d->reset_idle = 0;
    dm_runstate_reset(&d->rs, true, "guest-reset");
    return G_SOURCE_REMOVE;
}

static void dm_daemon_reset_request(void *opaque)
{
    DmDaemon *d = opaque;

    if (!d->reset_idle) {
        d->reset_idle = g_idle_add_full(G_PRIORITY_HIGH_IDLE,
                                        dm_daemon_do_guest_reset, d, NULL);
    }
    if (d->machine->vcpu) {
        vcpu_kick(d->machine->vcpu);
    }
}

/* Opens and locks the pid file; the path must still name the file locked
   (QEMU's check against a racing instance that unlinked it). Error texts
   are QEMU's, which dm_pidfile_take prefixes with "cannot create PID
   file: ". */
static int dm_pidfile_lock(const char *path, GError **errp)
{
    struct flock lk = {.l_type = F_WRLCK, .l_whence = SEEK_SET};

    for (int tries = 0; tries < DM_PIDFILE_TRIES; tries++) {
        struct stat a, b;
        int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

        if (fd < 0) {
            ls_error_set(errp, "Could not create '%s': %s", path,
                         g_strerror(errno));
            return -1;
        }
        if (fstat(fd, &b) < 0 || fcntl(fd, F_SETLK, &lk) < 0) {
            ls_error_set(errp, "Cannot lock pid file: %s", g_strerror(errno));
            close(fd);
            return -1;
        }
        if (stat(path, &a) == 0 && a.st_dev == b.st_dev &&
            a.st_ino == b.st_ino) {
            return fd;
        }
        close(fd); /* replaced under us: try again */
    }
    ls_error_set(errp, "Cannot lock pid file: it keeps being replaced");
    return -1;
}

/* QEMU's pid file, "PID\n", taken before any endpoint is opened so that a
   second instance fails before it touches the first one's sockets. The
   fd stays open: it holds the lock until exit. */
static bool dm_pidfile_take(DmDaemon *d, const char *path, GError **errp)
{
    g_autofree char *text = g_strdup_printf("%d\n", (int)getpid());
    int fd = dm_pidfile_lock(path, errp);

    if (fd < 0) {
        g_prefix_error(errp, "cannot create PID file: ");
        return false;
    }
    d->pid_fd = fd;
    d->pid_owned = true;
    if (ftruncate(fd, 0) < 0 ||
        write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
        ls_error_set(errp, "cannot create PID file: Failed to write pid file");
        return false;
    }
    return true;
}

/* Unlinks the pid file only if it is still the one this process locked. */
static void dm_pidfile_release(DmDaemon *d)
{
    struct stat a, b;

    if (!d->pid_owned) {
        return;
    }
    if (fstat(d->pid_fd, &b) == 0 && stat(d->opts->pidfile, &a) == 0 &&
        a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
        unlink(d->opts->pidfile);
    }
    close(d->pid_fd);
    d->pid_owned = false;
}

/* QEMU closes fd set fds only while the VM runs (qmp/fds.h). */
static bool dm_daemon_vm_running(void *opaque)
{
    DmDaemon *d = opaque;

    return dm_runstate_is_running(&d->rs);
}

static bool dm_daemon_open_qmp(DmDaemon *d, GError **errp)
{
    d->cmds = qmp_commands_new();
    dm_qmp_cmds_register(d);
    d->srv = qmp_server_new(d->cmds, NULL, NULL);
    qmp_fds_set_vm_running_fn(d->srv, dm_daemon_vm_running, d);
    for (guint i = 0; i < d->opts->qmp_specs->len; i++) {
        if (!qmp_server_add(d->srv, g_ptr_array_index(d->opts->qmp_specs, i),
                            errp)) {
            return false;
        }
    }
    return true;
}

static void dm_daemon_signals(DmDaemon *d)
{
    static const int sigs[] = {SIGTERM, SIGINT, SIGHUP};

    signal(SIGPIPE, SIG_IGN);
    for (size_t i = 0; i < G_N_ELEMENTS(sigs); i++) {
        d->signal_ids[i] = g_unix_signal_add(sigs[i], dm_daemon_on_signal, d);
    }
}

bool dm_daemon_init(DmDaemon *d, DmOptions *opts, GError **errp)
{
    d->opts = opts;
    if (opts->pidfile && !dm_pidfile_take(d, opts->pidfile, errp)) {
        return false;
    }
    d->machine = dm_machine_new(opts, errp);
    if (!d->machine) {
        return false;
    }
    d->machine->reset_request = dm_daemon_reset_request;
    d->machine->reset_opaque = d;
    dm_runstate_init(&d->rs, d->machine, opts->start_paused || opts->preconfig,
                     dm_daemon_emit, d);
    d->clock_src = hw_clock_source_new(d->machine->clock);
    g_source_attach(d->clock_src, NULL);
    if (d->machine->vcpu) {
        d->vcpu_src =
            vcpu_source_new(d->machine->vcpu, d->machine->clock,
                            d->opts->icount ? d->opts->icount_shift : -1);
        g_source_attach(d->vcpu_src, NULL);
    }
    d->loop = g_main_loop_new(NULL, FALSE);
    dm_daemon_signals(d);
    if (!dm_daemon_open_qmp(d, errp)) {
        return false;
    }
    if (opts->qtest_spec) {
        d->qtest =
            dm_qtest_start(d->machine, opts->qtest_spec, opts->qtest_log, errp);
        if (!d->qtest) {
            return false;
        }
    }
    return true;
}

/* -daemonize: the parent waits for this byte, then exits 0. */
static void dm_daemon_notify_ready(DmDaemon *d)
{
    int null_fd;

    if (d->ready_fd < 0) {
        return;
    }
    if (write(d->ready_fd, "", 1) != 1) {
        ls_warn("cannot notify the parent process: %s", g_strerror(errno));
    }
    close(d->ready_fd);
    d->ready_fd = -1;
    null_fd = open("/dev/null", O_RDWR);
    if (null_fd >= 0) {
        dup2(null_fd, STDIN_FILENO);
        dup2(null_fd, STDOUT_FILENO);
        dup2(null_fd, STDERR_FILENO);
        close(null_fd);
    }
}

int dm_daemon_run(DmDaemon *d)
{
    dm_daemon_notify_ready(d);
    if (!d->quit) {
        g_main_loop_run(d->loop);
    }
    qmp_server_flush(d->srv, DM_QUIT_FLUSH_MS);
    return 0;
}

static void dm_daemon_unlink_stale(DmDaemon *d)
{
    for (guint i = 0; d->stale && i < d->stale->len; i++) {
        unlink(g_ptr_array_index(d->stale, i));
    }
    if (d->stale) {
        g_ptr_array_set_size(d->stale, 0);
    }
}

static gboolean dm_daemon_stale_idle(gpointer opaque)
{
    DmDaemon *d = opaque;

    d->stale_idle = 0;
    dm_daemon_unlink_stale(d);
    return G_SOURCE_REMOVE;
}

void dm_daemon_defer_unlink(DmDaemon *d, char *path)
{
    if (!d->stale) {
        d->stale = g_ptr_array_new_with_free_func(g_free);
    }
    g_ptr_array_add(d->stale, path);
    if (!d->stale_idle) {
        d->stale_idle =
            g_idle_add_full(G_PRIORITY_LOW, dm_daemon_stale_idle, d, NULL);
    }
}

void dm_daemon_cleanup(DmDaemon *d)
{
    if (d->stale_idle) {
        g_source_remove(d->stale_idle);
    }
    dm_daemon_unlink_stale(d);
    if (d->stale) {
        g_ptr_array_free(d->stale, TRUE);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(d->signal_ids); i++) {
        if (d->signal_ids[i]) {
            g_source_remove(d->signal_ids[i]);
        }
    }
    if (d->reset_idle) {
        g_source_remove(d->reset_idle);
    }
    dm_qtest_free(d->qtest);
    if (d->srv) {
        qmp_server_free(d->srv);
    }
    if (d->cmds) {
        qmp_commands_free(d->cmds);
    }
    if (d->vcpu_src) {
        g_source_destroy(d->vcpu_src);
        g_source_unref(d->vcpu_src);
    }
    if (d->clock_src) {
        g_source_destroy(d->clock_src);
        g_source_unref(d->clock_src);
    }
    dm_machine_free(d->machine);
    if (d->loop) {
        g_main_loop_unref(d->loop);
    }
    dm_pidfile_release(d);
}
