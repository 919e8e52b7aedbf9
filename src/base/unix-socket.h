/*
 * Unix stream sockets, one policy for every endpoint (QMP, -serial unix:,
 * -qtest): a listener may replace a *stale* socket file at its path (one
 * nobody accepts on, left by a killed process), never a live one and
 * never a file that is not a socket; at the end it unlinks its path only
 * if the path still names the socket it bound, so it never removes what
 * another process created. The daemon takes its pid-file lock before it
 * calls any of this (QEMU's order), so a second instance fails before it
 * touches the first one's sockets.
 *
 * Every listening socket file is owner-only (LS_UNIX_SOCKET_MODE, whatever
 * the umask), from before anyone can connect: whoever can connect to a
 * QMP, qtest or serial socket controls the VM or sees its console
 * (docs/security.md). QEMU leaves them to the umask.
 *
 * Error texts are QEMU's: "Failed to bind socket to PATH: REASON",
 * "Failed to connect to 'PATH': REASON".
 */
#ifndef LS_BASE_UNIX_SOCKET_H
#define LS_BASE_UNIX_SOCKET_H

#include <glib.h>
#include <stdbool.h>
#include <sys/types.h>

#define LS_UNIX_SOCKET_MODE 0600

/* The file a listener bound: what ls_unix_bound_release may unlink. */
typedef struct LsUnixBound {
    char *path;
    dev_t dev;
    ino_t ino;
} LsUnixBound;

/*
 * Binds and listens at `path` (close-on-exec; non-blocking if `nonblock`;
 * the file LS_UNIX_SOCKET_MODE).
 * A stale socket file at `path` is unlinked first; a live one (connect
 * succeeds) or a non-socket fails with EADDRINUSE. On success returns the
 * fd and sets *bound (free with ls_unix_bound_release); -1 + *errp.
 */
int ls_unix_listen(const char *path, int backlog, bool nonblock,
                   LsUnixBound **bound, GError **errp);
/* Connects to `path` (close-on-exec; non-blocking if `nonblock`). */
int ls_unix_connect(const char *path, bool nonblock, GError **errp);
/* Unlinks the path if it still names the socket bound, then frees.
   NULL is a no-op. */
void ls_unix_bound_release(LsUnixBound *b);
/* Frees without unlinking (a forked child that must leave it). */
void ls_unix_bound_free(LsUnixBound *b);

#endif
