/*
 * libFuzzer target for the configuration parser (src/server/config.c):
 * any text must give either success or Redis's FATAL CONFIG error text,
 * never a crash, a hang or a sanitizer report.
 *
 * Directives that touch the file system (dir, logfile, pidfile, include)
 * are dropped from the input — recognised after the same quoting and
 * escapes the parser applies, since an escaped "log\x66ile" once created
 * files — and the fuzzer runs in a scratch directory; everything else is
 * parsed as the server parses a file.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/assert.h"
#include "server/config.h"
#include "server/net/resp.h"
#include "server/server.h"

/* Splits the line exactly as the config parser does (quotes, escapes) and
 * reports whether its directive is one that touches the file system. */
static int touches_files(const char *line, size_t len) {
    static const char *const names[] = {"dir", "logfile", "pidfile", "include"};
    /* The parser trims " \t\r\n" and, like Redis's sdstrim, NUL bytes. */
    while (len && (memchr(" \t\r\n", line[0], 4) || line[0] == '\0')) line++, len--;
    while (len && (memchr(" \t\r\n", line[len - 1], 4) || line[len - 1] == '\0')) len--;
    char *copy = malloc(len + 1);
    memcpy(copy, line, len);
    copy[len] = '\0';
    resp_arg *argv = NULL;
    int cap = 0;
    /* A line the parser cannot split is an error, not a file operation. */
    int argc = resp_split_inline(copy, len, &argv, &cap);
    int hit = 0;
    if (argc > 0)
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
            if (argv[0].len == strlen(names[i]) && !strncasecmp(argv[0].ptr, names[i], argv[0].len))
                hit = 1;
    free(argv);
    free(copy);
    return hit;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int init;
    if (!init) {
        /* Defence in depth: work inside a scratch directory (make fuzz
         * passes absolute corpus paths, so libFuzzer still finds them). */
        char tmpl[] = "/tmp/lightning-fuzz-config-XXXXXX";
        if (!mkdtemp(tmpl) || chdir(tmpl) != 0) abort();
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
    /* -2: a file named by an include could not be opened or is too big. */
    ASSERT(rc == 0 || rc == -1 || rc == -2);
    if (rc == -1) ASSERT(strstr(err, "FATAL CONFIG FILE ERROR") != NULL);
    if (rc == -2) ASSERT(strstr(err, "Fatal error, ") != NULL);
    free(text);
    /* Back to defaults so runs do not depend on each other. */
    config_init_defaults();
    return 0;
}
