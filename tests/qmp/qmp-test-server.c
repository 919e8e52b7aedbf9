/*
 * A QMP server with a dummy command table, for comparing the library's
 * replies with QEMU's byte for byte by hand (run both, send the same
 * bytes with socat or python, diff): qmp-test-server SPEC...
 * Commands: query-name ({}), query-status (prelaunch), the fd commands,
 * and "emit" {event} which broadcasts an event.
 */
#include <glib-unix.h>
#include <stdio.h>

#include "base/error.h"
#include "qmp/fds.h"
#include "qmp/qmp.h"

static json_t *qts_query_name(json_t *args, QmpSession *s, void *opaque,
                              GError **errp)
{
    return json_object();
}

static json_t *qts_query_status(json_t *args, QmpSession *s, void *opaque,
                                GError **errp)
{
    return json_pack("{sssbsb}", "status", "prelaunch", "singlestep", 0,
                     "running", 0);
}

static json_t *qts_emit(json_t *args, QmpSession *s, void *opaque,
                        GError **errp)
{
    qmp_server_emit(qmp_session_server(s),
                    json_string_value(json_object_get(args, "event")), NULL);
    return json_object();
}

static const QmpArg qts_emit_args[] = {
    {"event", QMP_ARG_STR, false},
    {NULL},
};

static gboolean qts_quit(gpointer loop)
{
    g_main_loop_quit(loop);
    return G_SOURCE_REMOVE;
}

int main(int argc, char **argv)
{
    QmpCommands *cmds = qmp_commands_new();
    QmpServer *srv = qmp_server_new(cmds, NULL, NULL);
    GMainLoop *loop = g_main_loop_new(NULL, FALSE);

    qmp_fds_register(cmds);
    qmp_commands_add(cmds, "query-name", qts_query_name, NULL, 0, NULL);
    qmp_commands_add(cmds, "query-status", qts_query_status, NULL, 0, NULL);
    qmp_commands_add(cmds, "emit", qts_emit, qts_emit_args, 0, NULL);
    for (int i = 1; i < argc; i++) {
        GError *err = NULL;
        if (!qmp_server_add(srv, argv[i], &err)) {
            fprintf(stderr, "%s\n", err->message);
            return 1;
        }
    }
    g_unix_signal_add(SIGTERM, qts_quit, loop);
    g_unix_signal_add(SIGINT, qts_quit, loop);
    g_main_loop_run(loop);
    qmp_server_free(srv);
    qmp_commands_free(cmds);
    g_main_loop_unref(loop);
    return 0;
}
