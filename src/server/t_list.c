/*
 * t_list: the list commands (LPUSH, LRANGE and family). Being written.
 */
#include "server/commands.h"

command list_commands[] = {
    {0},
};
