/*
 * `lockstep qmp ADDR` on a terminal: a shell with GNU readline (Debian's
 * libreadline-dev): line editing, history kept across sessions (in
 * $LOCKSTEP_QMP_HISTORY, else ~/.lockstep_qmp_history, the last
 * TOOLS_SHELL_HISTORY_MAX lines), tab completion of command names (from
 * query-commands) and of argument names as "name=" (from query-qmp-schema,
 * when the server has it: QEMU and lockstep-dm do), and events printed as
 * they arrive, above the line being edited, which is then redrawn.
 *
 * readline's callbacks take no context, so the shell's state is one
 * file-static struct; there is only ever one shell per process.
 */
#include "tools-qmp.h"

#include <errno.h>
#include <poll.h>
#include <readline/history.h>
#include <readline/readline.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"

#define TOOLS_SHELL_HISTORY_MAX 1000
#define TOOLS_SHELL_PROMPT      "(QMP) "

static struct {
    QmpClient *c;
    bool pretty;
    bool done;
    bool dead;
    int rc;
    GPtrArray *cmds;           /* char *: command names */
    GHashTable *args;          /* command name -> GPtrArray of argument names */
    const GPtrArray *matching; /* the list a generator walks */
} tools_shell;

static void tools_shell_load_commands(void)
{
    json_t *list =
        qmp_client_execute(tools_shell.c, "query-commands", NULL, -1, NULL);
    size_t i;
    json_t *v;

    json_array_foreach(list, i, v)
    {
        const char *name = json_string_value(json_object_get(v, "name"));
        if (name) {
            g_ptr_array_add(tools_shell.cmds, g_strdup(name));
        }
    }
    json_decref(list);
}

/* Argument names per command from QEMU-style introspection: a command's
   "arg-type" names an object whose "members" are its arguments. */
static void tools_shell_load_schema(void)
{
    json_t *schema =
        qmp_client_execute(tools_shell.c, "query-qmp-schema", NULL, -1, NULL);
    g_autoptr(GHashTable) objs = g_hash_table_new(g_str_hash, g_str_equal);
    size_t i, k;
    json_t *v, *m;

    json_array_foreach(schema, i, v)
    {
        if (json_object_get(v, "members")) {
            g_hash_table_insert(
                objs, (gpointer)json_string_value(json_object_get(v, "name")),
                json_object_get(v, "members"));
        }
    }
    json_array_foreach(schema, i, v)
    {
        const char *at = json_string_value(json_object_get(v, "arg-type"));
        json_t *members = at ? g_hash_table_lookup(objs, at) : NULL;
        GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
        json_array_foreach(members, k, m)
        {
            g_ptr_array_add(
                names, g_strdup_printf("%s=", json_string_value(
                                                  json_object_get(m, "name"))));
        }
        g_hash_table_replace(
            tools_shell.args,
            g_strdup(json_string_value(json_object_get(v, "name"))), names);
    }
    json_decref(schema);
}

/* ---- completion ------------------------------------------------------------
 */

static char *tools_shell_generate(const char *text, int state)
{
    static guint next;
    const GPtrArray *list = tools_shell.matching;

    if (state == 0) {
        next = 0;
    }
    while (list && next < list->len) {
        const char *cand = g_ptr_array_index(list, next++);
        if (!strncmp(cand, text, strlen(text))) {
            return strdup(cand); /* readline frees it with free() */
        }
    }
    return NULL;
}

static char **tools_shell_complete(const char *text, int start, int end)
{
    g_autofree char *head = g_strndup(rl_line_buffer, (gsize)start);
    g_auto(GStrv) words = g_strsplit_set(g_strstrip(head), " \t", 2);
    char **matches;

    rl_attempted_completion_over = 1; /* never file names */
    if (!words[0] || !*words[0]) {
        tools_shell.matching = tools_shell.cmds;
        rl_completion_append_character = ' ';
    } else {
        tools_shell.matching = g_hash_table_lookup(tools_shell.args, words[0]);
        rl_completion_append_character = '\0';
    }
    matches = rl_completion_matches(text, tools_shell_generate);
    tools_shell.matching = NULL;
    return matches;
}

/* ---- output above the edited line ------------------------------------------
 */

static void tools_shell_print_above(const json_t *v)
{
    char *saved = rl_copy_text(0, rl_end);
    int point = rl_point;

    rl_save_prompt();
    rl_replace_line("", 0);
    rl_redisplay();
    fputs("\r", stdout);
    tools_qmp_print(stdout, v, tools_shell.pretty);
    rl_restore_prompt();
    rl_replace_line(saved, 0);
    rl_point = point;
    rl_redisplay();
    free(saved);
}

/* Prints every event received so far; false when the connection is gone. */
static bool tools_shell_events(void)
{
    g_autoptr(GError) err = NULL;
    json_t *ev;

    while ((ev = qmp_client_next_event(tools_shell.c, 0, &err))) {
        tools_shell_print_above(ev);
        json_decref(ev);
    }
    return err == NULL && qmp_client_usable(tools_shell.c);
}

static void tools_shell_on_line(char *line)
{
    if (!line) {
        tools_shell.done = true;
        fputs("\n", stdout);
        return;
    }
    g_strstrip(line);
    if (line[0] && line[0] != '#') {
        add_history(line);
        tools_shell.rc = tools_qmp_line(tools_shell.c, line, tools_shell.pretty,
                                        &tools_shell.dead);
        tools_shell.done = tools_shell.dead;
    }
    free(line);
}

static char *tools_shell_history_path(void)
{
    const char *env = g_getenv("LOCKSTEP_QMP_HISTORY");

    if (env && *env) {
        return g_strdup(env);
    }
    return g_build_filename(g_get_home_dir(), ".lockstep_qmp_history", NULL);
}

static void tools_shell_loop(void)
{
    struct pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0},
                            {qmp_client_fd(tools_shell.c), POLLIN, 0}};

    while (!tools_shell.done) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        if (fds[1].revents && !tools_shell_events()) {
            fputs("\nlockstep: the QMP connection closed\n", stderr);
            tools_shell.dead = true;
            break;
        }
        if (fds[0].revents) {
            rl_callback_read_char();
        }
    }
}

int tools_qmp_shell_tty(QmpClient *c, bool pretty)
{
    g_autofree char *hist = tools_shell_history_path();

    tools_shell.c = c;
    tools_shell.pretty = pretty;
    tools_shell.cmds = g_ptr_array_new_with_free_func(g_free);
    tools_shell.args = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                             (GDestroyNotify)g_ptr_array_unref);
    tools_shell_load_commands();
    tools_shell_load_schema();
    tools_qmp_print(stdout, qmp_client_greeting(c), pretty);
    rl_readline_name = "lockstep-qmp";
    rl_attempted_completion_function = tools_shell_complete;
    using_history();
    read_history(hist);
    rl_callback_handler_install(TOOLS_SHELL_PROMPT, tools_shell_on_line);
    tools_shell_events();
    tools_shell_loop();
    rl_callback_handler_remove();
    write_history(hist);
    history_truncate_file(hist, TOOLS_SHELL_HISTORY_MAX);
    g_ptr_array_unref(tools_shell.cmds);
    g_hash_table_unref(tools_shell.args);
    return tools_shell.dead ? TOOLS_EXIT_ERROR : tools_shell.rc;
}
