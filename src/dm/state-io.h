/*
 * Reading the stream for xen-load-devices-state, and writing a save into
 * a passed fd, without blocking the daemon's loop.
 *
 * A regular file (or a memfd) is read whole. A pipe, FIFO or socket is
 * read only as far as it holds data now, without blocking: a pipe is
 * opened anew through /proc/self/fd with O_NONBLOCK (so the flags of the
 * fd passed in, shared with whoever passed it, stay untouched); another
 * user's pipe, which cannot be reopened, is polled before each read. The
 * load then needs the end of the stream, i.e. a writer that has written
 * everything and closed its end. Anything else (a terminal, /dev/zero) is
 * refused. QEMU 7.2 blocks its main loop on a FIFO or an open pipe
 * instead; lockstep answers with an error.
 */
#ifndef LS_DM_STATE_IO_H
#define LS_DM_STATE_IO_H

#include <glib.h>
#include <stdbool.h>

/* Opens `path` for reading without blocking (O_NONBLOCK: a FIFO with no
   writer does not wait for one). "Unable to open PATH: REASON". */
int dm_state_open(const char *path, GError **errp);
/* Reads all of `fd` as above, at most VMS_MAX_STREAM_SIZE bytes; `path`
   names it in errors. The caller keeps the fd. */
bool dm_state_read_fd(int fd, const char *path, GByteArray **out,
                      GError **errp);

/* Writes `len` bytes to `fd` (from an fd set; `path` names it in errors).
   A regular file is written in full, as QEMU. A pipe, FIFO, socket or
   character device (a tty) takes only what fits now (written
   non-blocking as above; a character device that cannot be reopened
   through /proc is refused): if its reader does not make room, the save
   fails at once and the reader has a torn stream. QEMU 7.2 writes a
   character device in full, blocking. */
bool dm_state_write_fd(int fd, const char *path, const void *buf, size_t len,
                       GError **errp);

#endif
