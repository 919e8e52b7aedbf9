/*
 * The QMP command table and dispatcher: envelope checks, negotiation mode,
 * argument checking against a per-command schema, and the one place where
 * a GError becomes QMP JSON. Texts and checking order are QEMU 7.2's
 * (qapi/qmp-dispatch.c, monitor/qmp.c, the QAPI input visitor); reply key
 * order is what QEMU 7.2 writes: {"return": R, "id": I} but
 * {"id": I, "error": {"class": C, "desc": D}}.
 *
 * Also the two built-in commands, qmp_capabilities (no capability is
 * offered: we do not implement OOB) and query-commands.
 *
 * Leaves out: sockets and sessions' I/O (server.c, session.c).
 */
#include "qmp/qmp-internal.h"

#include <string.h>

#include "base/error.h"

typedef struct QmpCommand {
    char *name;
    QmpCommandFn fn;
    const QmpArg *args;
    unsigned flags;
    void *opaque;
} QmpCommand;

struct QmpCommands {
    GPtrArray *list;   /* QmpCommand *, registration order */
    GHashTable *index; /* name -> QmpCommand * */
    bool preconfig;    /* only QMP_CMD_ALLOW_PRECONFIG commands run */
};

static void qmp_command_free(gpointer p)
{
    QmpCommand *c = p;

    g_free(c->name);
    g_free(c);
}

static json_t *qmp_cmd_qmp_capabilities(json_t *args, QmpSession *s,
                                        void *opaque, GError **errp);
static json_t *qmp_cmd_query_commands(json_t *args, QmpSession *s, void *opaque,
                                      GError **errp);

static const QmpArg qmp_args_capabilities[] = {
    {"enable", QMP_ARG_ARRAY, true},
    {NULL},
};

QmpCommands *qmp_commands_new(void)
{
    QmpCommands *cmds = g_new0(QmpCommands, 1);

    cmds->list = g_ptr_array_new_with_free_func(qmp_command_free);
    cmds->index = g_hash_table_new(g_str_hash, g_str_equal);
    qmp_commands_add(cmds, "qmp_capabilities", qmp_cmd_qmp_capabilities,
                     qmp_args_capabilities, QMP_CMD_ALLOW_PRECONFIG, NULL);
    qmp_commands_add(cmds, "query-commands", qmp_cmd_query_commands, NULL,
                     QMP_CMD_ALLOW_PRECONFIG, cmds);
    return cmds;
}

void qmp_commands_free(QmpCommands *cmds)
{
    if (!cmds) {
        return;
    }
    g_hash_table_destroy(cmds->index);
    g_ptr_array_free(cmds->list, TRUE);
    g_free(cmds);
}

void qmp_commands_add(QmpCommands *cmds, const char *name, QmpCommandFn fn,
                      const QmpArg *args, unsigned flags, void *opaque)
{
    QmpCommand *c = g_hash_table_lookup(cmds->index, name);

    if (!c) {
        c = g_new0(QmpCommand, 1);
        c->name = g_strdup(name);
        g_ptr_array_add(cmds->list, c);
        g_hash_table_insert(cmds->index, c->name, c);
    }
    c->fn = fn;
    c->args = args;
    c->flags = flags;
    c->opaque = opaque;
}

bool qmp_commands_has(const QmpCommands *cmds, const char *name)
{
    return g_hash_table_contains(cmds->index, name);
}

void qmp_commands_allow_preconfig(QmpCommands *cmds, const char *name)
{
    QmpCommand *c = g_hash_table_lookup(cmds->index, name);

    if (c) {
        c->flags |= QMP_CMD_ALLOW_PRECONFIG;
    }
}

void qmp_commands_foreach(const QmpCommands *cmds,
                          void (*fn)(const char *name, const QmpArg *args,
                                     void *opaque),
                          void *opaque)
{
    for (guint i = 0; i < cmds->list->len; i++) {
        const QmpCommand *c = g_ptr_array_index(cmds->list, i);
        fn(c->name, c->args, opaque);
    }
}

void qmp_commands_set_preconfig(QmpCommands *cmds, bool preconfig)
{
    cmds->preconfig = preconfig;
}

bool qmp_commands_in_preconfig(const QmpCommands *cmds)
{
    return cmds->preconfig;
}

/* ---- Built-in commands -------------------------------------------------- */

/* QEMU checks the whole argument (the QAPI visitor) before the handler
   looks at the monitor's state; so does this. */
static bool qmp_caps_check_enable(json_t *enable, GError **errp)
{
    size_t i;
    json_t *v;

    json_array_foreach(enable, i, v)
    {
        if (!json_is_string(v)) {
            ls_error_set(errp,
                         "Invalid parameter type for 'enable[%zu]', "
                         "expected: string",
                         i);
            return false;
        }
        if (strcmp(json_string_value(v), "oob")) {
            /* QEMU 7.2 names list elements 'null' in this text. */
            ls_error_set(errp, "Parameter 'null' does not accept value '%s'",
                         json_string_value(v));
            return false;
        }
    }
    return true;
}

static json_t *qmp_cmd_qmp_capabilities(json_t *args, QmpSession *s,
                                        void *opaque, GError **errp)
{
    json_t *enable = json_object_get(args, "enable");

    if (enable && !qmp_caps_check_enable(enable, errp)) {
        return NULL;
    }
    if (!s || s->negotiated) {
        g_set_error(errp, LS_ERROR, LS_ERROR_COMMAND_NOT_FOUND,
                    "Capabilities negotiation is already complete, "
                    "command ignored");
        return NULL;
    }
    if (enable && json_array_size(enable) > 0) {
        ls_error_set(errp, "Capability oob not available");
        return NULL;
    }
    s->negotiated = true;
    return json_object();
}

static json_t *qmp_cmd_query_commands(json_t *args, QmpSession *s, void *opaque,
                                      GError **errp)
{
    QmpCommands *cmds = opaque;
    json_t *list = json_array();

    for (guint i = 0; i < cmds->list->len; i++) {
        QmpCommand *c = g_ptr_array_index(cmds->list, i);
        json_array_append_new(list, json_pack("{ss}", "name", c->name));
    }
    return list;
}

/* ---- Checks ------------------------------------------------------------- */

static const char *qmp_arg_type_name(QmpArgType t)
{
    static const char *const names[] = {
        [QMP_ARG_STR] = "string",    [QMP_ARG_BOOL] = "boolean",
        [QMP_ARG_INT] = "integer",   [QMP_ARG_NUMBER] = "number",
        [QMP_ARG_OBJECT] = "object", [QMP_ARG_ARRAY] = "array",
        [QMP_ARG_ANY] = "any",
    };

    return names[t];
}

static bool qmp_arg_type_ok(QmpArgType t, const json_t *v)
{
    switch (t) {
    case QMP_ARG_STR:
        return json_is_string(v);
    case QMP_ARG_BOOL:
        return json_is_boolean(v);
    case QMP_ARG_INT:
        return json_is_integer(v);
    case QMP_ARG_NUMBER:
        return json_is_number(v) || qmp_json_wide_text(v);
    case QMP_ARG_OBJECT:
        return qmp_json_is_plain_object(v);
    case QMP_ARG_ARRAY:
        return json_is_array(v);
    default:
        return true;
    }
}

static bool qmp_arg_known(const QmpArg *schema, const char *name)
{
    for (const QmpArg *a = schema; a && a->name; a++) {
        if (!strcmp(a->name, name)) {
            return true;
        }
    }
    return false;
}

/* As QEMU's input visitor: members in schema order (missing, then type),
   then the first member the schema does not know. */
static bool qmp_check_args(const QmpArg *schema, json_t *args, GError **errp)
{
    const char *key;
    json_t *v;

    for (const QmpArg *a = schema; a && a->name; a++) {
        v = json_object_get(args, a->name);
        if (!v) {
            if (!a->optional) {
                ls_error_set(errp, "Parameter '%s' is missing", a->name);
                return false;
            }
            continue;
        }
        if (!qmp_arg_type_ok(a->type, v)) {
            ls_error_set(errp, "Invalid parameter type for '%s', expected: %s",
                         a->name, qmp_arg_type_name(a->type));
            return false;
        }
    }
    json_object_foreach(args, key, v)
    {
        if (!qmp_arg_known(schema, key)) {
            ls_error_set(errp, "Parameter '%s' is unexpected", key);
            return false;
        }
    }
    return true;
}

/* The envelope, members in input order (QEMU: qmp_dispatch_check_obj).
   Returns the command name or NULL with *errp set. */
static const char *qmp_check_envelope(json_t *req, GError **errp)
{
    const char *name = NULL;
    const char *key;
    json_t *v;

    json_object_foreach(req, key, v)
    {
        if (!strcmp(key, "execute")) {
            name = json_string_value(v);
            if (!name) {
                ls_error_set(errp,
                             "QMP input member 'execute' must be a string");
                return NULL;
            }
        } else if (!strcmp(key, "arguments")) {
            if (!qmp_json_is_plain_object(v)) {
                ls_error_set(errp,
                             "QMP input member 'arguments' must be an object");
                return NULL;
            }
        } else if (strcmp(key, "id")) {
            ls_error_set(errp, "QMP input member '%s' is unexpected", key);
            return NULL;
        }
    }
    if (!name) {
        ls_error_set(errp, "QMP input lacks member 'execute'");
    }
    return name;
}

/* ---- Dispatch ----------------------------------------------------------- */

json_t *qmp_error_reply(const GError *err, json_t *id)
{
    json_t *rsp = json_object();

    if (id) {
        json_object_set(rsp, "id", id);
    }
    /* The desc may quote invalid UTF-8 from the input ("stray '\xC3'"):
       keep it as is; qmp_json_dumps writes such bytes as U+FFFD, as QEMU
       does. */
    json_object_set_new(
        rsp, "error",
        json_pack("{ssso}", "class", ls_error_class_name(err), "desc",
                  json_stringn_nocheck(err->message, strlen(err->message))));
    return rsp;
}

static json_t *qmp_run(QmpCommands *cmds, QmpSession *s, json_t *req,
                       GError **errp)
{
    const char *name = qmp_check_envelope(req, errp);
    bool negotiating = s && !s->negotiated;
    QmpCommand *c;
    json_t *args;
    json_t *ret;

    if (!name) {
        return NULL;
    }
    c = g_hash_table_lookup(cmds->index, name);
    if (negotiating && (!c || strcmp(name, "qmp_capabilities"))) {
        g_set_error(errp, LS_ERROR, LS_ERROR_COMMAND_NOT_FOUND,
                    "Expecting capabilities negotiation with "
                    "'qmp_capabilities'");
        return NULL;
    }
    if (!c) {
        g_set_error(errp, LS_ERROR, LS_ERROR_COMMAND_NOT_FOUND,
                    "The command %s has not been found", name);
        return NULL;
    }
    if (cmds->preconfig && !(c->flags & QMP_CMD_ALLOW_PRECONFIG)) {
        ls_error_set(errp,
                     "The command '%s' is permitted only after machine "
                     "initialization has completed",
                     name);
        return NULL;
    }
    args = json_object_get(req, "arguments");
    args = args ? json_incref(args) : json_object();
    ret = NULL;
    if ((c->flags & QMP_CMD_NO_ARG_CHECK) ||
        qmp_check_args(c->args, args, errp)) {
        ret = c->fn(args, s, c->opaque, errp);
        if (!ret && errp && !*errp) {
            ls_error_set(errp, "Command %s failed", name);
        }
    }
    json_decref(args);
    return ret;
}

json_t *qmp_dispatch(QmpCommands *cmds, QmpSession *session, json_t *req)
{
    g_autoptr(GError) err = NULL;
    json_t *id =
        qmp_json_is_plain_object(req) ? json_object_get(req, "id") : NULL;
    json_t *ret;
    json_t *rsp;

    if (!qmp_json_is_plain_object(req)) {
        ls_error_set(&err, "QMP input must be a JSON object");
        return qmp_error_reply(err, NULL);
    }
    ret = qmp_run(cmds, session, req, &err);
    if (!ret) {
        return qmp_error_reply(err, id);
    }
    rsp = json_object();
    json_object_set_new(rsp, "return", ret);
    if (id) {
        json_object_set(rsp, "id", id);
    }
    return rsp;
}
