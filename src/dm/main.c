/*
 * lockstep-dm: parse the command line, fork if -daemonize (the parent
 * exits once the child is listening), run the daemon. Only here does an
 * error become an exit status (1, message on stderr in QEMU's style).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/log.h"
#include "dm/daemon.h"
#include "lockstep-config.h"

#define DM_PROG "lockstep-dm"

static void dm_print_version(void)
{
    printf(DM_PROG " version " LOCKSTEP_VERSION
                   " (lockstep; implements the QMP of QEMU emulator version "
                   "%d.%d.%d)\n",
           QMP_QEMU_MAJOR, QMP_QEMU_MINOR, QMP_QEMU_MICRO);
}

/* Returns in the child with the ready pipe's write end; the parent exits
   with 0 once the child reports ready, 1 if it died first. */
static int dm_daemonize(void)
{
    int fds[2];
    pid_t pid;
    ssize_t n;
    char c;

    if (pipe(fds) < 0 || (pid = fork()) < 0) {
        ls_error_report("cannot daemonize: %s", g_strerror(errno));
        exit(1);
    }
    if (pid > 0) {
        close(fds[1]);
        do {
            n = read(fds[0], &c, 1);
        } while (n < 0 && errno == EINTR);
        _exit(n == 1 ? 0 : 1);
    }
    close(fds[0]);
    setsid();
    return fds[1];
}

int main(int argc, char **argv)
{
    DmOptions opts;
    DmDaemon d = {.ready_fd = -1};
    g_autoptr(GError) err = NULL;
    int status = 1;

    ls_log_init(DM_PROG);
    ls_log_set_debug(g_getenv("LOCKSTEP_DEBUG") != NULL);
    if (!dm_options_parse(&opts, argc, argv, &err)) {
        ls_error_report("%s", err->message);
        dm_options_clear(&opts);
        return 1;
    }
    if (opts.show_version || opts.show_help) {
        dm_print_version();
        if (opts.show_help) {
            printf("%s", dm_options_usage());
        }
        dm_options_clear(&opts);
        return 0;
    }
    if (opts.daemonize) {
        d.ready_fd = dm_daemonize();
    }
    if (dm_daemon_init(&d, &opts, &err)) {
        status = dm_daemon_run(&d);
    } else {
        ls_error_report("%s", err->message);
    }
    dm_daemon_cleanup(&d);
    dm_options_clear(&opts);
    return status;
}
