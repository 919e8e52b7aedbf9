/*
 * The daemon's QMP commands, QEMU 7.2's texts and event order (see the
 * transcript in shared/reference). qmp_capabilities, query-commands and
 * the fd commands come from the QMP library; this file holds the ones that
 * touch the machine or the run state.
 *
 * xen-save-devices-state's `live` is accepted (default true) and changes
 * nothing: in QEMU it only decides whether block devices are inactivated,
 * and this device model has none.
 */
#include "dm/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "base/error.h"
#include "dm/state-io.h"
#include "lockstep-config.h"
#include "qmp/fds.h"

static json_t *qmp_cmd_query_status(json_t *args, QmpSession *s, void *opaque,
                                    GError **errp)
{
    DmDaemon *d = opaque;

    return json_pack("{s:s, s:b, s:b}", "status", dm_runstate_name(d->rs.state),
                     "singlestep", 0, "running",
                     dm_runstate_is_running(&d->rs));
}

static json_t *qmp_cmd_query_version(json_t *args, QmpSession *s, void *opaque,
                                     GError **errp)
{
    return json_pack("{s:{s:i, s:i, s:i}, s:s}", "qemu", "micro",
                     QMP_QEMU_MICRO, "minor", QMP_QEMU_MINOR, "major",
                     QMP_QEMU_MAJOR, "package", "lockstep " LOCKSTEP_VERSION);
}

static json_t *qmp_cmd_query_name(json_t *args, QmpSession *s, void *opaque,
                                  GError **errp)
{
    DmDaemon *d = opaque;

    if (!d->opts->name) {
        return json_object();
    }
    return json_pack("{s:s}", "name", d->opts->name);
}

static json_t *qmp_cmd_stop(json_t *args, QmpSession *s, void *opaque,
                            GError **errp)
{
    DmDaemon *d = opaque;

    dm_runstate_stop(&d->rs);
    return json_object();
}

static json_t *qmp_cmd_cont(json_t *args, QmpSession *s, void *opaque,
                            GError **errp)
{
    DmDaemon *d = opaque;

    dm_runstate_cont(&d->rs);
    return json_object();
}

static json_t *qmp_cmd_system_reset(json_t *args, QmpSession *s, void *opaque,
                                    GError **errp)
{
    DmDaemon *d = opaque;

    dm_runstate_reset(&d->rs, false, "host-qmp-system-reset");
    return json_object();
}

/* QEMU: SHUTDOWN, then the reply, then exit 0. */
static json_t *qmp_cmd_quit(json_t *args, QmpSession *s, void *opaque,
                            GError **errp)
{
    DmDaemon *d = opaque;

    dm_runstate_shutdown(&d->rs, false, "host-qmp-quit");
    dm_daemon_request_quit(d);
    return json_object();
}

static json_t *qmp_cmd_xen_set_global_dirty_log(json_t *args, QmpSession *s,
                                                void *opaque, GError **errp)
{
    DmDaemon *d = opaque;

    d->dirty_log = json_is_true(json_object_get(args, "enable"));
    if (d->machine->ram) {
        ram_dirty_log_enable(d->machine->ram, d->dirty_log);
    }
    return json_object();
}

/*
 * Opens /dev/fdset/N with the access mode QEMU uses; an fd set holding
 * only an O_RDWR fd (a memfd, as the COLO coordinator passes) is accepted
 * too. Errors read "Unable to open PATH: REASON", as QEMU's.
 */
int dm_open_fdset(DmDaemon *d, const char *path, int mode, GError **errp)
{
    int fd = qmp_fdset_open(d->srv, path, mode, NULL);
    int saved = errno;

    if (fd < 0) {
        fd = qmp_fdset_open(d->srv, path, O_RDWR, NULL);
    }
    if (fd < 0) {
        ls_error_set(errp, "Unable to open %s: %s", path, g_strerror(saved));
    }
    return fd;
}

/*
 * Error texts quote stream bytes (a corrupted idstr) and file names; JSON
 * strings must be UTF-8, so bytes outside printable ASCII are shown as
 * \xNN rather than making the reply unencodable.
 */
void dm_error_make_printable(GError *err)
{
    GString *out;

    if (!err || g_utf8_validate(err->message, -1, NULL)) {
        return;
    }
    out = g_string_new(NULL);
    for (const unsigned char *p = (const unsigned char *)err->message; *p;
         p++) {
        if (*p >= 0x20 && *p < 0x7f) {
            g_string_append_c(out, *p);
        } else {
            g_string_append_printf(out, "\\x%02x", *p);
        }
    }
    g_free(err->message);
    err->message = g_string_free(out, FALSE);
}

bool dm_save_to(DmDaemon *d, const char *path, GByteArray *buf, GError **errp)
{
    int fd;
    bool ok;

    if (!qmp_fdset_is_path(path)) {
        char *stale = NULL;
        if (!vms_write_file_stale(path, buf->data, buf->len, false, &stale,
                                  errp)) {
            return false;
        }
        if (stale) {
            dm_daemon_defer_unlink(d, stale);
        }
        return true;
    }
    fd = dm_open_fdset(d, path, O_WRONLY, errp);
    if (fd < 0) {
        return false;
    }
    ok = dm_state_write_fd(fd, path, buf->data, buf->len, errp);
    qmp_fdset_close(d->srv, fd);
    return ok;
}

/* QEMU: a running VM is stopped (STOP) and restarted (RESUME) around the
   save, even when the save fails; paused and prelaunch emit nothing. */
static json_t *qmp_cmd_xen_save_devices_state(json_t *args, QmpSession *s,
                                              void *opaque, GError **errp)
{
    DmDaemon *d = opaque;
    const char *path = json_string_value(json_object_get(args, "filename"));
    DmRunState was = d->rs.state;
    g_autoptr(GByteArray) buf = g_byte_array_new();
    bool ok;

    dm_runstate_stop(&d->rs);
    ok = dm_machine_save(d->machine, dm_runstate_name(was), buf, errp) &&
         dm_save_to(d, path, buf, errp);
    if (was == DM_RUN_RUNNING) {
        dm_runstate_cont(&d->rs);
    }
    if (!ok) {
        dm_error_make_printable(errp ? *errp : NULL);
        return NULL;
    }
    return json_object();
}

/* Never blocks: see dm/state-io.h. */
bool dm_load_from(DmDaemon *d, const char *path, GByteArray **buf,
                  GError **errp)
{
    int fd = qmp_fdset_is_path(path) ? dm_open_fdset(d, path, O_RDONLY, errp)
                                     : dm_state_open(path, errp);
    bool ok;

    if (fd < 0) {
        return false;
    }
    ok = dm_state_read_fd(fd, path, buf, errp);
    qmp_fdset_close(d->srv, fd);
    return ok;
}

/* All or nothing; the run state stays as it was. */
static json_t *qmp_cmd_xen_load_devices_state(json_t *args, QmpSession *s,
                                              void *opaque, GError **errp)
{
    DmDaemon *d = opaque;
    const char *path = json_string_value(json_object_get(args, "filename"));
    g_autoptr(GByteArray) buf = NULL;

    if (dm_runstate_is_running(&d->rs)) {
        ls_error_set(errp, "Cannot update device state while vm is running");
        return NULL;
    }
    if (!dm_load_from(d, path, &buf, errp) ||
        !dm_machine_load(d->machine, buf->data, buf->len, errp)) {
        dm_error_make_printable(errp ? *errp : NULL);
        return NULL;
    }
    return json_object();
}

static const QmpArg dm_args_save[] = {
    {"filename", QMP_ARG_STR, false},
    {"live", QMP_ARG_BOOL, true},
    {NULL},
};

static const QmpArg dm_args_load[] = {
    {"filename", QMP_ARG_STR, false},
    {NULL},
};

static const QmpArg dm_args_dirty_log[] = {
    {"enable", QMP_ARG_BOOL, false},
    {NULL},
};

void dm_qmp_cmds_register(DmDaemon *d)
{
    static const struct {
        const char *name;
        QmpCommandFn fn;
        const QmpArg *args;
    } cmds[] = {
        {"query-status", qmp_cmd_query_status, NULL},
        {"query-version", qmp_cmd_query_version, NULL},
        {"query-name", qmp_cmd_query_name, NULL},
        {"stop", qmp_cmd_stop, NULL},
        {"cont", qmp_cmd_cont, NULL},
        {"system_reset", qmp_cmd_system_reset, NULL},
        {"quit", qmp_cmd_quit, NULL},
        {"xen-save-devices-state", qmp_cmd_xen_save_devices_state,
         dm_args_save},
        {"xen-load-devices-state", qmp_cmd_xen_load_devices_state,
         dm_args_load},
        {"xen-set-global-dirty-log", qmp_cmd_xen_set_global_dirty_log,
         dm_args_dirty_log},
    };

    qmp_fds_register(d->cmds);
    for (size_t i = 0; i < G_N_ELEMENTS(cmds); i++) {
        qmp_commands_add(d->cmds, cmds[i].name, cmds[i].fn, cmds[i].args, 0, d);
    }
    dm_qmp_ram_register(d);
    qmp_schema_register(d->cmds);
    dm_hmp_register(d);
    dm_qom_register(d);
    dm_preconfig_register(d);
}
