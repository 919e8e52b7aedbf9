/*
 * Non-blocking read of a device-state source and write into a passed fd
 * (see state-io.h): a pipe, FIFO, socket or character device moves only
 * what it holds or takes now.
 */
#include "dm/state-io.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "vms/vms.h"

#define DM_STATE_IO_CHUNK 65536

/* How a stream fd is kept from blocking. */
typedef enum DmStateIoMode {
    DM_STATE_IO_SOCKET,   /* MSG_DONTWAIT */
    DM_STATE_IO_REOPENED, /* a pipe opened anew with O_NONBLOCK */
    DM_STATE_IO_POLLED,   /* a pipe we may not reopen: poll, then bounded I/O */
} DmStateIoMode;

typedef struct DmStateIo {
    int fd;
    DmStateIoMode mode;
} DmStateIo;

int dm_state_open(const char *path, GError **errp)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);

    if (fd < 0) {
        ls_error_set(errp, "Unable to open %s: %s", path, g_strerror(errno));
    }
    return fd;
}

static bool dm_state_fail(bool reading, const char *path, const char *why,
                          GError **errp)
{
    ls_error_set(errp, "Unable to %s device state %s %s: %s",
                 reading ? "read" : "write", reading ? "from" : "to", path,
                 why);
    return false;
}

/*
 * Sets up non-blocking I/O on a stream fd. A pipe or FIFO is opened anew
 * through /proc, non-blocking: its own open file description, so that the
 * flags of the fd passed in (shared with whoever passed it) stay as they
 * are, and no read or write can block even if another process drains or
 * fills the pipe meanwhile. A pipe of another user cannot be reopened
 * (EACCES): it is polled before each read or write instead, and a write
 * is at most PIPE_BUF bytes, which a pipe polled writable takes at once.
 */
static bool dm_state_io_init(DmStateIo *io, int fd, bool sock, bool reading,
                             const char *path, GError **errp)
{
    g_autofree char *proc = NULL;

    io->fd = fd;
    io->mode = DM_STATE_IO_SOCKET;
    if (sock) {
        return true;
    }
    proc = g_strdup_printf("/proc/self/fd/%d", fd);
    io->fd =
        open(proc, (reading ? O_RDONLY : O_WRONLY) | O_NONBLOCK | O_CLOEXEC);
    io->mode = DM_STATE_IO_REOPENED;
    if (io->fd >= 0) {
        return true;
    }
    if (errno == ENXIO) {
        return dm_state_fail(reading, path, "the pipe has no reader", errp);
    }
    io->fd = fd;
    io->mode = DM_STATE_IO_POLLED;
    return true;
}

static void dm_state_io_close(DmStateIo *io)
{
    if (io->mode == DM_STATE_IO_REOPENED) {
        close(io->fd);
    }
}

/* False (errno EAGAIN) when a polled fd is not ready for `events`. */
static bool dm_state_io_ready(const DmStateIo *io, short events)
{
    struct pollfd p = {.fd = io->fd, .events = events};
    int n;

    if (io->mode != DM_STATE_IO_POLLED) {
        return true;
    }
    do {
        n = poll(&p, 1, 0);
    } while (n < 0 && errno == EINTR);
    if (n <= 0 || !(p.revents & (events | POLLHUP | POLLERR))) {
        errno = n < 0 ? errno : EAGAIN;
        return false;
    }
    return true;
}

/* Bytes, 0 at the end, -1 with errno (EAGAIN: nothing now). */
static ssize_t dm_state_io_read(const DmStateIo *io, void *buf, size_t len)
{
    ssize_t n;

    if (!dm_state_io_ready(io, POLLIN)) {
        return -1;
    }
    do {
        n = io->mode == DM_STATE_IO_SOCKET
                ? recv(io->fd, buf, len, MSG_DONTWAIT)
                : read(io->fd, buf, len);
    } while (n < 0 && errno == EINTR);
    return n;
}

/* Bytes written, or -1 with errno (EAGAIN: no room now). */
static ssize_t dm_state_io_write(const DmStateIo *io, const void *buf,
                                 size_t len)
{
    ssize_t n;

    if (!dm_state_io_ready(io, POLLOUT)) {
        return -1;
    }
    do {
        if (io->mode == DM_STATE_IO_SOCKET) {
            n = send(io->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
        } else {
            n = write(io->fd, buf,
                      io->mode == DM_STATE_IO_POLLED ? MIN(len, PIPE_BUF)
                                                     : len);
        }
    } while (n < 0 && errno == EINTR);
    return n;
}

static const char *dm_state_read_why(int err, size_t have)
{
    if (err != EAGAIN && err != EWOULDBLOCK) {
        return g_strerror(err);
    }
    return have ? "no more data now and its writer has not closed it "
                  "(lockstep-dm does not wait on a pipe or FIFO)"
                : "no data now and its writer has not closed it "
                  "(lockstep-dm does not wait on a pipe or FIFO)";
}

static bool dm_state_read_stream(const DmStateIo *io, const char *path,
                                 GByteArray **out, GError **errp)
{
    g_autoptr(GByteArray) a = g_byte_array_new();
    uint8_t chunk[DM_STATE_IO_CHUNK];
    ssize_t n;

    while ((n = dm_state_io_read(io, chunk, sizeof(chunk))) > 0) {
        if (a->len + (size_t)n > VMS_MAX_STREAM_SIZE) {
            ls_error_set(errp, "%s: device state larger than the %u byte cap",
                         path, VMS_MAX_STREAM_SIZE);
            return false;
        }
        g_byte_array_append(a, chunk, (guint)n);
    }
    if (n < 0) {
        return dm_state_fail(true, path, dm_state_read_why(errno, a->len),
                             errp);
    }
    if (a->len == 0) {
        return dm_state_fail(true, path,
                             "no data and no writer (lockstep-dm does not "
                             "wait on a pipe or FIFO)",
                             errp);
    }
    *out = g_steal_pointer(&a);
    return true;
}

bool dm_state_read_fd(int fd, const char *path, GByteArray **out, GError **errp)
{
    struct stat st;
    DmStateIo io;
    bool ok;

    if (fstat(fd, &st) < 0) {
        return dm_state_fail(true, path, g_strerror(errno), errp);
    }
    if (S_ISREG(st.st_mode)) {
        if (!vms_read_fd(fd, out, errp)) {
            g_prefix_error(errp, "%s: ", path);
            return false;
        }
        return true;
    }
    if (!S_ISFIFO(st.st_mode) && !S_ISSOCK(st.st_mode)) {
        return dm_state_fail(true, path,
                             "not a regular file, pipe, FIFO or socket", errp);
    }
    if (!dm_state_io_init(&io, fd, S_ISSOCK(st.st_mode), true, path, errp)) {
        return false;
    }
    ok = dm_state_read_stream(&io, path, out, errp);
    dm_state_io_close(&io);
    return ok;
}

static bool dm_state_write_stream(const DmStateIo *io, const char *path,
                                  const uint8_t *p, size_t len, GError **errp)
{
    while (len > 0) {
        ssize_t n = dm_state_io_write(io, p, len);

        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return dm_state_fail(false, path,
                                 "the pipe is full and its reader is not "
                                 "taking the data (lockstep-dm does not "
                                 "wait on a pipe or FIFO)",
                                 errp);
        }
        if (n <= 0) {
            return dm_state_fail(
                false, path, n < 0 ? g_strerror(errno) : "short write", errp);
        }
        p += n;
        len -= (size_t)n;
    }
    return true;
}

/*
 * A character device (a tty) is written through an open file description
 * of its own, reopened non-blocking through /proc as a pipe is (the flags
 * of the fd passed in stay as they are): what the device does not take at
 * once fails the save, with the bytes before it written. One that cannot
 * be reopened is refused rather than written blocking.
 */
static bool dm_state_write_chr(int fd, const char *path, const uint8_t *p,
                               size_t len, GError **errp)
{
    g_autofree char *proc = g_strdup_printf("/proc/self/fd/%d", fd);
    g_autofree char *why = NULL;
    int wfd = open(proc, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    size_t done = 0;
    ssize_t n = 0;

    if (wfd < 0) {
        why = g_strdup_printf("cannot reopen the character device "
                              "non-blocking (%s; lockstep-dm does not wait "
                              "on a character device)",
                              g_strerror(errno));
        return dm_state_fail(false, path, why, errp);
    }
    while (done < len) {
        n = write(wfd, p + done, len - done);
        if (n <= 0 && !(n < 0 && errno == EINTR)) {
            break;
        }
        done += n > 0 ? (size_t)n : 0;
    }
    if (done < len) {
        why = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)
                  ? g_strdup_printf(
                        "the character device is not taking the data now "
                        "(%zu of %zu bytes written; lockstep-dm does not "
                        "wait on a character device)",
                        done, len)
                  : g_strdup(n < 0 ? g_strerror(errno) : "short write");
    }
    close(wfd);
    return why ? dm_state_fail(false, path, why, errp) : true;
}

bool dm_state_write_fd(int fd, const char *path, const void *buf, size_t len,
                       GError **errp)
{
    struct stat st;
    DmStateIo io;
    bool ok;

    if (fstat(fd, &st) < 0) {
        return dm_state_fail(false, path, g_strerror(errno), errp);
    }
    if (S_ISCHR(st.st_mode)) {
        return dm_state_write_chr(fd, path, buf, len, errp);
    }
    if (!S_ISFIFO(st.st_mode) && !S_ISSOCK(st.st_mode)) {
        return vms_write_fd(fd, buf, len, errp);
    }
    if (!dm_state_io_init(&io, fd, S_ISSOCK(st.st_mode), false, path, errp)) {
        return false;
    }
    ok = dm_state_write_stream(&io, path, buf, len, errp);
    dm_state_io_close(&io);
    return ok;
}
