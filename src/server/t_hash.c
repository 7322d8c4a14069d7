/*
 * t_hash: the hash commands (HSET, HGET and family). Being written.
 */
#include "server/commands.h"

command hash_commands[] = {
    {0},
};
