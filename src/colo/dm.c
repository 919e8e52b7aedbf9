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

/* One memfd passed to the dm as an fd set of two descriptions. */
typedef struct ColoDmFile {
    int memfd;     /* the bytes */
    int wr_fd;     /* write-only description: the dm saves through it */
    int rd_fd;     /* read-only description: the dm loads through it */
    int64_t fdset; /* -1 until add-fd succeeded */
    char *path;    /* "/dev/fdset/N" */
} ColoDmFile;

struct ColoDm {
    QmpClient *qmp;
    ColoDmFile dev;    /* device state */
    ColoDmFile ram;    /* the RAM stream (set up only when ram_size > 0) */
    uint64_t ram_size; /* 0: the dm has no guest RAM we can carry */
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

static bool colo_dm_add_fd(ColoDm *dm, ColoDmFile *f, int fd, GError **errp)
{
    json_t *args = json_object();
    json_t *r;

    if (f->fdset >= 0) {
        json_object_set_new(args, "fdset-id", json_integer(f->fdset));
    }
    json_object_set_new(args, "opaque", json_string("lockstep-colo"));
    r = colo_dm_exec(dm, "add-fd", args, fd, errp);
    if (!r) {
        return false;
    }
    f->fdset = json_integer_value(json_object_get(r, "fdset-id"));
    json_decref(r);
    return true;
}

static void colo_dm_file_init(ColoDmFile *f)
{
    f->memfd = f->wr_fd = f->rd_fd = -1;
    f->fdset = -1;
    f->path = NULL;
}

static bool colo_dm_setup_fdset(ColoDm *dm, ColoDmFile *f, const char *name,
                                GError **errp)
{
    f->memfd = memfd_create(name, MFD_CLOEXEC);
    if (f->memfd < 0) {
        ls_error_set(errp, "memfd_create: %s", g_strerror(errno));
        return false;
    }
    f->wr_fd = colo_dm_reopen(f->memfd, O_WRONLY, errp);
    if (f->wr_fd < 0) {
        return false;
    }
    f->rd_fd = colo_dm_reopen(f->memfd, O_RDONLY, errp);
    if (f->rd_fd < 0) {
        return false;
    }
    if (!colo_dm_add_fd(dm, f, f->wr_fd, errp) ||
        !colo_dm_add_fd(dm, f, f->rd_fd, errp)) {
        return false;
    }
    f->path = g_strdup_printf("/dev/fdset/%" G_GINT64_FORMAT, f->fdset);
    return true;
}

/* The dm's guest RAM size, 0 when it has none (QEMU 7.2, which lacks the
   command, or lockstep-dm without -m). False only when the dm is lost. */
static bool colo_dm_query_ram(ColoDm *dm, GError **errp)
{
    g_autoptr(GError) err = NULL;
    json_t *r = colo_dm_exec(dm, "x-lockstep-query-ram", NULL, -1, &err);

    dm->ram_size = 0;
    if (!r) {
        if (!qmp_client_usable(dm->qmp)) {
            g_propagate_error(errp, g_steal_pointer(&err));
            return false;
        }
        return true;
    }
    dm->ram_size = (uint64_t)json_integer_value(json_object_get(r, "size"));
    json_decref(r);
    return true;
}

ColoDm *colo_dm_connect(const char *addr, int timeout_ms, GError **errp)
{
    ColoDm *dm = g_new0(ColoDm, 1);

    colo_dm_file_init(&dm->dev);
    colo_dm_file_init(&dm->ram);
    dm->qmp = qmp_client_connect(addr, 0, timeout_ms, errp);
    if (!dm->qmp || !colo_dm_setup_fdset(dm, &dm->dev, "lockstep-colo", errp) ||
        !colo_dm_query_ram(dm, errp) ||
        (dm->ram_size &&
         !colo_dm_setup_fdset(dm, &dm->ram, "lockstep-colo-ram", errp))) {
        g_prefix_error(errp, "dm at %s: ", addr);
        colo_dm_free(dm);
        return NULL;
    }
    return dm;
}

static void colo_dm_file_free(ColoDm *dm, ColoDmFile *f)
{
    int *fds[] = {&f->memfd, &f->wr_fd, &f->rd_fd};

    if (dm->qmp && f->fdset >= 0 && qmp_client_usable(dm->qmp)) {
        json_t *args = json_pack("{sI}", "fdset-id", (json_int_t)f->fdset);
        json_decref(qmp_client_execute(dm->qmp, "remove-fd", args, -1, NULL));
    }
    for (size_t i = 0; i < G_N_ELEMENTS(fds); i++) {
        if (*fds[i] >= 0) {
            close(*fds[i]);
        }
    }
    g_free(f->path);
}

void colo_dm_free(ColoDm *dm)
{
    if (!dm) {
        return;
    }
    colo_dm_file_free(dm, &dm->dev);
    colo_dm_file_free(dm, &dm->ram);
    qmp_client_free(dm->qmp);
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
static bool colo_dm_rewind(ColoDmFile *f, GError **errp)
{
    if (ftruncate(f->memfd, 0) < 0 || lseek(f->wr_fd, 0, SEEK_SET) < 0 ||
        lseek(f->rd_fd, 0, SEEK_SET) < 0) {
        ls_error_set(errp, "cannot reset the memfd: %s", g_strerror(errno));
        return false;
    }
    return true;
}

static GBytes *colo_dm_read_memfd(ColoDmFile *f, size_t max_len, GError **errp)
{
    struct stat st;
    uint8_t *buf;
    size_t got = 0;

    if (fstat(f->memfd, &st) < 0) {
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
            pread(f->memfd, buf + got, (size_t)st.st_size - got, (off_t)got);
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

static bool colo_dm_write_memfd(ColoDmFile *f, const uint8_t *data, size_t len,
                                GError **errp)
{
    size_t done = 0;

    if (!colo_dm_rewind(f, errp)) {
        return false;
    }
    while (done < len) {
        ssize_t n = pwrite(f->memfd, data + done, len - done, (off_t)done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            ls_error_set(errp, "writing the memfd: %s", g_strerror(errno));
            return false;
        }
        done += (size_t)n;
    }
    return true;
}

GBytes *colo_dm_save(ColoDm *dm, size_t max_len, GError **errp)
{
    json_t *args;

    if (!colo_dm_rewind(&dm->dev, errp)) {
        return NULL;
    }
    args = json_pack("{ss}", "filename", dm->dev.path);
    if (!colo_dm_exec_ok(dm, "xen-save-devices-state", args, errp)) {
        return NULL;
    }
    return colo_dm_read_memfd(&dm->dev, max_len, errp);
}

bool colo_dm_load(ColoDm *dm, const uint8_t *state, size_t len, GError **errp)
{
    if (!colo_dm_write_memfd(&dm->dev, state, len, errp)) {
        return false;
    }
    return colo_dm_exec_ok(dm, "xen-load-devices-state",
                           json_pack("{ss}", "filename", dm->dev.path), errp);
}

uint64_t colo_dm_ram_size(const ColoDm *dm)
{
    return dm->ram_size;
}

bool colo_dm_set_dirty_log(ColoDm *dm, bool enable, GError **errp)
{
    return colo_dm_exec_ok(dm, "xen-set-global-dirty-log",
                           json_pack("{sb}", "enable", enable), errp);
}

GBytes *colo_dm_save_ram(ColoDm *dm, bool dirty, size_t max_len,
                         uint64_t *pages, GError **errp)
{
    json_t *r;

    if (!dm->ram_size) {
        ls_error_set(errp, "the dm has no guest RAM");
        return NULL;
    }
    if (!colo_dm_rewind(&dm->ram, errp)) {
        return NULL;
    }
    r = colo_dm_exec(
        dm, "x-lockstep-save-ram",
        json_pack("{ss, sb}", "filename", dm->ram.path, "dirty", dirty), -1,
        errp);
    if (!r) {
        return NULL;
    }
    *pages = (uint64_t)json_integer_value(json_object_get(r, "pages"));
    json_decref(r);
    return colo_dm_read_memfd(&dm->ram, max_len, errp);
}

bool colo_dm_load_checkpoint(ColoDm *dm, const uint8_t *state, size_t len,
                             const uint8_t *ram, size_t ram_len, GError **errp)
{
    if (!dm->ram_size) {
        ls_error_set(errp, "the checkpoint carries RAM, and this dm has none "
                           "(start it with -m)");
        return false;
    }
    if (!colo_dm_write_memfd(&dm->dev, state, len, errp) ||
        !colo_dm_write_memfd(&dm->ram, ram, ram_len, errp)) {
        return false;
    }
    return colo_dm_exec_ok(
        dm, "x-lockstep-load-checkpoint",
        json_pack("{ss, ss}", "devices", dm->dev.path, "ram", dm->ram.path),
        errp);
}

void colo_dm_drop_events(ColoDm *dm)
{
    json_t *ev;

    while ((ev = qmp_client_next_event(dm->qmp, 0, NULL))) {
        json_decref(ev);
    }
}
