/*
 * QMP fd passing, as QEMU's monitor does it: per-session named fds
 * (getfd/closefd) and server-wide fd sets (add-fd/remove-fd/query-fdsets),
 * plus opening "/dev/fdset/N" with QEMU's access-mode matching.
 *
 * Fds arrive with a command via SCM_RIGHTS (qmp_session_take_fd). Texts
 * are QEMU 7.2's. Fd sets live in the QmpServer (QEMU: process-wide) and
 * their fds are closed by QEMU 7.2's rule: only while the VM is running
 * (qmp_fds_set_vm_running_fn), an fd goes when it was removed with
 * remove-fd, or when no session is left and no dup of its set is in use.
 * The rule runs when a session closes, after remove-fd, and when the last
 * dup of a set comes back through qmp_fdset_close.
 */
#ifndef LS_QMP_FDS_H
#define LS_QMP_FDS_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "qmp/qmp.h"

/* Registers getfd, closefd, add-fd, remove-fd and query-fdsets on `cmds`.
   Handlers find the fd state through the session's server. */
void qmp_fds_register(QmpCommands *cmds);

/* Tells the fd sets whether the VM runs (QEMU's runstate_is_running).
   Without it, the VM counts as running. */
typedef bool (*QmpVmRunningFn)(void *opaque);
void qmp_fds_set_vm_running_fn(QmpServer *srv, QmpVmRunningFn fn, void *opaque);

/*
 * Opens `path` if it names an fd set ("/dev/fdset/N"): picks the newest fd
 * of set N whose access mode (O_ACCMODE) equals that of `flags` and
 * returns a dup (close-on-exec; O_APPEND/O_NONBLOCK applied if in `flags`
 * and settable), which keeps the set's fds in use until it is given back
 * with qmp_fdset_close.
 * Errors (QEMU's texts): no such set or no fd of that mode → "No such
 * file or directory"-style errno errors (errno set to ENOENT / EACCES).
 * Returns -1 with *errp set on failure. For any other path returns -1 with
 * *errp unset and errno = ENOTSUP: the caller then opens it itself.
 */
int qmp_fdset_open(QmpServer *srv, const char *path, int flags, GError **errp);

/* Closes `fd`; if it came from qmp_fdset_open, its set is no longer in
   use by it (QEMU's qemu_close of a dup'ed fdset fd). */
void qmp_fdset_close(QmpServer *srv, int fd);

/* True if `path` has the "/dev/fdset/" prefix. */
bool qmp_fdset_is_path(const char *path);

/* Looks up a session's named fd (from getfd) without taking it; -1 if
   absent. */
int qmp_session_get_named_fd(QmpSession *s, const char *name);

#endif
