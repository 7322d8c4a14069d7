/*
 * t_keys: the generic key commands (DEL, EXPIRE, SCAN, OBJECT ...). Being written.
 */
#include "server/commands.h"

command keys_commands[] = {
    {0},
};
