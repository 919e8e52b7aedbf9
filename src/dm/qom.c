/*
 * The QOM commands (qom-list, qom-get, qom-set, qom-list-types) over the
 * part of QEMU 7.2's object tree this device model has, with QEMU's paths,
 * type names and texts (recorded by scripts/record-hmp-qom-texts):
 *
 *   /          type "container"; child "machine"
 *   /machine   type "pc-i440fx-7.2-machine" (-machine pc) or
 *              "none-machine"; on pc also "rtc-time", the RTC's date as
 *              QEMU's struct tm (an alias of the RTC's "date", so writing
 *              it fails naming "mc146818rtc.date", as in QEMU)
 *
 * Every property here is read-only, as these are in QEMU. Paths are
 * absolute and exact; QEMU's partial paths (a unique trailing name) and
 * the rest of its tree (/machine/unattached/..., /objects, /chardevs) are
 * left out. qom-list-types knows the types of this machine's devices and
 * their ancestors, with QEMU's parents.
 */
#include "dm/daemon.h"

#include <string.h>
#include <time.h>

#include "base/error.h"

typedef struct DmQomType {
    const char *name;
    const char *parent;
    bool abstract;
} DmQomType;

/* qom-list-types lists them in this order (QEMU's is a hash order;
   clients look entries up by name). */
static const DmQomType dm_qom_types[] = {
    {"pc-i440fx-7.2-machine", "generic-pc-machine", false},
    {"generic-pc-machine", "x86-machine", true},
    {"x86-machine", "machine", true},
    {"none-machine", "machine", false},
    {"machine", "object", true},
    {"container", "object", false},
    {"mc146818rtc", "isa-device", false},
    {"isa-serial", "isa-device", false},
    {"isa-pcspk", "isa-device", false},
    {"i8042", "isa-device", false},
    {"port92", "isa-device", false},
    {"isa-pit", "pit-common", false},
    {"pit-common", "isa-device", true},
    {"isa-i8259", "pic-common", false},
    {"pic-common", "isa-device", true},
    {"isa-device", "device", true},
    {"ps2-kbd", "ps2-device", false},
    {"ps2-mouse", "ps2-device", false},
    {"ps2-device", "sys-bus-device", true},
    {"sys-bus-device", "device", true},
    {"device", "object", true},
    {"object", NULL, true},
};

static const DmQomType *dm_qom_type_find(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(dm_qom_types); i++) {
        if (!strcmp(dm_qom_types[i].name, name)) {
            return &dm_qom_types[i];
        }
    }
    return NULL;
}

/* True if `type` is `ancestor` or descends from it. */
static bool dm_qom_type_is(const char *type, const char *ancestor)
{
    for (const DmQomType *t = dm_qom_type_find(type); t;
         t = t->parent ? dm_qom_type_find(t->parent) : NULL) {
        if (!strcmp(t->name, ancestor)) {
            return true;
        }
    }
    return false;
}

static const char *dm_qom_machine_type(DmDaemon *d)
{
    return d->machine->pc ? "pc-i440fx-7.2-machine" : "none-machine";
}

/* The object at `path`: its type name, or NULL (QEMU's DeviceNotFound). */
static const char *dm_qom_resolve(DmDaemon *d, const char *path, GError **errp)
{
    if (!strcmp(path, "/")) {
        return "container";
    }
    if (!strcmp(path, "/machine")) {
        return dm_qom_machine_type(d);
    }
    g_set_error(errp, LS_ERROR, LS_ERROR_DEVICE_NOT_FOUND,
                "Device '%s' not found", path);
    return NULL;
}

static bool dm_qom_is_machine(const char *path)
{
    return !strcmp(path, "/machine");
}

/* QEMU's object_get_tm-based visitor output, in QEMU's member order. */
static json_t *dm_qom_rtc_time(DmDaemon *d)
{
    struct tm tm;

    if (!machine_rtc_date(d->machine, &tm)) {
        return NULL;
    }
    return json_pack("{sisisisisisi}", "tm_year", tm.tm_year, "tm_sec",
                     tm.tm_sec, "tm_hour", tm.tm_hour, "tm_min", tm.tm_min,
                     "tm_mon", tm.tm_mon, "tm_mday", tm.tm_mday);
}

static json_t *qmp_cmd_qom_list(json_t *args, QmpSession *s, void *opaque,
                                GError **errp)
{
    DmDaemon *d = opaque;
    const char *path = json_string_value(json_object_get(args, "path"));
    const char *type = dm_qom_resolve(d, path, errp);
    json_t *list;
    g_autofree char *child = NULL;

    if (!type) {
        return NULL;
    }
    list = json_pack("[{ssss}]", "name", "type", "type", "string");
    if (!dm_qom_is_machine(path)) {
        child = g_strdup_printf("child<%s>", dm_qom_machine_type(d));
        json_array_append_new(
            list, json_pack("{ssss}", "name", "machine", "type", child));
    } else if (d->machine->pc) {
        json_array_append_new(
            list, json_pack("{ssss}", "name", "rtc-time", "type", "struct tm"));
    }
    return list;
}

static json_t *qmp_cmd_qom_get(json_t *args, QmpSession *s, void *opaque,
                               GError **errp)
{
    DmDaemon *d = opaque;
    const char *path = json_string_value(json_object_get(args, "path"));
    const char *prop = json_string_value(json_object_get(args, "property"));
    const char *type = dm_qom_resolve(d, path, errp);
    json_t *v = NULL;

    if (!type) {
        return NULL;
    }
    if (!strcmp(prop, "type")) {
        return json_string(type);
    }
    if (dm_qom_is_machine(path) && !strcmp(prop, "rtc-time")) {
        v = dm_qom_rtc_time(d);
    }
    if (!v) {
        ls_error_set(errp, "Property '%s.%s' not found", type, prop);
    }
    return v;
}

/* Nothing here is writable; QEMU names the property that refuses, which
   for rtc-time is the RTC's "date" it aliases. */
static json_t *qmp_cmd_qom_set(json_t *args, QmpSession *s, void *opaque,
                               GError **errp)
{
    DmDaemon *d = opaque;
    const char *path = json_string_value(json_object_get(args, "path"));
    const char *prop = json_string_value(json_object_get(args, "property"));
    const char *type = dm_qom_resolve(d, path, errp);

    if (!type) {
        return NULL;
    }
    if (!strcmp(prop, "type")) {
        ls_error_set(errp, "Property '%s.type' is not writable", type);
    } else if (dm_qom_is_machine(path) && d->machine->pc &&
               !strcmp(prop, "rtc-time")) {
        ls_error_set(errp, "Property 'mc146818rtc.date' is not writable");
    } else {
        ls_error_set(errp, "Property '%s.%s' not found", type, prop);
    }
    return NULL;
}

static json_t *qmp_cmd_qom_list_types(json_t *args, QmpSession *s, void *opaque,
                                      GError **errp)
{
    const char *impl = json_string_value(json_object_get(args, "implements"));
    bool abstract = json_is_true(json_object_get(args, "abstract"));
    json_t *list = json_array();

    for (size_t i = 0; i < G_N_ELEMENTS(dm_qom_types); i++) {
        const DmQomType *t = &dm_qom_types[i];
        json_t *o;
        if ((t->abstract && !abstract) ||
            (impl && !dm_qom_type_is(t->name, impl))) {
            continue;
        }
        o = t->abstract ? json_pack("{sb}", "abstract", 1) : json_object();
        json_object_set_new(o, "name", json_string(t->name));
        if (t->parent) {
            json_object_set_new(o, "parent", json_string(t->parent));
        }
        json_array_append_new(list, o);
    }
    return list;
}

static const QmpArg dm_args_qom_path[] = {
    {"path", QMP_ARG_STR, false},
    {NULL},
};

static const QmpArg dm_args_qom_get[] = {
    {"path", QMP_ARG_STR, false},
    {"property", QMP_ARG_STR, false},
    {NULL},
};

static const QmpArg dm_args_qom_set[] = {
    {"path", QMP_ARG_STR, false},
    {"property", QMP_ARG_STR, false},
    {"value", QMP_ARG_ANY, false},
    {NULL},
};

static const QmpArg dm_args_qom_list_types[] = {
    {"implements", QMP_ARG_STR, true},
    {"abstract", QMP_ARG_BOOL, true},
    {NULL},
};

void dm_qom_register(DmDaemon *d)
{
    qmp_commands_add(d->cmds, "qom-list", qmp_cmd_qom_list, dm_args_qom_path,
                     QMP_CMD_ALLOW_PRECONFIG, d);
    qmp_commands_add(d->cmds, "qom-get", qmp_cmd_qom_get, dm_args_qom_get,
                     QMP_CMD_ALLOW_PRECONFIG, d);
    qmp_commands_add(d->cmds, "qom-set", qmp_cmd_qom_set, dm_args_qom_set,
                     QMP_CMD_ALLOW_PRECONFIG, d);
    qmp_commands_add(d->cmds, "qom-list-types", qmp_cmd_qom_list_types,
                     dm_args_qom_list_types, QMP_CMD_ALLOW_PRECONFIG, d);
}
