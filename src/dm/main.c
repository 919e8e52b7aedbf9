/* lockstep-dm: placeholder until the daemon lands. */
#include <stdio.h>

int main(void)
{
    fprintf(stderr, "lockstep-dm: not built yet\n");
    return 1;
}
