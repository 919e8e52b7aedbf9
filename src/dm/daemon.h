/*
 * The daemon: options, machine, run state, QMP server and the GLib main
 * loop that drives them (loop.c), plus the QMP command handlers
 * (qmp-cmds.c). Leaves out device assembly (machine-pc.c) and the qtest
 * protocol (qtest.c).
 */
#ifndef LS_DM_DAEMON_H
#define LS_DM_DAEMON_H

#include <glib.h>
#include <stdbool.h>

#include "dm/machine.h"
#include "dm/options.h"
#include "dm/qtest.h"
#include "dm/runstate.h"
#include "qmp/qmp.h"

typedef struct DmDaemon {
    DmOptions *opts; /* borrowed */
    DmMachine *machine;
    DmRunstate rs;
    QmpCommands *cmds;
    QmpServer *srv;
    DmQtest *qtest;
    GMainLoop *loop;
    GSource *clock_src;
    GSource *vcpu_src; /* the vCPU's run loop, if there is a vCPU */
    guint signal_ids[3];
    guint reset_idle; /* pending guest reset request */
    bool dirty_log;   /* xen-set-global-dirty-log: the RAM's dirty log */
    bool quit;        /* the loop ends after this dispatch */
    int ready_fd;     /* -daemonize: pipe to the waiting parent, or -1 */
    int pid_fd;       /* the locked pid file, if pid_owned */
    bool pid_owned;   /* this process created and locked -pidfile */
    GPtrArray *stale; /* old save files to unlink after the reply */
    guint stale_idle;
} DmDaemon;

/* Takes the pid file (before anything else), builds the machine and the
   QMP server, opens every endpoint. */
bool dm_daemon_init(DmDaemon *d, DmOptions *opts, GError **errp);
/* Runs until quit or a signal; returns the exit status. */
int dm_daemon_run(DmDaemon *d);
void dm_daemon_cleanup(DmDaemon *d);
/* Takes `path` (a save's stale old contents, see vms_write_file_stale)
   and unlinks it from an idle callback, after the reply is written; at
   the latest in dm_daemon_cleanup. */
void dm_daemon_defer_unlink(DmDaemon *d, char *path);
/* Ends the main loop after the current dispatch (quit, signals). */
void dm_daemon_request_quit(DmDaemon *d);

/* qmp-cmds.c: registers every command of the daemon on d->cmds. */
void dm_qmp_cmds_register(DmDaemon *d);
/* hmp.c: human-monitor-command. */
void dm_hmp_register(DmDaemon *d);
/* qom.c: qom-list, qom-get, qom-set, qom-list-types. */
void dm_qom_register(DmDaemon *d);
/* preconfig.c: x-exit-preconfig, query-cpus-fast, and the preconfig
   state; after every other registration. */
void dm_preconfig_register(DmDaemon *d);
/* qmp-ram.c: registers the x-lockstep- RAM commands on d->cmds. */
void dm_qmp_ram_register(DmDaemon *d);

/* qmp-cmds.c, shared with qmp-ram.c: a state file or /dev/fdset/N. */
/* Opens /dev/fdset/N ("Unable to open PATH: REASON"). */
int dm_open_fdset(DmDaemon *d, const char *path, int mode, GError **errp);
/* Writes `buf` to a file (beside it and renamed) or an fd set. */
bool dm_save_to(DmDaemon *d, const char *path, GByteArray *buf, GError **errp);
/* Reads a whole file or fd set without blocking (dm/state-io.h). */
bool dm_load_from(DmDaemon *d, const char *path, GByteArray **buf,
                  GError **errp);
/* Makes an error message valid UTF-8 for a QMP reply (\xNN escapes). */
void dm_error_make_printable(GError *err);
/* qmp-cpu.c: query-cpus-fast's answer (a new list). */
json_t *dm_qmp_cpus_fast(DmDaemon *d);

#endif
