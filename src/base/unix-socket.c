/*
 * Unix stream sockets with one unlink policy (see unix-socket.h).
 */
#include "base/unix-socket.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/error.h"

static bool ls_unix_addr(const char *path, struct sockaddr_un *sa, int *err)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    if (!*path || strlen(path) >= sizeof(sa->sun_path)) {
        *err = *path ? ENAMETOOLONG : ENOENT;
        return false;
    }
    memcpy(sa->sun_path, path, strlen(path) + 1);
    return true;
}

static int ls_unix_socket(bool nonblock)
{
    return socket(AF_UNIX,
                  SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0),
                  0);
}

/* 0: connected, else the errno of the failure. */
static int ls_unix_try_connect(int fd, const struct sockaddr_un *sa)
{
    while (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0) {
        if (errno != EINTR) {
            return errno;
        }
    }
    return 0;
}

/* Unlinks a socket file nobody accepts on; 0, or EADDRINUSE if the file
   is not a socket or a process listens on it. */
static int ls_unix_clear_stale(const struct sockaddr_un *sa)
{
    struct stat st;
    int probe, err;

    if (lstat(sa->sun_path, &st) < 0) {
        return 0; /* nothing there (or bind reports why) */
    }
    if (!S_ISSOCK(st.st_mode)) {
        return EADDRINUSE;
    }
    probe = ls_unix_socket(true);
    if (probe < 0) {
        return errno;
    }
    err = ls_unix_try_connect(probe, sa);
    close(probe);
    if (err != ECONNREFUSED) {
        return EADDRINUSE; /* connected, or a full backlog: it is live */
    }
    unlink(sa->sun_path);
    return 0;
}

/* Binds with the file owner-only before anyone can connect. On Linux the
   file takes the mode fchmod gave the socket before bind: no window at
   all. Where it does not, chmod before listen(): nobody can connect to a
   socket that does not listen yet. 0, else the errno. */
static int ls_unix_bind_private(int fd, const struct sockaddr_un *sa)
{
    struct stat st;

    if (fchmod(fd, LS_UNIX_SOCKET_MODE) < 0 && errno != EINVAL) {
        return errno;
    }
    if (bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0 ||
        lstat(sa->sun_path, &st) < 0) {
        return errno;
    }
    if ((st.st_mode & 0777) != LS_UNIX_SOCKET_MODE &&
        chmod(sa->sun_path, LS_UNIX_SOCKET_MODE) < 0) {
        int err = errno;
        unlink(sa->sun_path);
        return err;
    }
    return 0;
}

static LsUnixBound *ls_unix_bound_new(const char *path)
{
    LsUnixBound *b = g_new0(LsUnixBound, 1);
    struct stat st;

    b->path = g_strdup(path);
    if (lstat(path, &st) == 0) {
        b->dev = st.st_dev;
        b->ino = st.st_ino;
    }
    return b;
}

int ls_unix_listen(const char *path, int backlog, bool nonblock,
                   LsUnixBound **bound, GError **errp)
{
    struct sockaddr_un sa;
    int err = 0;
    int fd = -1;

    if (ls_unix_addr(path, &sa, &err) && !(err = ls_unix_clear_stale(&sa))) {
        fd = ls_unix_socket(nonblock);
        err = fd < 0 ? errno : ls_unix_bind_private(fd, &sa);
        if (!err && listen(fd, backlog) < 0) {
            err = errno;
        }
    }
    if (err) {
        if (fd >= 0) {
            close(fd);
        }
        ls_error_set(errp, "Failed to bind socket to %s: %s", path,
                     g_strerror(err));
        return -1;
    }
    *bound = ls_unix_bound_new(path);
    return fd;
}

int ls_unix_connect(const char *path, bool nonblock, GError **errp)
{
    struct sockaddr_un sa;
    int err = 0;
    int fd = -1;

    if (ls_unix_addr(path, &sa, &err)) {
        fd = ls_unix_socket(nonblock);
        err = fd < 0 ? errno : ls_unix_try_connect(fd, &sa);
    }
    if (err) {
        if (fd >= 0) {
            close(fd);
        }
        ls_error_set(errp, "Failed to connect to '%s': %s", path,
                     g_strerror(err));
        return -1;
    }
    return fd;
}

void ls_unix_bound_free(LsUnixBound *b)
{
    if (b) {
        g_free(b->path);
        g_free(b);
    }
}

void ls_unix_bound_release(LsUnixBound *b)
{
    struct stat st;

    if (!b) {
        return;
    }
    if (lstat(b->path, &st) == 0 && S_ISSOCK(st.st_mode) &&
        st.st_dev == b->dev && st.st_ino == b->ino) {
        unlink(b->path);
    }
    ls_unix_bound_free(b);
}
