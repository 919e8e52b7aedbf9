/*
 * The lockstep CLI's subcommands. Each takes the arguments after its name
 * (argv[0] is the subcommand) and returns the process exit status. The
 * dispatch table in main.c has one line per subcommand.
 */
#ifndef LS_TOOLS_TOOLS_H
#define LS_TOOLS_TOOLS_H

#include "machine/machine.h"
#include "vms/decode.h"

int tools_cmd_dump(int argc, char **argv);
int tools_cmd_diff(int argc, char **argv);
int tools_cmd_check(int argc, char **argv);
int tools_cmd_qmp(int argc, char **argv);
int tools_cmd_colo(int argc, char **argv);

/* Exit statuses shared by the subcommands. */
#define TOOLS_EXIT_OK     0
#define TOOLS_EXIT_DIFFER 1
#define TOOLS_EXIT_ERROR  2

#define TOOLS_MAX_FILES 2

typedef struct ToolsInput {
    char *path;
    GByteArray *buf; /* the file's bytes */
    VmsDecoded *dec; /* decoded, pointing into buf */
} ToolsInput;

/* Where tools_setup stopped: an input's index, or one of these. */
#define TOOLS_FAILED_NONE   (-1)
#define TOOLS_FAILED_USAGE  (-2) /* options or file count */
#define TOOLS_FAILED_SCHEMA (-3) /* the --schema file */

typedef struct ToolsSetup {
    int nfiles;       /* in: 1 or 2 FILE arguments */
    bool json_option; /* in: the command takes --json */
    bool own_schema;  /* in: without --schema, lockstep's descriptions */
    char *schema;     /* out: --schema path, or NULL */
    gboolean as_json; /* out: --json */
    json_t *vmdesc;   /* out: the schema, or NULL */
    ToolsInput in[TOOLS_MAX_FILES];
    int failed; /* out: TOOLS_FAILED_* or the input that failed */
} ToolsSetup;

/*
 * The setup of dump, diff and check: parses argv (argv[0] is the
 * subcommand; `params` is GOption's summary line) for --schema, --json
 * when json_option, and nfiles files; reads the schema (without
 * --schema, lockstep's own when own_schema: tools_own_vmdesc); reads
 * ("-": stdin) and decodes each file. False with *errp and s->failed saying
 * where (an input's errors do not repeat its path). tools_setup_clear frees
 * all.
 */
bool tools_setup(ToolsSetup *s, int argc, char **argv, const char *params,
                 GError **errp);
void tools_setup_clear(ToolsSetup *s);
/* "lockstep CMD: [PATH: ]MESSAGE" on stderr for a failed tools_setup. */
void tools_setup_print_error(const ToolsSetup *s, const char *cmd,
                             const GError *err);

/* The machine the tools describe and check with: lockstep-dm's pc machine
   with four UARTs and a vCPU (-accel tcg), whose BIOS is a blank image
   (the tools never run it), without RAM. NULL with *errp. */
Machine *tools_machine_new(GError **errp);
/* lockstep's own device descriptions as a vmdesc JSON (that machine's),
   or NULL with *errp. */
json_t *tools_own_vmdesc(GError **errp);

#endif
