/*
 * t_bitops: the bitmap commands (SETBIT, BITCOUNT, BITFIELD ...). Being written.
 */
#include "server/commands.h"

command bitops_commands[] = {
    {0},
};
