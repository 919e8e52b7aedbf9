/*
 * Shared by `lockstep qmp`'s one-shot and line modes (cmd-qmp.c) and its
 * terminal shell (qmp-shell.c).
 */
#ifndef LS_TOOLS_TOOLS_QMP_H
#define LS_TOOLS_TOOLS_QMP_H

#include <stdbool.h>
#include <stdio.h>

#include "qmp/client.h"
#include "qmp/qmp.h"
#include "tools.h"

/* Prints `v` on one line as QEMU spaces JSON, or indented (--pretty). */
void tools_qmp_print(FILE *out, const json_t *v, bool pretty);

/* Runs one shell line: a raw JSON request, or COMMAND key=value ...;
   prints the result or the error. Returns the exit status; *dead is set
   when the connection is gone. */
int tools_qmp_line(QmpClient *c, const char *line, bool pretty, bool *dead);

/* The interactive shell on a terminal; returns the exit status. */
int tools_qmp_shell_tty(QmpClient *c, bool pretty);

#endif
