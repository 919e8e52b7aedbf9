/*
 * The coordinator's QMP view of its dm: see dm.h.
 */
#include "colo/dm.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "qmp/client.h"

struct ColoDm {
    QmpClient *qmp;
    int memfd;     /* the bytes */
    int wr_fd;     /* write-only description: the dm saves through it */
    int rd_fd;     /* read-only description: the dm loads through it */
    int64_t fdset; /* -1 until add-fd succeeded */
    char *path;    /* "/dev/fdset/N" */
};

static json_t *colo_dm_exec(ColoDm *dm, const char *cmd, json_t *args, int fd,
                            GError **errp)
{
    json_t *r = qmp_client_execute(dm->qmp, cmd, args, fd, errp);

    if (!r) {
        g_prefix_error(errp, "%s: ", cmd);
    }
    return r;
}

static bool colo_dm_exec_ok(ColoDm *dm, const char *cmd, json_t *args,
                            GError **errp)
{
    json_t *r = colo_dm_exec(dm, cmd, args, -1, errp);

    json_decref(r);
    return r != NULL;
}

/* A second open file description of the memfd, with its own access mode. */
static int colo_dm_reopen(int memfd, int flags, GError **errp)
{
    g_autofree char *p = g_strdup_printf("/proc/self/fd/%d", memfd);
    int fd = open(p, flags | O_CLOEXEC);

    if (fd < 0) {
        ls_error_set(errp, "cannot reopen the memfd: %s", g_strerror(errno));
    }
    return fd;
}

static bool colo_dm_add_fd(ColoDm *dm, int fd, GError **errp)
{
    json_t *args = json_object();
    json_t *r;

    if (dm->fdset >= 0) {
        json_object_set_new(args, "fdset-id", json_integer(dm->fdset));
    }
    json_object_set_new(args, "opaque", json_string("lockstep-colo"));
    r = colo_dm_exec(dm, "add-fd", args, fd, errp);
    if (!r) {
        return false;
    }
    dm->fdset = json_integer_value(json_object_get(r, "fdset-id"));
    json_decref(r);
    return true;
}

static bool colo_dm_setup_fdset(ColoDm *dm, GError **errp)
{
    dm->memfd = memfd_create("lockstep-colo", MFD_CLOEXEC);
    if (dm->memfd < 0) {
        ls_error_set(errp, "memfd_create: %s", g_strerror(errno));
        return false;
    }
    dm->wr_fd = colo_dm_reopen(dm->memfd, O_WRONLY, errp);
    if (dm->wr_fd < 0) {
        return false;
    }
    dm->rd_fd = colo_dm_reopen(dm->memfd, O_RDONLY, errp);
    if (dm->rd_fd < 0) {
        return false;
    }
    if (!colo_dm_add_fd(dm, dm->wr_fd, errp) ||
        !colo_dm_add_fd(dm, dm->rd_fd, errp)) {
        return false;
    }
    dm->path = g_strdup_printf("/dev/fdset/%" G_GINT64_FORMAT, dm->fdset);
    return true;
}

ColoDm *colo_dm_connect(const char *addr, int timeout_ms, GError **errp)
{
    ColoDm *dm = g_new0(ColoDm, 1);

    dm->memfd = dm->wr_fd = dm->rd_fd = -1;
    dm->fdset = -1;
    dm->qmp = qmp_client_connect(addr, 0, timeout_ms, errp);
    if (!dm->qmp || !colo_dm_setup_fdset(dm, errp)) {
        g_prefix_error(errp, "dm at %s: ", addr);
        colo_dm_free(dm);
        return NULL;
    }
    return dm;
}

void colo_dm_free(ColoDm *dm)
{
    if (!dm) {
        return;
    }
    if (dm->qmp && dm->fdset >= 0 && qmp_client_usable(dm->qmp)) {
        json_t *args = json_pack("{sI}", "fdset-id", (json_int_t)dm->fdset);
        json_decref(qmp_client_execute(dm->qmp, "remove-fd", args, -1, NULL));
    }
    qmp_client_free(dm->qmp);
    if (dm->memfd >= 0) {
        close(dm->memfd);
    }
    if (dm->wr_fd >= 0) {
        close(dm->wr_fd);
    }
    if (dm->rd_fd >= 0) {
        close(dm->rd_fd);
    }
    g_free(dm->path);
    g_free(dm);
}

bool colo_dm_usable(const ColoDm *dm)
{
    return qmp_client_usable(dm->qmp);
}

bool colo_dm_stop(ColoDm *dm, GError **errp)
{
    return colo_dm_exec_ok(dm, "stop", NULL, errp);
}

bool colo_dm_cont(ColoDm *dm, GError **errp)
{
    return colo_dm_exec_ok(dm, "cont", NULL, errp);
}

char *colo_dm_status(ColoDm *dm, GError **errp)
{
    json_t *r = colo_dm_exec(dm, "query-status", NULL, -1, errp);
    char *s;

    if (!r) {
        return NULL;
    }
    s = g_strdup(json_string_value(json_object_get(r, "status")));
    json_decref(r);
    return s ? s : g_strdup("unknown");
}

/* Empties the memfd and puts both descriptions back at offset 0. */
static bool colo_dm_rewind(ColoDm *dm, GError **errp)
{
    if (ftruncate(dm->memfd, 0) < 0 || lseek(dm->wr_fd, 0, SEEK_SET) < 0 ||
        lseek(dm->rd_fd, 0, SEEK_SET) < 0) {
        ls_error_set(errp, "cannot reset the memfd: %s", g_strerror(errno));
        return false;
    }
    return true;
}

static GBytes *colo_dm_read_memfd(ColoDm *dm, size_t max_len, GError **errp)
{
    struct stat st;
    uint8_t *buf;
    size_t got = 0;

    if (fstat(dm->memfd, &st) < 0) {
        ls_error_set(errp, "fstat on the memfd: %s", g_strerror(errno));
        return NULL;
    }
    if (st.st_size <= 0 || (uint64_t)st.st_size > max_len) {
        ls_error_set(errp, "the dm saved %lld bytes (cap %zu)",
                     (long long)st.st_size, max_len);
        return NULL;
    }
    buf = g_malloc((size_t)st.st_size);
    while (got < (size_t)st.st_size) {
        ssize_t n =
            pread(dm->memfd, buf + got, (size_t)st.st_size - got, (off_t)got);
        if (n <= 0 && !(n < 0 && errno == EINTR)) {
            ls_error_set(errp, "reading the memfd: %s",
                         n < 0 ? g_strerror(errno) : "short read");
            g_free(buf);
            return NULL;
        }
        got += n > 0 ? (size_t)n : 0;
    }
    return g_bytes_new_take(buf, got);
}

GBytes *colo_dm_save(ColoDm *dm, size_t max_len, GError **errp)
{
    json_t *args;

    if (!colo_dm_rewind(dm, errp)) {
        return NULL;
    }
    args = json_pack("{ss}", "filename", dm->path);
    if (!colo_dm_exec_ok(dm, "xen-save-devices-state", args, errp)) {
        return NULL;
    }
    return colo_dm_read_memfd(dm, max_len, errp);
}

bool colo_dm_load(ColoDm *dm, const uint8_t *state, size_t len, GError **errp)
{
    size_t done = 0;

    if (!colo_dm_rewind(dm, errp)) {
        return false;
    }
    while (done < len) {
        ssize_t n = pwrite(dm->memfd, state + done, len - done, (off_t)done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            ls_error_set(errp, "writing the memfd: %s", g_strerror(errno));
            return false;
        }
        done += (size_t)n;
    }
    return colo_dm_exec_ok(dm, "xen-load-devices-state",
                           json_pack("{ss}", "filename", dm->path), errp);
}

void colo_dm_drop_events(ColoDm *dm)
{
    json_t *ev;

    while ((ev = qmp_client_next_event(dm->qmp, 0, NULL))) {
        json_decref(ev);
    }
}
