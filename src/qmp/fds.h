/*
 * QMP fd passing, as QEMU's monitor does it: per-session named fds
 * (getfd/closefd) and server-wide fd sets (add-fd/remove-fd/query-fdsets),
 * plus opening "/dev/fdset/N" with QEMU's access-mode matching.
 *
 * Fds arrive with a command via SCM_RIGHTS (qmp_session_take_fd). Texts
 * are QEMU 7.2's. Fd sets live in the QmpServer (QEMU: process-wide); as in
 * QEMU, when the last session closes, fd sets are emptied of their fds and
 * freed (dups already handed out by qmp_fdset_open stay open, they belong
 * to the caller).
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

/*
 * Opens `path` if it names an fd set ("/dev/fdset/N"): picks an fd of set
 * N whose access mode (O_ACCMODE) equals that of `flags` and returns a dup
 * (close-on-exec; O_APPEND/O_NONBLOCK applied if in `flags` and settable).
 * Errors (QEMU's texts): no such set or no fd of that mode → "No such
 * file or directory"-style errno errors (errno set to ENOENT / EACCES).
 * Returns -1 with *errp set on failure. For any other path returns -1 with
 * *errp unset and errno = ENOTSUP: the caller then opens it itself.
 */
int qmp_fdset_open(QmpServer *srv, const char *path, int flags, GError **errp);

/* True if `path` has the "/dev/fdset/" prefix. */
bool qmp_fdset_is_path(const char *path);

/* Looks up a session's named fd (from getfd) without taking it; -1 if
   absent. */
int qmp_session_get_named_fd(QmpSession *s, const char *name);

#endif
