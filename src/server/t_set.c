/*
 * t_set: the set commands (SADD, SINTER and family). Being written.
 */
#include "server/commands.h"

command set_commands[] = {
    {0},
};
