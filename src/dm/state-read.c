/*
 * Non-blocking read of a device-state source (see state-read.h).
 */
#include "dm/state-read.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "vms/vms.h"

#define DM_STATE_READ_CHUNK 65536

int dm_state_open(const char *path, GError **errp)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);

    if (fd < 0) {
        ls_error_set(errp, "Unable to open %s: %s", path, g_strerror(errno));
    }
    return fd;
}

/* 1: data or end of stream ready, 0: nothing now, -1: error (errno). */
static int dm_state_ready(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int n;

    do {
        n = poll(&p, 1, 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        return -1;
    }
    return n > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR)) ? 1 : 0;
}

static bool dm_state_read_fail(const char *path, const char *why, GError **errp)
{
    ls_error_set(errp, "Unable to read device state from %s: %s", path, why);
    return false;
}

/* Appends one chunk; *eof at the end of the stream. */
static bool dm_state_read_chunk(int fd, const char *path, GByteArray *a,
                                bool *eof, GError **errp)
{
    uint8_t chunk[DM_STATE_READ_CHUNK];
    ssize_t n;

    do {
        n = read(fd, chunk, sizeof(chunk));
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        return dm_state_read_fail(path, g_strerror(errno), errp);
    }
    if (a->len + (size_t)n > VMS_MAX_STREAM_SIZE) {
        ls_error_set(errp, "%s: device state larger than the %u byte cap", path,
                     VMS_MAX_STREAM_SIZE);
        return false;
    }
    g_byte_array_append(a, chunk, (guint)n);
    *eof = n == 0;
    return true;
}

static bool dm_state_read_stream(int fd, const char *path, GByteArray **out,
                                 GError **errp)
{
    g_autoptr(GByteArray) a = g_byte_array_new();
    bool eof = false;

    while (!eof) {
        int ready = dm_state_ready(fd);

        if (ready < 0) {
            return dm_state_read_fail(path, g_strerror(errno), errp);
        }
        if (ready == 0) {
            return dm_state_read_fail(
                path,
                a->len ? "no more data now and its writer has not closed it "
                         "(lockstep-dm does not wait on a pipe or FIFO)"
                       : "no data, and no writer has closed it "
                         "(lockstep-dm does not wait on a pipe or FIFO)",
                errp);
        }
        if (!dm_state_read_chunk(fd, path, a, &eof, errp)) {
            return false;
        }
    }
    if (a->len == 0) {
        return dm_state_read_fail(path, "it is empty", errp);
    }
    *out = g_steal_pointer(&a);
    return true;
}

bool dm_state_read_fd(int fd, const char *path, GByteArray **out, GError **errp)
{
    struct stat st;

    if (fstat(fd, &st) < 0) {
        return dm_state_read_fail(path, g_strerror(errno), errp);
    }
    if (S_ISREG(st.st_mode)) {
        if (!vms_read_fd(fd, out, errp)) {
            g_prefix_error(errp, "%s: ", path);
            return false;
        }
        return true;
    }
    if (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)) {
        return dm_state_read_stream(fd, path, out, errp);
    }
    return dm_state_read_fail(path, "not a regular file, pipe, FIFO or socket",
                              errp);
}
