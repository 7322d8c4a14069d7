/*
 * libFuzzer target for the configuration parser (src/server/config.c):
 * any text must give either success or Redis's FATAL CONFIG error text,
 * never a crash, a hang or a sanitizer report.
 *
 * Directives that touch the file system (dir, logfile, pidfile, include)
 * are dropped from the input so the fuzzer never writes or changes
 * directory outside its sandbox; everything else, quoting and units
 * included, is parsed as the server parses a file.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/assert.h"
#include "server/config.h"
#include "server/server.h"

static int touches_files(const char *line, size_t len) {
    static const char *const names[] = {"dir", "logfile", "pidfile", "include"};
    while (len && isspace((unsigned char)*line)) {
        line++;
        len--;
    }
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        size_t n = strlen(names[i]);
        if (len >= n && !strncasecmp(line, names[i], n)) return 1;
    }
    /* Quoted or escaped directive names could spell them too. */
    return memchr(line, '"', len) || memchr(line, '\'', len) ? memmem(line, len, "dir", 3) ||
                                                                   memmem(line, len, "file", 4) ||
                                                                   memmem(line, len, "incl", 4)
                                                             : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int init;
    if (!init) {
        config_init_defaults();
        init = 1;
    }
    char *text = malloc(size + 1);
    size_t out = 0;
    for (size_t pos = 0; pos < size;) {
        const uint8_t *nl = memchr(data + pos, '\n', size - pos);
        size_t len = nl ? (size_t)(nl - (data + pos)) + 1 : size - pos;
        if (!touches_files((const char *)data + pos, len)) {
            memcpy(text + out, data + pos, len);
            out += len;
        }
        pos += len;
    }
    text[out] = '\0';
    char err[4096];
    int rc = config_load_text("(fuzz)", text, out, err, sizeof(err));
    /* -2: a file named by an include could not be opened. */
    ASSERT(rc == 0 || rc == -1 || rc == -2);
    if (rc == -1) ASSERT(strstr(err, "FATAL CONFIG FILE ERROR") != NULL);
    if (rc == -2) ASSERT(strstr(err, "can't open config file") != NULL);
    free(text);
    /* Back to defaults so runs do not depend on each other. */
    config_init_defaults();
    return 0;
}
