/*
 * t_string: the string commands (GET, SET and family). Being written.
 */
#include "server/commands.h"

command string_commands[] = {
    {0},
};
