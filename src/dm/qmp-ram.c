/*
 * lockstep's own QMP commands for guest RAM (docs/ram-format.md):
 *
 *   x-lockstep-save-ram {filename, dirty?}    all RAM, or (dirty: true)
 *       only the pages in the dirty log; a running VM is stopped and
 *       resumed around it (STOP/RESUME), as xen-save-devices-state. Once
 *       the stream is stored the dirty log is cleared, so the next dirty
 *       save carries the pages written since this one. Replies
 *       {"pages", "zero-pages", "bytes"}.
 *   x-lockstep-load-ram {filename}            all or nothing; refused while
 *       the VM runs.
 *   x-lockstep-load-checkpoint {devices, ram} a device-state file and a
 *       RAM file applied together or not at all (machine_load_checkpoint).
 *   x-lockstep-query-ram                      {"size", "dirty-log",
 *       "dirty-pages"}.
 *
 * Files are paths or /dev/fdset/N, read and written as the xen- commands
 * do (dm/state-io.c: never blocking the loop).
 */
#include "dm/daemon.h"

#include "base/error.h"

static Ram *dm_ram(DmDaemon *d, GError **errp)
{
    if (!d->machine->ram) {
        ls_error_set(errp, "this machine has no guest RAM (start it with -m)");
    }
    return d->machine->ram;
}

static json_t *qmp_cmd_x_lockstep_save_ram(json_t *args, QmpSession *s,
                                           void *opaque, GError **errp)
{
    DmDaemon *d = opaque;
    const char *path = json_string_value(json_object_get(args, "filename"));
    bool dirty = json_is_true(json_object_get(args, "dirty"));
    DmRunState was = d->rs.state;
    g_autoptr(GByteArray) buf = g_byte_array_new();
    RamSaveStats st;
    Ram *ram = dm_ram(d, errp);
    bool ok;

    if (!ram) {
        return NULL;
    }
    dm_runstate_stop(&d->rs);
    ram_encode(ram, dirty ? RAM_SAVE_DIRTY : RAM_SAVE_ALL, buf, &st);
    ok = dm_save_to(d, path, buf, errp);
    if (ok) {
        ram_dirty_clear(ram);
    }
    if (was == DM_RUN_RUNNING) {
        dm_runstate_cont(&d->rs);
    }
    if (!ok) {
        dm_error_make_printable(errp ? *errp : NULL);
        return NULL;
    }
    return json_pack("{s:I, s:I, s:I}", "pages", (json_int_t)st.pages,
                     "zero-pages", (json_int_t)st.zero_pages, "bytes",
                     (json_int_t)st.bytes);
}

static bool dm_ram_check_stopped(DmDaemon *d, GError **errp)
{
    if (dm_runstate_is_running(&d->rs)) {
        ls_error_set(errp, "Cannot update RAM while vm is running");
        return false;
    }
    return true;
}

static json_t *qmp_cmd_x_lockstep_load_ram(json_t *args, QmpSession *s,
                                           void *opaque, GError **errp)
{
    DmDaemon *d = opaque;
    const char *path = json_string_value(json_object_get(args, "filename"));
    g_autoptr(GByteArray) buf = NULL;
    Ram *ram = dm_ram(d, errp);
    RamStaging *st;

    if (!ram || !dm_ram_check_stopped(d, errp) ||
        !dm_load_from(d, path, &buf, errp)) {
        return NULL;
    }
    st = ram_decode(ram, buf->data, buf->len, errp);
    if (!st) {
        g_prefix_error(errp, "%s: ", path);
        dm_error_make_printable(errp ? *errp : NULL);
        return NULL;
    }
    ram_commit(ram, st);
    return json_object();
}

static json_t *qmp_cmd_x_lockstep_load_checkpoint(json_t *args, QmpSession *s,
                                                  void *opaque, GError **errp)
{
    DmDaemon *d = opaque;
    const char *dpath = json_string_value(json_object_get(args, "devices"));
    const char *rpath = json_string_value(json_object_get(args, "ram"));
    g_autoptr(GByteArray) dev = NULL;
    g_autoptr(GByteArray) ram = NULL;

    if (!dm_ram(d, errp) || !dm_ram_check_stopped(d, errp) ||
        !dm_load_from(d, dpath, &dev, errp) ||
        !dm_load_from(d, rpath, &ram, errp)) {
        return NULL;
    }
    if (!machine_load_checkpoint(d->machine, dev->data, dev->len, ram->data,
                                 ram->len, errp)) {
        dm_error_make_printable(errp ? *errp : NULL);
        return NULL;
    }
    return json_object();
}

static json_t *qmp_cmd_x_lockstep_query_ram(json_t *args, QmpSession *s,
                                            void *opaque, GError **errp)
{
    DmDaemon *d = opaque;
    Ram *ram = dm_ram(d, errp);

    if (!ram) {
        return NULL;
    }
    return json_pack("{s:I, s:b, s:I}", "size", (json_int_t)ram_size(ram),
                     "dirty-log", ram_dirty_log_enabled(ram), "dirty-pages",
                     (json_int_t)ram_dirty_count(ram));
}

static const QmpArg dm_args_save_ram[] = {
    {"filename", QMP_ARG_STR, false},
    {"dirty", QMP_ARG_BOOL, true},
    {NULL},
};

static const QmpArg dm_args_load_ram[] = {
    {"filename", QMP_ARG_STR, false},
    {NULL},
};

static const QmpArg dm_args_load_checkpoint[] = {
    {"devices", QMP_ARG_STR, false},
    {"ram", QMP_ARG_STR, false},
    {NULL},
};

void dm_qmp_ram_register(DmDaemon *d)
{
    qmp_commands_add(d->cmds, "x-lockstep-save-ram",
                     qmp_cmd_x_lockstep_save_ram, dm_args_save_ram, 0, d);
    qmp_commands_add(d->cmds, "x-lockstep-load-ram",
                     qmp_cmd_x_lockstep_load_ram, dm_args_load_ram, 0, d);
    qmp_commands_add(d->cmds, "x-lockstep-load-checkpoint",
                     qmp_cmd_x_lockstep_load_checkpoint,
                     dm_args_load_checkpoint, 0, d);
    qmp_commands_add(d->cmds, "x-lockstep-query-ram",
                     qmp_cmd_x_lockstep_query_ram, NULL, 0, d);
}
