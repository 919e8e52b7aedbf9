/*
 * lockstep qmp [--pretty] ADDR [COMMAND [key=value ...]]
 *
 * A QMP client for people and scripts, for lockstep-dm or QEMU alike.
 * With a COMMAND: connect, negotiate, run it, print the return value as
 * JSON and exit 0; a QMP error prints "Class: desc" on stderr and exits 1;
 * a connection failure exits 2. Without: a shell reading commands, one
 * per line, in the same `COMMAND key=value` form or as a raw JSON
 * request: on a terminal the readline shell of qmp-shell.c; otherwise
 * lines from stdin, with the events received printed before each line's
 * result. Each value is JSON when it parses as JSON (5, true, {"a": 1},
 * "quoted"), else a string (filename=/tmp/x). --pretty indents output.
 */
#include "tools-qmp.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "qmp/client.h"
#include "qmp/qmp.h"

#define TOOLS_QMP_EXIT_QMP_ERROR 1
#define TOOLS_QMP_MAX_LINE       (1024 * 1024)

void tools_qmp_print(FILE *out, const json_t *v, bool pretty)
{
    g_autofree char *text =
        pretty ? json_dumps(v, JSON_INDENT(4) | JSON_PRESERVE_ORDER |
                                   JSON_ENCODE_ANY)
               : qmp_json_dumps(v);

    fprintf(out, "%s\n", text);
    fflush(out);
}

/* "key=value" pairs into an arguments object; NULL with *errp if one
   lacks '='. */
static json_t *tools_qmp_args(int argc, char **argv, GError **errp)
{
    json_t *args = json_object();

    for (int i = 0; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        g_autofree char *key = NULL;
        json_t *val;

        if (!eq || eq == argv[i]) {
            ls_error_set(errp, "argument '%s' is not key=value", argv[i]);
            json_decref(args);
            return NULL;
        }
        key = g_strndup(argv[i], (gsize)(eq - argv[i]));
        val = json_loads(eq + 1, JSON_DECODE_ANY, NULL);
        if (!val) {
            val = json_string(eq + 1);
        }
        json_object_set_new(args, key, val);
    }
    return args;
}

/* Runs one command; prints the result or the error. Returns the exit
   status; *dead is set when the connection is gone. */
static int tools_qmp_run(QmpClient *c, const char *cmd, json_t *args,
                         bool pretty, bool *dead)
{
    g_autoptr(GError) err = NULL;
    json_t *ret = qmp_client_execute(c, cmd, args, -1, &err);

    if (!ret) {
        fprintf(stderr, "%s: %s\n", ls_error_class_name(err), err->message);
        *dead = !qmp_client_usable(c);
        return *dead ? TOOLS_EXIT_ERROR : TOOLS_QMP_EXIT_QMP_ERROR;
    }
    tools_qmp_print(stdout, ret, pretty);
    json_decref(ret);
    return TOOLS_EXIT_OK;
}

static void tools_qmp_drain_events(QmpClient *c, bool pretty)
{
    json_t *ev;

    while ((ev = qmp_client_next_event(c, 0, NULL))) {
        tools_qmp_print(stdout, ev, pretty);
        json_decref(ev);
    }
}

int tools_qmp_line(QmpClient *c, const char *line, bool pretty, bool *dead)
{
    g_autoptr(GError) err = NULL;
    g_auto(GStrv) words = NULL;
    json_t *req, *args;

    if (line[0] == '{') {
        req = json_loads(line, 0, NULL);
        const char *cmd = json_string_value(json_object_get(req, "execute"));
        if (!cmd) {
            fprintf(stderr, "lockstep: not a QMP request: %s\n", line);
            json_decref(req);
            return TOOLS_EXIT_ERROR;
        }
        args = json_incref(json_object_get(req, "arguments"));
        int rc = tools_qmp_run(c, cmd, args, pretty, dead);
        json_decref(req);
        return rc;
    }
    if (!g_shell_parse_argv(line, NULL, &words, &err)) {
        fprintf(stderr, "lockstep: %s\n", err->message);
        return TOOLS_EXIT_ERROR;
    }
    args = tools_qmp_args((int)g_strv_length(words) - 1, words + 1, &err);
    if (!args) {
        fprintf(stderr, "lockstep: %s\n", err->message);
        return TOOLS_EXIT_ERROR;
    }
    return tools_qmp_run(c, words[0], args, pretty, dead);
}

/* Lines from a pipe or file (scripts). */
static int tools_qmp_lines(QmpClient *c, bool pretty)
{
    g_autofree char *line = g_malloc(TOOLS_QMP_MAX_LINE);
    bool dead = false;
    int rc = TOOLS_EXIT_OK;

    tools_qmp_print(stdout, qmp_client_greeting(c), pretty);
    for (;;) {
        tools_qmp_drain_events(c, pretty);
        if (!fgets(line, TOOLS_QMP_MAX_LINE, stdin)) {
            break;
        }
        g_strstrip(line);
        if (line[0] == '\0' || line[0] == '#') {
            continue;
        }
        rc = tools_qmp_line(c, line, pretty, &dead);
        if (dead) {
            break;
        }
    }
    tools_qmp_drain_events(c, pretty);
    return dead ? TOOLS_EXIT_ERROR : rc;
}

static int tools_qmp_usage(void)
{
    fprintf(stderr,
            "usage: lockstep qmp [--pretty] ADDR [COMMAND [key=value ...]]\n"
            "  ADDR: unix:PATH or tcp:HOST:PORT\n");
    return TOOLS_EXIT_ERROR;
}

int tools_cmd_qmp(int argc, char **argv)
{
    g_autoptr(GError) err = NULL;
    bool pretty = argc > 1 && !strcmp(argv[1], "--pretty");
    QmpClient *c;
    int rc;

    argc -= pretty;
    argv += pretty;
    if (argc < 2 || argv[1][0] == '-') {
        return tools_qmp_usage();
    }
    c = qmp_client_connect(argv[1], 0, 0, &err);
    if (!c) {
        fprintf(stderr, "lockstep: %s: %s\n", argv[1], err->message);
        return TOOLS_EXIT_ERROR;
    }
    if (argc == 2) {
        rc = isatty(STDIN_FILENO) ? tools_qmp_shell_tty(c, pretty)
                                  : tools_qmp_lines(c, pretty);
    } else {
        json_t *args = tools_qmp_args(argc - 3, argv + 3, &err);
        bool dead = false;
        if (!args) {
            fprintf(stderr, "lockstep: %s\n", err->message);
            rc = TOOLS_EXIT_ERROR;
        } else {
            rc = tools_qmp_run(c, argv[2], args, pretty, &dead);
        }
    }
    qmp_client_free(c);
    return rc;
}
