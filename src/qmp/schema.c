/*
 * query-qmp-schema in the shape of QEMU's introspection (SchemaInfo), for
 * the commands of a table: one "command" entry per command with its
 * "arg-type", one "object" entry per argument list with its "members"
 * (an optional member carries "default": null, as in QEMU), and the
 * "builtin" types used. Type names are masked as QEMU masks them (decimal
 * numbers) except builtins. Enough for clients that look up a command's
 * argument names and JSON types (the lockstep qmp shell completes them).
 *
 * Leaves out: return types (every command says "ret-type": "any"), events,
 * enums, and the element types of arrays and members of objects, which
 * are given as "any".
 */
#include "qmp/qmp.h"

#include <string.h>

static const char *qmp_schema_type(QmpArgType t)
{
    switch (t) {
    case QMP_ARG_STR:
        return "str";
    case QMP_ARG_BOOL:
        return "bool";
    case QMP_ARG_INT:
        return "int";
    case QMP_ARG_NUMBER:
        return "number";
    default:
        return "any";
    }
}

static json_t *qmp_schema_builtin(const char *name, const char *json_type)
{
    return json_pack("{ssssss}", "name", name, "meta-type", "builtin",
                     "json-type", json_type);
}

typedef struct QmpSchemaBuild {
    json_t *list;
    unsigned next;
} QmpSchemaBuild;

static void qmp_schema_add(const char *name, const QmpArg *args, void *opaque)
{
    QmpSchemaBuild *b = opaque;
    g_autofree char *type = g_strdup_printf("%u", b->next++);
    json_t *members = json_array();

    json_array_append_new(b->list, json_pack("{ssssssss}", "name", name,
                                             "meta-type", "command", "arg-type",
                                             type, "ret-type", "any"));
    for (const QmpArg *a = args; a && a->name; a++) {
        json_t *m = json_pack("{ssss}", "name", a->name, "type",
                              qmp_schema_type(a->type));
        if (a->optional) {
            json_object_set_new(m, "default", json_null());
        }
        json_array_append_new(members, m);
    }
    json_array_append_new(b->list,
                          json_pack("{ssssso}", "name", type, "meta-type",
                                    "object", "members", members));
}

static json_t *qmp_cmd_query_qmp_schema(json_t *args, QmpSession *s,
                                        void *opaque, GError **errp)
{
    QmpSchemaBuild b = {json_array(), 0};

    qmp_commands_foreach(opaque, qmp_schema_add, &b);
    json_array_append_new(b.list, qmp_schema_builtin("str", "string"));
    json_array_append_new(b.list, qmp_schema_builtin("bool", "boolean"));
    json_array_append_new(b.list, qmp_schema_builtin("int", "int"));
    json_array_append_new(b.list, qmp_schema_builtin("number", "number"));
    json_array_append_new(b.list, qmp_schema_builtin("any", "value"));
    return b.list;
}

void qmp_schema_register(QmpCommands *cmds)
{
    qmp_commands_add(cmds, "query-qmp-schema", qmp_cmd_query_qmp_schema, NULL,
                     QMP_CMD_ALLOW_PRECONFIG, cmds);
}
