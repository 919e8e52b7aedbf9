/*
 * Non-blocking read of a device-state source and write into a passed fd
 * (see state-io.h).
 */
#include "dm/state-io.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "vms/vms.h"

#define DM_STATE_IO_CHUNK 65536

int dm_state_open(const char *path, GError **errp)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);

    if (fd < 0) {
        ls_error_set(errp, "Unable to open %s: %s", path, g_strerror(errno));
    }
    return fd;
}

static bool dm_state_fail(const char *what, const char *path, const char *why,
                          GError **errp)
{
    ls_error_set(errp, "Unable to %s device state %s %s: %s", what,
                 what[0] == 'r' ? "from" : "to", path, why);
    return false;
}

/*
 * A pipe or FIFO opened anew, non-blocking, through /proc: its own open
 * file description, so that the flags of the fd passed in (shared with
 * whoever passed it) stay as they are, and no read or write can block
 * even if another process drains or fills the pipe meanwhile.
 */
static int dm_state_reopen(int fd, int mode, const char *what, const char *path,
                           GError **errp)
{
    g_autofree char *proc = g_strdup_printf("/proc/self/fd/%d", fd);
    int nfd = open(proc, mode | O_NONBLOCK | O_CLOEXEC);

    if (nfd < 0) {
        dm_state_fail(what, path,
                      errno == ENXIO ? "the pipe has no reader"
                                     : g_strerror(errno),
                      errp);
    }
    return nfd;
}

/* One chunk from a non-blocking pipe (fd) or socket: bytes, 0 at the
   end, -1 with errno (EAGAIN: nothing now). */
static ssize_t dm_state_recv(int fd, bool sock, void *buf, size_t len)
{
    ssize_t n;

    do {
        n = sock ? recv(fd, buf, len, MSG_DONTWAIT) : read(fd, buf, len);
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

static bool dm_state_read_stream(int fd, bool sock, const char *path,
                                 GByteArray **out, GError **errp)
{
    g_autoptr(GByteArray) a = g_byte_array_new();
    uint8_t chunk[DM_STATE_IO_CHUNK];
    ssize_t n;

    while ((n = dm_state_recv(fd, sock, chunk, sizeof(chunk))) > 0) {
        if (a->len + (size_t)n > VMS_MAX_STREAM_SIZE) {
            ls_error_set(errp, "%s: device state larger than the %u byte cap",
                         path, VMS_MAX_STREAM_SIZE);
            return false;
        }
        g_byte_array_append(a, chunk, (guint)n);
    }
    if (n < 0) {
        return dm_state_fail("read", path, dm_state_read_why(errno, a->len),
                             errp);
    }
    if (a->len == 0) {
        return dm_state_fail("read", path,
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
    bool ok;
    int nfd;

    if (fstat(fd, &st) < 0) {
        return dm_state_fail("read", path, g_strerror(errno), errp);
    }
    if (S_ISREG(st.st_mode)) {
        if (!vms_read_fd(fd, out, errp)) {
            g_prefix_error(errp, "%s: ", path);
            return false;
        }
        return true;
    }
    if (S_ISSOCK(st.st_mode)) {
        return dm_state_read_stream(fd, true, path, out, errp);
    }
    if (!S_ISFIFO(st.st_mode)) {
        return dm_state_fail("read", path,
                             "not a regular file, pipe, FIFO or socket", errp);
    }
    nfd = dm_state_reopen(fd, O_RDONLY, "read", path, errp);
    if (nfd < 0) {
        return false;
    }
    ok = dm_state_read_stream(nfd, false, path, out, errp);
    close(nfd);
    return ok;
}

static bool dm_state_write_stream(int fd, bool sock, const char *path,
                                  const uint8_t *p, size_t len, GError **errp)
{
    while (len > 0) {
        ssize_t n;

        do {
            n = sock ? send(fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL)
                     : write(fd, p, len);
        } while (n < 0 && errno == EINTR);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return dm_state_fail("write", path,
                                 "the pipe is full and its reader is not "
                                 "taking the data (lockstep-dm does not "
                                 "wait on a pipe or FIFO)",
                                 errp);
        }
        if (n <= 0) {
            return dm_state_fail(
                "write", path, n < 0 ? g_strerror(errno) : "short write", errp);
        }
        p += n;
        len -= (size_t)n;
    }
    return true;
}

bool dm_state_write_fd(int fd, const char *path, const void *buf, size_t len,
                       GError **errp)
{
    struct stat st;
    bool ok;
    int nfd;

    if (fstat(fd, &st) < 0) {
        return dm_state_fail("write", path, g_strerror(errno), errp);
    }
    if (S_ISSOCK(st.st_mode)) {
        return dm_state_write_stream(fd, true, path, buf, len, errp);
    }
    if (!S_ISFIFO(st.st_mode)) {
        return vms_write_fd(fd, buf, len, errp);
    }
    nfd = dm_state_reopen(fd, O_WRONLY, "write", path, errp);
    if (nfd < 0) {
        return false;
    }
    ok = dm_state_write_stream(nfd, false, path, buf, len, errp);
    close(nfd);
    return ok;
}
