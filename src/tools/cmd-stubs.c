/*
 * Subcommands that a later task implements (colo): each says so and
 * fails, so scripts can tell "not built yet" from success. Replace a stub by
 * moving it into its own cmd-<name>.c.
 */
#include "tools.h"

#include <stdio.h>

int tools_cmd_colo(int argc, char **argv)
{
    fprintf(stderr, "lockstep: 'colo' is not implemented yet\n");
    return TOOLS_EXIT_ERROR;
}
