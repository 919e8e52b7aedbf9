/*
 * Whole-stream file I/O: saves that keep what the path means (see
 * vms_write_file in vms.h and docs/format.md, "Where a save goes"), write
 * to an open fd, and capped whole-file reads. Leaves out fsync of the
 * directory after rename (QEMU does not do it either; a caller that needs
 * durability across power loss can), and ACLs and extended attributes of
 * a replaced file (mode and owner are kept).
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
    size_t done = 0;

    while (done < len) {
        ssize_t n = write(fd, p + done, len - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            ls_error_set(errp,
                         "Unable to write device state: the reader is not "
                         "taking it (%zu of %zu bytes written)",
                         done, len);
            return false;
        }
        if (n <= 0) {
            ls_error_set(errp, "Unable to write device state: %s",
                         n < 0 ? g_strerror(errno) : "short write");
            return false;
        }
        done += (size_t)n;
    }
    return true;
}

/*
 * The name an open() of `path` would write: symbolic links followed (at
 * most VMS_MAX_SYMLINK_HOPS), relative ones against their own directory.
 * The result may not exist (a dangling link names the file to create).
 */
static char *vms_resolve_target(const char *path, GError **errp)
{
    g_autofree char *p = g_strdup(path);

    for (unsigned hops = 0;; hops++) {
        g_autofree char *link = g_file_read_link(p, NULL);
        if (!link) {
            return g_steal_pointer(&p);
        }
        if (hops == VMS_MAX_SYMLINK_HOPS) {
            ls_error_set(errp, "Unable to open %s: %s", path,
                         g_strerror(ELOOP));
            return NULL;
        }
        if (g_path_is_absolute(link)) {
            g_free(p);
            p = g_steal_pointer(&link);
        } else {
            g_autofree char *dir = g_path_get_dirname(p);
            g_free(p);
            p = g_build_filename(dir, link, NULL);
        }
    }
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
 * Puts `tmp` in place of `target`. Replacing an existing file with
 * rename() frees the old inode inside the call (about 100 us on ext4
 * here, the bulk of a checkpoint's save); exchanging the two names instead
 * is a few microseconds and leaves the old contents under `tmp`, which the
 * caller removes later. Readers see the old file or the new one, never a
 * mix. Falls back to rename() where the target is missing or the file
 * system cannot exchange. Returns true with *stale set when exchanged.
 */
static bool vms_install(const char *tmp, const char *target, bool exists,
                        bool *stale)
{
    *stale = false;
#ifdef RENAME_EXCHANGE
    if (exists &&
        renameat2(AT_FDCWD, tmp, AT_FDCWD, target, RENAME_EXCHANGE) == 0) {
        *stale = true;
        return true;
    }
#endif
    return rename(tmp, target) == 0;
}

/* Gives the new file the old one's mode and owner (owner first: chown
   clears set-id bits), with no call for what already matches. False when
   the owner cannot be given (not root, another owner): the caller writes
   in place. */
static bool vms_keep_attrs(int fd, const struct stat *old)
{
    mode_t mode = old->st_mode & 07777;
    struct stat st;
    bool chowned;

    if (fstat(fd, &st) < 0) {
        return false;
    }
    chowned = st.st_uid != old->st_uid || st.st_gid != old->st_gid;
    if (chowned && fchown(fd, old->st_uid, old->st_gid) < 0) {
        return false;
    }
    if (!chowned && (st.st_mode & 07777) == mode) {
        return true;
    }
    return fchmod(fd, mode) == 0;
}

/*
 * Opens `path` and writes into it as QEMU does: truncating a regular file,
 * in place for a FIFO or a device. O_NONBLOCK: a FIFO nobody reads is
 * refused at open (ENXIO) instead of blocking the caller, and a reader
 * that stops taking bytes fails the write (vms_write_fd). O_NOCTTY: a
 * terminal given as the target never becomes the daemon's.
 */
static bool vms_write_in_place(const char *path, bool regular, const void *buf,
                               size_t len, bool do_fsync, GError **errp)
{
    int flags =
        O_WRONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | (regular ? O_TRUNC : 0);
    int fd = open(path, flags);
    bool ok;

    if (fd < 0 && errno == ENXIO && !regular) {
        ls_error_set(errp,
                     "Unable to open %s: no process has it open for "
                     "reading (a save does not wait for a reader)",
                     path);
        return false;
    }
    if (fd < 0) {
        ls_error_set(errp, "Unable to open %s: %s", path, g_strerror(errno));
        return false;
    }
    ok = vms_write_fd(fd, buf, len, errp);
    if (ok && regular && do_fsync && fsync(fd) < 0) {
        ls_error_set(errp, "Unable to sync %s: %s", path, g_strerror(errno));
        ok = false;
    }
    if (!ok) {
        g_prefix_error(errp, "%s: ", path);
    }
    close(fd);
    return ok;
}

/*
 * The atomic path: a temporary file beside `target` (the resolved name),
 * given `old`'s mode and owner when it exists, then swapped in. Falls
 * back to writing in place when the owner cannot be kept.
 */
static bool vms_write_replace(const char *path, const char *target,
                              const struct stat *old, const void *buf,
                              size_t len, bool do_fsync, char **stale,
                              GError **errp)
{
    g_autofree char *dir = g_path_get_dirname(target);
    g_autofree char *base = g_path_get_basename(target);
    g_autofree char *tmp = g_strdup_printf("%s/.%s.XXXXXX", dir, base);
    int fd = g_mkstemp_full(tmp, O_WRONLY | O_CLOEXEC, 0660);
    bool exchanged = false;

    if (fd < 0) {
        ls_error_set(errp, "Unable to open %s: %s", path, g_strerror(errno));
        return false;
    }
    if (old && !vms_keep_attrs(fd, old)) {
        close(fd);
        unlink(tmp);
        return vms_write_in_place(path, true, buf, len, do_fsync, errp);
    }
    bool ok = vms_write_tmp(fd, tmp, buf, len, do_fsync, errp);
    if (close(fd) < 0 && ok) {
        ls_error_set(errp, "Unable to close %s: %s", tmp, g_strerror(errno));
        ok = false;
    }
    if (ok && !vms_install(tmp, target, old != NULL, &exchanged)) {
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

bool vms_write_file_stale(const char *path, const void *buf, size_t len,
                          bool do_fsync, char **stale, GError **errp)
{
    g_autofree char *target = vms_resolve_target(path, errp);
    struct stat st;

    *stale = NULL;
    if (!target) {
        return false;
    }
    if (lstat(target, &st) < 0) {
        if (errno != ENOENT) {
            ls_error_set(errp, "Unable to open %s: %s", path,
                         g_strerror(errno));
            return false;
        }
        return vms_write_replace(path, target, NULL, buf, len, do_fsync, stale,
                                 errp);
    }
    if (S_ISDIR(st.st_mode)) {
        ls_error_set(errp, "Unable to open %s: %s", path, g_strerror(EISDIR));
        return false;
    }
    if (!S_ISREG(st.st_mode) || st.st_nlink > 1) {
        return vms_write_in_place(path, S_ISREG(st.st_mode), buf, len, do_fsync,
                                  errp);
    }
    return vms_write_replace(path, target, &st, buf, len, do_fsync, stale,
                             errp);
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
