/*
 * Reading the stream for xen-load-devices-state without blocking the
 * daemon's loop. A regular file (or a memfd) is read whole. A pipe, FIFO
 * or socket is read only as far as it holds data now, polled before each
 * read so that no read can block (the fd's flags, shared with whoever
 * passed it, stay untouched); the load then needs the end of the stream,
 * i.e. a writer that has written everything and closed its end. Anything
 * else (a terminal, /dev/zero) is refused. QEMU 7.2 blocks its main loop
 * on a FIFO or an open pipe instead; lockstep answers with an error.
 */
#ifndef LS_DM_STATE_READ_H
#define LS_DM_STATE_READ_H

#include <glib.h>
#include <stdbool.h>

/* Opens `path` for reading without blocking (O_NONBLOCK: a FIFO with no
   writer does not wait for one). "Unable to open PATH: REASON". */
int dm_state_open(const char *path, GError **errp);
/* Reads all of `fd` as above, at most VMS_MAX_STREAM_SIZE bytes; `path`
   names it in errors. The caller keeps the fd. */
bool dm_state_read_fd(int fd, const char *path, GByteArray **out,
                      GError **errp);

#endif
