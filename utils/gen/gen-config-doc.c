/*
 * gen-config-doc: prints docs/CONFIG.md, generated from the directive table
 * of src/server/config.c (`make config-doc`). Links the server's modules.
 */
#include <stdio.h>
#include <stdlib.h>

#include "server/config.h"

int main(void) {
    config_init_defaults();
    char *doc = config_doc_markdown();
    fputs(doc, stdout);
    free(doc);
    return ferror(stdout) ? 1 : 0;
}
