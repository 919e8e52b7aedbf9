/*
 * The lockstep CLI's subcommands. Each takes the arguments after its name
 * (argv[0] is the subcommand) and returns the process exit status. The
 * dispatch table in main.c has one line per subcommand.
 */
#ifndef LS_TOOLS_TOOLS_H
#define LS_TOOLS_TOOLS_H

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

/*
 * Reads FILE and, when schema_path is non-NULL, the vmdesc JSON, and
 * decodes. On success *buf holds the bytes the result points into and
 * *vmdesc the schema (or NULL); the caller frees all three.
 */
VmsDecoded *tools_decode_file(const char *path, const char *schema_path,
                              GByteArray **buf, json_t **vmdesc, GError **errp);

#endif
