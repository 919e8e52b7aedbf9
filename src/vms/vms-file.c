/*
 * Whole-stream file I/O: atomic write (temporary file beside the target,
 * optional fsync, rename), write to an open fd, and capped whole-file
 * reads. Leaves out fsync of the directory after rename (QEMU does not do
 * it either; a caller that needs durability across power loss can).
 */
#include "vms/vms-internal.h"
#include "base/error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool vms_write_fd(int fd, const void *buf, size_t len, GError **errp)
{
    const uint8_t *p = buf;

    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            ls_error_set(errp, "Unable to write device state: %s",
                         n < 0 ? g_strerror(errno) : "short write");
            return false;
        }
        p += n;
        len -= (size_t)n;
    }
    return true;
}

static bool vms_write_tmp(int fd, const char *tmp, const void *buf, size_t len,
                          bool do_fsync, GError **errp)
{
    if (!vms_write_fd(fd, buf, len, errp)) {
        g_prefix_error(errp, "%s: ", tmp);
        return false;
    }
    if (do_fsync && fsync(fd) < 0) {
        ls_error_set(errp, "Unable to sync %s: %s", tmp, g_strerror(errno));
        return false;
    }
    return true;
}

/*
 * Puts `tmp` in place of `path`. Replacing an existing file with rename()
 * frees the old inode inside the call (about 100 us on ext4 here, the
 * bulk of a checkpoint's save); exchanging the two names instead is a few
 * microseconds and leaves the old contents under `tmp`, which the caller
 * removes later. Readers see the old file or the new one, never a mix.
 * Falls back to rename() where the target is missing or the file system
 * cannot exchange. Returns true with *stale set to `tmp` when exchanged.
 */
static bool vms_install(const char *tmp, const char *path, bool *stale)
{
    struct stat st;

    *stale = false;
#ifdef RENAME_EXCHANGE
    /* Only a regular file is exchanged: rename() refuses to replace a
       directory, and so must we. */
    if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) &&
        renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_EXCHANGE) == 0) {
        *stale = true;
        return true;
    }
#endif
    return rename(tmp, path) == 0;
}

bool vms_write_file_stale(const char *path, const void *buf, size_t len,
                          bool do_fsync, char **stale, GError **errp)
{
    g_autofree char *dir = g_path_get_dirname(path);
    g_autofree char *base = g_path_get_basename(path);
    g_autofree char *tmp = g_strdup_printf("%s/.%s.XXXXXX", dir, base);
    int fd = g_mkstemp_full(tmp, O_WRONLY | O_CLOEXEC, 0660);
    bool exchanged = false;

    *stale = NULL;
    if (fd < 0) {
        ls_error_set(errp, "Unable to open %s: %s", path, g_strerror(errno));
        return false;
    }
    bool ok = vms_write_tmp(fd, tmp, buf, len, do_fsync, errp);
    if (close(fd) < 0 && ok) {
        ls_error_set(errp, "Unable to close %s: %s", tmp, g_strerror(errno));
        ok = false;
    }
    if (ok && !vms_install(tmp, path, &exchanged)) {
        ls_error_set(errp, "Unable to open %s: %s", path, g_strerror(errno));
        ok = false;
    }
    if (!ok) {
        unlink(tmp);
    } else if (exchanged) {
        *stale = g_steal_pointer(&tmp);
    }
    return ok;
}

bool vms_write_file(const char *path, const void *buf, size_t len,
                    bool do_fsync, GError **errp)
{
    g_autofree char *stale = NULL;

    if (!vms_write_file_stale(path, buf, len, do_fsync, &stale, errp)) {
        return false;
    }
    if (stale) {
        unlink(stale);
    }
    return true;
}

bool vms_read_fd(int fd, GByteArray **out, GError **errp)
{
    g_autoptr(GByteArray) a = g_byte_array_new();
    uint8_t chunk[65536];

    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            ls_error_set(errp, "Unable to read device state: %s",
                         g_strerror(errno));
            return false;
        }
        if (n == 0) {
            break;
        }
        if (a->len + (size_t)n > VMS_MAX_STREAM_SIZE) {
            ls_error_set(errp, "device state larger than the %u byte cap",
                         VMS_MAX_STREAM_SIZE);
            return false;
        }
        g_byte_array_append(a, chunk, (guint)n);
    }
    *out = g_steal_pointer(&a);
    return true;
}

bool vms_read_file(const char *path, GByteArray **out, GError **errp)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        ls_error_set(errp, "Unable to open %s: %s", path, g_strerror(errno));
        return false;
    }
    bool ok = vms_read_fd(fd, out, errp);
    if (!ok) {
        g_prefix_error(errp, "%s: ", path);
    }
    close(fd);
    return ok;
}
