/*
 * lockstep: the command-line tool. Dispatches to one subcommand per file
 * (cmd-*.c); add a subcommand with one line in the table below.
 */
#include "tools.h"
#include "base/log.h"

#include <stdio.h>
#include <string.h>

typedef struct ToolsCmd {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *usage;
} ToolsCmd;

static const ToolsCmd tools_cmds[] = {
    {"dump", tools_cmd_dump, "dump FILE [--schema VMDESC.json] [--json]"},
    {"diff", tools_cmd_diff, "diff A B [--schema VMDESC.json] [--json]"},
    {"check", tools_cmd_check, "check FILE [--schema VMDESC.json]"},
    {"qmp", tools_cmd_qmp, "qmp ADDR [COMMAND [key=value ...]]"},
    {"colo", tools_cmd_colo,
     "colo primary --qmp ADDR --peer HOST:PORT [--interval MS] ...\n"
     "  lockstep colo secondary --qmp ADDR --listen HOST:PORT ...\n"
     "  (lockstep colo primary|secondary --help: all options)"},
};

static int tools_usage(FILE *out)
{
    fprintf(out, "usage:\n");
    for (size_t i = 0; i < G_N_ELEMENTS(tools_cmds); i++) {
        fprintf(out, "  lockstep %s\n", tools_cmds[i].usage);
    }
    return out == stdout ? TOOLS_EXIT_OK : TOOLS_EXIT_ERROR;
}

int main(int argc, char **argv)
{
    ls_log_init("lockstep");
    if (argc < 2) {
        return tools_usage(stderr);
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        return tools_usage(stdout);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(tools_cmds); i++) {
        if (!strcmp(argv[1], tools_cmds[i].name)) {
            return tools_cmds[i].run(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "lockstep: unknown command '%s'\n", argv[1]);
    return tools_usage(stderr);
}
