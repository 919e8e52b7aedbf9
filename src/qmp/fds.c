/*
 * QMP fd passing as QEMU 7.2's monitor does it: getfd/closefd (named fds
 * per session), add-fd/remove-fd/query-fdsets (fd sets per server), and
 * opening "/dev/fdset/N" by access mode. Texts are QEMU's (checked against
 * qemu-system-x86_64 7.2): "No file descriptor supplied via SCM_RIGHTS",
 * "File descriptor named 'x' not found", "File descriptor named
 * 'fdset-id:N, fd:M' not found", "Parameter 'fdset-id' expects a
 * non-negative value", "Parameter 'fdname' expects a name not starting
 * with a digit". query-fdsets lists sets in descending id order, fds in
 * the order added (as QEMU's list building does).
 *
 * When an fd set's fds are closed is QEMU 7.2's rule (monitor/misc.c,
 * monitor_fdset_cleanup), run whenever a session closes, after remove-fd,
 * and when the last dup of a set handed out by qmp_fdset_open is given
 * back with qmp_fdset_close: only while the VM is running, an fd is
 * closed if it was removed with remove-fd, or if no session is left and
 * no dup of its set is in use. A set with no fds and no dups in use is
 * freed. So a paused VM keeps an fd added on a connection that has since
 * closed (libxl adds on one connection and loads on the next).
 */
#include "qmp/fds.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "qmp/qmp-internal.h"

#define QMP_FDSET_PREFIX "/dev/fdset/"

typedef struct QmpFdSetFd {
    int fd;
    char *opaque;
    bool removed;
} QmpFdSetFd;

struct QmpFdSet {
    int64_t id;
    GPtrArray *fds; /* QmpFdSetFd *, in the order added */
    GArray *dups;   /* int: fds from qmp_fdset_open not yet given back */
};

static const char qmp_no_fd_msg[] =
    "No file descriptor supplied via SCM_RIGHTS";

static void qmp_fdset_fd_free(gpointer p)
{
    QmpFdSetFd *f = p;

    close(f->fd);
    g_free(f->opaque);
    g_free(f);
}

static void qmp_fdset_free(QmpFdSet *set)
{
    g_ptr_array_free(set->fds, TRUE);
    g_array_free(set->dups, TRUE);
    g_free(set);
}

static QmpFdSet *qmp_fdset_find(QmpServer *srv, int64_t id)
{
    for (GList *l = srv->fdsets; l; l = l->next) {
        QmpFdSet *set = l->data;
        if (set->id == id) {
            return set;
        }
    }
    return NULL;
}

static gint qmp_fdset_cmp(gconstpointer a, gconstpointer b)
{
    const QmpFdSet *x = a;
    const QmpFdSet *y = b;

    return x->id < y->id ? -1 : x->id > y->id;
}

/* QEMU picks the lowest id not in use when none is given. */
static int64_t qmp_fdset_free_id(QmpServer *srv)
{
    int64_t id = 0;

    for (GList *l = srv->fdsets; l; l = l->next) {
        QmpFdSet *set = l->data;
        if (set->id != id) {
            break;
        }
        id++;
    }
    return id;
}

void qmp_fds_set_vm_running_fn(QmpServer *srv, QmpVmRunningFn fn, void *opaque)
{
    srv->vm_running = fn;
    srv->vm_running_opaque = opaque;
}

static bool qmp_fds_vm_running(QmpServer *srv)
{
    return !srv->vm_running || srv->vm_running(srv->vm_running_opaque);
}

/* QEMU's monitor_fdset_cleanup for one set; `l` is its link in
   srv->fdsets, deleted if the set is freed. */
static void qmp_fdset_cleanup(QmpServer *srv, GList *l)
{
    QmpFdSet *set = l->data;
    bool unheld = set->dups->len == 0 && qmp_server_session_count(srv) == 0;
    bool running = qmp_fds_vm_running(srv);

    for (guint i = 0; i < set->fds->len;) {
        QmpFdSetFd *f = g_ptr_array_index(set->fds, i);
        if ((f->removed || unheld) && running) {
            g_ptr_array_remove_index(set->fds, i);
        } else {
            i++;
        }
    }
    if (set->fds->len == 0 && set->dups->len == 0) {
        qmp_fdset_free(set);
        srv->fdsets = g_list_delete_link(srv->fdsets, l);
    }
}

void qmp_fdsets_cleanup(QmpServer *srv)
{
    GList *l = srv->fdsets;

    while (l) {
        GList *next = l->next;
        qmp_fdset_cleanup(srv, l);
        l = next;
    }
}

void qmp_fdsets_free(QmpServer *srv)
{
    g_list_free_full(srv->fdsets, (GDestroyNotify)qmp_fdset_free);
    srv->fdsets = NULL;
}

/* ---- getfd / closefd ---------------------------------------------------- */

static json_t *qmp_cmd_getfd(json_t *args, QmpSession *s, void *opaque,
                             GError **errp)
{
    const char *name = json_string_value(json_object_get(args, "fdname"));
    int fd = qmp_session_take_fd(s);
    gpointer old;

    if (fd < 0) {
        ls_error_set(errp, "%s", qmp_no_fd_msg);
        return NULL;
    }
    if (g_ascii_isdigit(name[0])) {
        close(fd);
        ls_error_set(errp, "Parameter 'fdname' expects a name not starting "
                           "with a digit");
        return NULL;
    }
    if (g_hash_table_lookup_extended(s->named_fds, name, NULL, &old)) {
        close(GPOINTER_TO_INT(old));
    }
    g_hash_table_insert(s->named_fds, g_strdup(name), GINT_TO_POINTER(fd));
    return json_object();
}

static json_t *qmp_cmd_closefd(json_t *args, QmpSession *s, void *opaque,
                               GError **errp)
{
    const char *name = json_string_value(json_object_get(args, "fdname"));
    gpointer fd;

    if (!s || !g_hash_table_lookup_extended(s->named_fds, name, NULL, &fd)) {
        ls_error_set(errp, "File descriptor named '%s' not found", name);
        return NULL;
    }
    close(GPOINTER_TO_INT(fd));
    g_hash_table_remove(s->named_fds, name);
    return json_object();
}

int qmp_session_get_named_fd(QmpSession *s, const char *name)
{
    gpointer fd;

    if (!s || !g_hash_table_lookup_extended(s->named_fds, name, NULL, &fd)) {
        return -1;
    }
    return GPOINTER_TO_INT(fd);
}

/* ---- add-fd / remove-fd / query-fdsets ---------------------------------- */

static json_t *qmp_cmd_add_fd(json_t *args, QmpSession *s, void *opaque,
                              GError **errp)
{
    json_t *jid = json_object_get(args, "fdset-id");
    json_t *jop = json_object_get(args, "opaque");
    int fd = qmp_session_take_fd(s);
    QmpFdSetFd *f;
    QmpFdSet *set;
    int64_t id;

    if (fd < 0) {
        ls_error_set(errp, "%s", qmp_no_fd_msg);
        return NULL;
    }
    if (jid && json_integer_value(jid) < 0) {
        close(fd);
        ls_error_set(errp, "Parameter 'fdset-id' expects a non-negative "
                           "value");
        return NULL;
    }
    id = jid ? json_integer_value(jid) : qmp_fdset_free_id(s->srv);
    set = qmp_fdset_find(s->srv, id);
    if (!set) {
        set = g_new0(QmpFdSet, 1);
        set->id = id;
        set->fds = g_ptr_array_new_with_free_func(qmp_fdset_fd_free);
        set->dups = g_array_new(FALSE, FALSE, sizeof(int));
        s->srv->fdsets =
            g_list_insert_sorted(s->srv->fdsets, set, qmp_fdset_cmp);
    }
    f = g_new0(QmpFdSetFd, 1);
    f->fd = fd;
    f->opaque = g_strdup(json_string_value(jop));
    g_ptr_array_add(set->fds, f);
    return json_pack("{sisI}", "fd", fd, "fdset-id", (json_int_t)id);
}

/* QEMU: an existing set without `fd` always succeeds (every fd marked);
   with `fd`, that fd must be in the set. Then the set's cleanup runs. */
static json_t *qmp_cmd_remove_fd(json_t *args, QmpSession *s, void *opaque,
                                 GError **errp)
{
    int64_t id = json_integer_value(json_object_get(args, "fdset-id"));
    json_t *jfd = json_object_get(args, "fd");
    GList *l = s ? s->srv->fdsets : NULL;
    QmpFdSet *set;
    bool hit = !jfd;

    while (l && ((QmpFdSet *)l->data)->id != id) {
        l = l->next;
    }
    set = l ? l->data : NULL;
    for (guint i = 0; set && i < set->fds->len; i++) {
        QmpFdSetFd *f = g_ptr_array_index(set->fds, i);
        if (!jfd || f->fd == json_integer_value(jfd)) {
            f->removed = true;
            hit = true;
        }
    }
    if (set && hit) {
        qmp_fdset_cleanup(s->srv, l);
        return json_object();
    }
    if (jfd) {
        ls_error_set(errp,
                     "File descriptor named 'fdset-id:%" PRId64
                     ", fd:%" JSON_INTEGER_FORMAT "' not found",
                     id, json_integer_value(jfd));
    } else {
        ls_error_set(
            errp, "File descriptor named 'fdset-id:%" PRId64 "' not found", id);
    }
    return NULL;
}

static json_t *qmp_fdset_info(const QmpFdSet *set)
{
    json_t *fds = json_array();

    for (guint i = 0; i < set->fds->len; i++) {
        const QmpFdSetFd *f = g_ptr_array_index(set->fds, i);
        json_t *o = json_pack("{si}", "fd", f->fd);
        if (f->opaque) {
            json_object_set_new(o, "opaque", json_string(f->opaque));
        }
        json_array_append_new(fds, o);
    }
    return json_pack("{sosI}", "fds", fds, "fdset-id", (json_int_t)set->id);
}

static json_t *qmp_cmd_query_fdsets(json_t *args, QmpSession *s, void *opaque,
                                    GError **errp)
{
    json_t *list = json_array();

    for (GList *l = s ? g_list_last(s->srv->fdsets) : NULL; l; l = l->prev) {
        json_array_append_new(list, qmp_fdset_info(l->data));
    }
    return list;
}

/* ---- Registration and /dev/fdset/N ------------------------------------- */

static const QmpArg qmp_args_fdname[] = {
    {"fdname", QMP_ARG_STR, false},
    {NULL},
};

static const QmpArg qmp_args_add_fd[] = {
    {"fdset-id", QMP_ARG_INT, true},
    {"opaque", QMP_ARG_STR, true},
    {NULL},
};

static const QmpArg qmp_args_remove_fd[] = {
    {"fdset-id", QMP_ARG_INT, false},
    {"fd", QMP_ARG_INT, true},
    {NULL},
};

void qmp_fds_register(QmpCommands *cmds)
{
    qmp_commands_add(cmds, "getfd", qmp_cmd_getfd, qmp_args_fdname, 0, NULL);
    qmp_commands_add(cmds, "closefd", qmp_cmd_closefd, qmp_args_fdname, 0,
                     NULL);
    qmp_commands_add(cmds, "add-fd", qmp_cmd_add_fd, qmp_args_add_fd, 0, NULL);
    qmp_commands_add(cmds, "remove-fd", qmp_cmd_remove_fd, qmp_args_remove_fd,
                     0, NULL);
    qmp_commands_add(cmds, "query-fdsets", qmp_cmd_query_fdsets, NULL, 0, NULL);
}

bool qmp_fdset_is_path(const char *path)
{
    return path && g_str_has_prefix(path, QMP_FDSET_PREFIX);
}

/* QEMU's monitor_fdset_dup_fd_add: the newest fd of set `id` whose access
   mode is `mode` (removed or not: QEMU does not skip removed fds still
   held), dup'ed and recorded as in use; -1 + errno if none. */
static int qmp_fdset_dup(QmpServer *srv, int64_t id, int flags)
{
    QmpFdSet *set = qmp_fdset_find(srv, id);
    int fd = -1;

    if (!set) {
        errno = ENOENT;
        return -1;
    }
    for (guint i = set->fds->len; i-- > 0 && fd < 0;) {
        QmpFdSetFd *f = g_ptr_array_index(set->fds, i);
        int fl = fcntl(f->fd, F_GETFL);
        if (fl < 0) {
            return -1;
        }
        fd = (fl & O_ACCMODE) == (flags & O_ACCMODE) ? f->fd : -1;
    }
    if (fd < 0) {
        errno = EACCES;
        return -1;
    }
    fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    if (flags & (O_APPEND | O_NONBLOCK)) {
        fcntl(fd, F_SETFL,
              fcntl(fd, F_GETFL) | (flags & (O_APPEND | O_NONBLOCK)));
    }
    g_array_append_val(set->dups, fd);
    return fd;
}

int qmp_fdset_open(QmpServer *srv, const char *path, int flags, GError **errp)
{
    const char *num = path + strlen(QMP_FDSET_PREFIX);
    char *end = NULL;
    long long id;
    int fd = -1;
    int saved;

    if (!qmp_fdset_is_path(path)) {
        errno = ENOTSUP;
        return -1;
    }
    errno = 0;
    id = strtoll(num, &end, 10);
    if (!*num || *end || errno || id < 0) {
        errno = ENOENT;
    } else {
        fd = qmp_fdset_dup(srv, id, flags);
    }
    if (fd >= 0) {
        return fd;
    }
    saved = errno;
    ls_error_set(errp, "Could not open '%s': %s", path, g_strerror(saved));
    errno = saved;
    return -1;
}

void qmp_fdset_close(QmpServer *srv, int fd)
{
    for (GList *l = srv->fdsets; l; l = l->next) {
        QmpFdSet *set = l->data;
        for (guint i = 0; i < set->dups->len; i++) {
            if (g_array_index(set->dups, int, i) != fd) {
                continue;
            }
            g_array_remove_index(set->dups, i);
            if (set->dups->len == 0) {
                qmp_fdset_cleanup(srv, l);
            }
            close(fd);
            return;
        }
    }
    close(fd);
}
