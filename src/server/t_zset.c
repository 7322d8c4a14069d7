/*
 * t_zset: the zset commands (ZADD, ZRANGE and family). Being written.
 */
#include "server/commands.h"

command zset_commands[] = {
    {0},
};
