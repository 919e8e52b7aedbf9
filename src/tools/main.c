/* lockstep CLI: placeholder until the subcommands land. */
#include <stdio.h>

int main(void)
{
    fprintf(stderr, "lockstep: not built yet\n");
    return 1;
}
