/*
 * MEMORY STATS / DOCTOR / MALLOC-STATS / PURGE / USAGE / HELP and LOLWUT
 * beside a real redis-server: the same field names in the same order, the
 * same reply types (RESP2 and RESP3), the same errors, Redis's doctor
 * texts for the conditions both servers are put in, and figures that agree
 * with INFO and DBSIZE. LOLWUT: Redis's version line and captions, its
 * argument handling and limits; the drawings are ours (shape checked:
 * lines and cells).
 *
 * No timing assertions.
 */
#include "../difftest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The reply of argv on c (RESP2), or NULL. Caller frees. */
static redisReply *reply_of(redisContext *c, const char *cmdline) {
    if (!c) return NULL;
    return redisCommand(c, cmdline);
}

/* "name:type" for each field of a MEMORY STATS reply (nested maps: the
 * names of their fields), into out. */
static void stats_shape(const redisReply *r, char *out, size_t outlen) {
    size_t n = 0;
    out[0] = 0;
    if (!r || r->type != REDIS_REPLY_ARRAY) return;
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const redisReply *k = r->element[i], *v = r->element[i + 1];
        const char *t = v->type == REDIS_REPLY_INTEGER ? "int"
                        : v->type == REDIS_REPLY_STRING ? "bulk"
                        : v->type == REDIS_REPLY_ARRAY  ? "map"
                                                        : "?";
        n += (size_t)snprintf(out + n, outlen - n, "%s:%s,", k->str, t);
        if (v->type == REDIS_REPLY_ARRAY)
            for (size_t j = 0; j + 1 < v->elements; j += 2)
                n += (size_t)snprintf(out + n, outlen - n, "[%s:%s]", v->element[j]->str,
                                      v->element[j + 1]->type == REDIS_REPLY_INTEGER ? "int" : "?");
        if (n >= outlen) return;
    }
}

static long long stat_num(const redisReply *r, const char *name) {
    for (size_t i = 0; i + 1 < r->elements; i += 2)
        if (!strcmp(r->element[i]->str, name)) {
            const redisReply *v = r->element[i + 1];
            return v->type == REDIS_REPLY_INTEGER ? v->integer : (long long)atof(v->str);
        }
    return -1;
}

TEST(stats_fields_types_and_order_match_redis) {
    REQUIRE(difftest_start(NULL));
    for (int db = 0; db < 3; db += 2) {
        C("SELECT", db ? "2" : "0");
        C("SET", "a", "1");
        C("SET", "b", "2", "EX", "100");
        C("HSET", "h", "f", "v");
    }
    C("SELECT", "0");
    redisReply *l = reply_of(L, "MEMORY STATS"), *r = reply_of(R, "MEMORY STATS");
    REQUIRE(l && l->type == REDIS_REPLY_ARRAY);
    char ls[4096], rs[4096];
    stats_shape(l, ls, sizeof(ls));
    if (r) {
        stats_shape(r, rs, sizeof(rs));
        CHECK_EQ_STR(ls, rs);
    }
    CHECK(strstr(ls, "db.0:map,[overhead.hashtable.main:int]") != NULL);
    CHECK(strstr(ls, "db.2:map") != NULL && strstr(ls, "db.1:") == NULL);
    /* Figures: the keys, and the totals that add up. */
    CHECK_EQ_INT(stat_num(l, "keys.count"), 6);
    long long total = stat_num(l, "total.allocated"), peak = stat_num(l, "peak.allocated");
    long long overhead = stat_num(l, "overhead.total"), dataset = stat_num(l, "dataset.bytes");
    long long startup = stat_num(l, "startup.allocated");
    CHECK(total > 0 && peak >= total);
    CHECK(startup > 0 && overhead >= startup);
    CHECK_EQ_INT(dataset, total > overhead ? total - overhead : 0);
    CHECK(stat_num(l, "clients.normal") > 0);
    CHECK(stat_num(l, "allocator.active") >= stat_num(l, "allocator.allocated"));
    long long used = harness_info_num(L, "memory", "used_memory");
    CHECK(used > total / 2 && used < total * 2);
    freeReplyObject(l);
    if (r) freeReplyObject(r);
    /* Errors: arity and unknown subcommands as Redis. */
    C("MEMORY", "STATS", "x");
    C("MEMORY", "DOCTOR", "x");
    C("MEMORY", "PURGE", "x");
    C("MEMORY", "MALLOC-STATS", "x");
    C("MEMORY", "NOSUCH");
    C("MEMORY");
    CHECK_HELP(L, "MEMORY");
}

/* Inside EXEC (shard locks held) and a script: the figures, no wait. */
TEST(stats_inside_exec_and_scripts) {
    REQUIRE(difftest_start(NULL));
    EXPECT("status:\"OK\"", "MULTI");
    EXPECT("status:\"QUEUED\"", "SET", "a", "1");
    EXPECT("status:\"QUEUED\"", "MEMORY", "STATS");
    EXPECT("status:\"QUEUED\"", "INFO", "memory");
    EXPECT("status:\"QUEUED\"", "MEMORY", "DOCTOR");
    redisReply *l = reply_of(L, "EXEC");
    REQUIRE(l && l->type == REDIS_REPLY_ARRAY && l->elements == 4);
    CHECK(l->element[1]->type == REDIS_REPLY_ARRAY && l->element[1]->elements >= 54);
    CHECK(l->element[2]->type == REDIS_REPLY_STRING);
    freeReplyObject(l);
    if (R) freeReplyObject(reply_of(R, "EXEC"));
    const char *s = cmd(L, "EVAL %s 1 a", "redis.call('SET', KEYS[1], '2') "
                                         "return #redis.call('MEMORY', 'STATS')");
    CHECK(!strncmp(s, "int:", 4) && atoi(s + 4) >= 54);
}

TEST(resp3_reply_types) {
    int fl, fr;
    REQUIRE(difftest_start_servers(NULL) && difftest_raw_connect(3, &fl, &fr));
    const char *s = RAW_CMD(fl, "MEMORY", "STATS");
    CHECK(!strncmp(s, "map{bulk:\"peak.allocated\"=>int:", strlen("map{bulk:\"peak.allocated\"=>int:")));
    CHECK(strstr(s, "bulk:\"dataset.percentage\"=>double:") != NULL);
    CHECK(!strncmp(RAW_CMD(fl, "MEMORY", "DOCTOR"), "verbatim:\"txt:", 14));
    if (fr >= 0) {
        const char *rd = RAW_CMD(fr, "MEMORY", "DOCTOR");
        CHECK(!strncmp(rd, "verbatim:\"txt:", 14));
        /* Both empty: the same text. */
        RAW_COMPARE(fl, fr, "MEMORY", "DOCTOR");
        const char *ms = RAW_CMD(fr, "MEMORY", "MALLOC-STATS");
        const char *ls = RAW_CMD(fl, "MEMORY", "MALLOC-STATS");
        CHECK(!strncmp(ls, ms, 6)); /* same reply type */
    }
    RAW_COMPARE(fl, fr, "MEMORY", "PURGE");
    RAW_COMPARE(fl, fr, "LOLWUT");
}

TEST(doctor_texts_as_redis) {
    /* Without the WAL (as the Redis beside it, no AOF): the WAL keeps up
     * to 64 MiB of records until their fsync (aof.buffer), which would
     * hide the peak this test makes. */
    REQUIRE(difftest_start("appendonly", "no", NULL));
    /* Empty: Redis's text, word for word. */
    EXPECT("bulk:\"Hi Sam, this instance is empty or is using very little memory, my issues "
           "detector can't be used in these conditions. Please, leave for your mission on Earth "
           "and fill it with some data. The new Sam and I will be back to our programming as "
           "soon as I finished rebooting.\\n\"",
           "MEMORY", "DOCTOR");
    /* A peak of 40 MB then most of it deleted: both report the peak. */
    redisContext *cs[2] = {L, R};
    char *val = malloc(10001);
    memset(val, 'x', 10000);
    val[10000] = 0;
    for (int s = 0; s < 2 && cs[s]; s++) {
        /* Batches of 100: a pipeline's records wait in the WAL buffers
         * (aof.buffer) until its turn ends, and those keep their size. */
        for (int b = 0; b < 4000; b += 100) {
            for (int i = b; i < b + 100; i++) redisAppendCommand(cs[s], "SET k%d %s", i, val);
            for (int i = b; i < b + 100; i++) {
                redisReply *r = NULL;
                REQUIRE(redisGetReply(cs[s], (void **)&r) == REDIS_OK && r);
                freeReplyObject(r);
            }
        }
        for (int i = 700; i < 4000; i++) redisAppendCommand(cs[s], "DEL k%d", i);
        for (int i = 700; i < 4000; i++) {
            redisReply *r = NULL;
            REQUIRE(redisGetReply(cs[s], (void **)&r) == REDIS_OK && r);
            freeReplyObject(r);
        }
    }
    free(val);
    for (int s = 0; s < 2 && cs[s]; s++) {
        redisReply *r = redisCommand(cs[s], "MEMORY DOCTOR");
        REQUIRE(r && r->type == REDIS_REPLY_STRING);
        CHECK(!strncmp(r->str, "Sam, I detected a few issues in this Redis instance memory implants:\n\n", 70));
        if (!strstr(r->str, " * Peak memory:")) {
            redisReply *st = redisCommand(cs[s], "MEMORY STATS");
            if (st && st->type == REDIS_REPLY_ARRAY)
                fprintf(stderr, "# server %d: peak %lld total %lld aof %lld keys %lld dataset %lld\n", s,
                        stat_num(st, "peak.allocated"), stat_num(st, "total.allocated"), stat_num(st, "aof.buffer"), stat_num(st, "keys.count"), stat_num(st, "dataset.bytes"));
            if (st) freeReplyObject(st);
        }
        CHECK(strstr(r->str, " * Peak memory: In the past this instance used more than 150% the memory") != NULL);
        CHECK(strstr(r->str, "I'm here to keep you safe, Sam. I want to help you.\n") != NULL);
        freeReplyObject(r);
    }
}

TEST(malloc_stats_and_purge) {
    REQUIRE(difftest_start(NULL));
    redisReply *l = reply_of(L, "MEMORY MALLOC-STATS");
    REQUIRE(l && l->type == REDIS_REPLY_STRING);
    char alloc[64] = "";
    harness_info(L, "memory", "mem_allocator", alloc, sizeof(alloc));
    if (!strncmp(alloc, "jemalloc", 8)) {
        CHECK(!strncmp(l->str, "___ Begin jemalloc statistics ___\n", 34));
        CHECK(strstr(l->str, "--- End jemalloc statistics ---\n") != NULL);
    } else { /* a sanitizer build: Redis's text for other allocators */
        CHECK_EQ_STR(l->str, "Stats not supported for the current allocator");
    }
    freeReplyObject(l);
    EXPECT("status:\"OK\"", "MEMORY", "PURGE");
}

TEST(usage_as_redis) {
    REQUIRE(difftest_start(NULL));
    C("SET", "k", "v");
    EXPECT("nil", "MEMORY", "USAGE", "nosuch");
    EXPECT(SYNTAX, "MEMORY", "USAGE", "k", "SAMPLES", "-1");
    EXPECT(NOTINT, "MEMORY", "USAGE", "k", "SAMPLES", "x");
    EXPECT(SYNTAX, "MEMORY", "USAGE", "k", "FOO");
    C("MEMORY", "USAGE");
}

/* The art's lines: `rows` lines of `cols` cells before the caption. */
static int count_lines_before(const char *s, const char *caption, int *cells_first) {
    const char *end = strstr(s, caption);
    if (!end) return -1;
    int lines = 0;
    *cells_first = -1;
    for (const char *p = s; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) nl = end;
        if (nl > p) {
            int cells = 0;
            for (const char *q = p; q < nl; q++)
                if (((unsigned char)*q & 0xC0) != 0x80 && *q != '\033') cells++;
            if (*cells_first < 0) *cells_first = cells;
            lines++;
        }
        p = nl + 1;
    }
    return lines;
}

TEST(lolwut_versions_and_arguments) {
    REQUIRE(difftest_start(NULL));
    EXPECT("bulk:\"Redis ver. 7.0.15\\n\"", "LOLWUT");
    EXPECT("bulk:\"Redis ver. 7.0.15\\n\"", "LOLWUT", "1", "2", "3");
    EXPECT("bulk:\"Redis ver. 7.0.15\\n\"", "LOLWUT", "VERSION", "7");
    EXPECT("bulk:\"Redis ver. 7.0.15\\n\"", "LOLWUT", "VERSION", "59");
    EXPECT("bulk:\"Redis ver. 7.0.15\\n\"", "LOLWUT", "VERSION", "-1");
    EXPECT("bulk:\"Redis ver. 7.0.15\\n\"", "LOLWUT", "VERSION", "4");
    EXPECT("bulk:\"Redis ver. 7.0.15\\n\"", "LOLWUT", "VERSION");
    EXPECT(NOTINT, "LOLWUT", "VERSION", "abc");
    EXPECT(NOTINT, "LOLWUT", "VERSION", "4.9");
    EXPECT(NOTINT, "LOLWUT", "VERSION", "5", "x");
    EXPECT(NOTINT, "LOLWUT", "VERSION", "5", "10", "x");
    EXPECT(NOTINT, "LOLWUT", "VERSION", "6", "10", "y");
    /* Version 5: braille squares, then Redis's caption. */
    const char *cap5 = "\nGeorg Nees - schotter, plotter on paper, 1968. Redis ver. 7.0.15\n";
    struct { const char *a[3]; int cols; } v5[] = {
        {{"10", "2", "2"}, 10}, {{"0", "1", "1"}, 1}, {{"2000", "1", "1"}, 1000}, {{"66", "8", "12"}, 66}};
    for (size_t i = 0; i < NELEM(v5); i++) {
        redisReply *r = redisCommand(L, "LOLWUT VERSION 5 %s %s %s", v5[i].a[0], v5[i].a[1], v5[i].a[2]);
        REQUIRE(r && r->type == REDIS_REPLY_STRING);
        size_t cl = strlen(cap5);
        CHECK(r->len > cl && !memcmp(r->str + r->len - cl, cap5, cl));
        int cells, lines = count_lines_before(r->str, cap5, &cells);
        CHECK(lines >= 1);
        CHECK_EQ_INT(cells, v5[i].cols);
        if (R) {
            redisReply *rr = redisCommand(R, "LOLWUT VERSION 5 %s %s %s", v5[i].a[0], v5[i].a[1], v5[i].a[2]);
            REQUIRE(rr && rr->type == REDIS_REPLY_STRING);
            int rcells;
            count_lines_before(rr->str, cap5, &rcells);
            CHECK_EQ_INT(cells, rcells);
            freeReplyObject(rr);
        }
        freeReplyObject(r);
    }
    /* Version 6: rows x cols coloured cells, Redis's captions. */
    const char *cap6 = "\nDedicated to the 8 bit game developers of past and present.\n"
                       "Original 8 bit image from Plaguemon by hikikomori. Redis ver. 7.0.15\n";
    struct { const char *a[2]; int cols, rows; } v6[] = {
        {{"10", "3"}, 10, 3}, {{"0", "0"}, 1, 1}, {{"80", "20"}, 80, 20}};
    for (size_t i = 0; i < NELEM(v6); i++) {
        redisContext *cs[2] = {L, R};
        for (int s = 0; s < 2 && cs[s]; s++) {
            redisReply *r = redisCommand(cs[s], "LOLWUT VERSION 6 %s %s", v6[i].a[0], v6[i].a[1]);
            REQUIRE(r && r->type == REDIS_REPLY_STRING);
            size_t cl = strlen(cap6);
            CHECK(r->len > cl && !memcmp(r->str + r->len - cl, cap6, cl));
            /* Each cell is "ESC[0;F;Bm ESC[0m": count the spaces. */
            int rows = 0, cells = 0;
            const char *end = r->str + r->len - cl;
            for (const char *p = r->str; p < end; p++) {
                if (*p == ' ') cells++;
                if (*p == '\n') rows++;
            }
            CHECK_EQ_INT(rows + 1, v6[i].rows);
            CHECK_EQ_INT(cells, v6[i].cols * v6[i].rows);
            freeReplyObject(r);
        }
    }
}

int main(void) {
    RUN(stats_fields_types_and_order_match_redis);
    RUN(stats_inside_exec_and_scripts);
    RUN(resp3_reply_types);
    RUN(doctor_texts_as_redis);
    RUN(malloc_stats_and_purge);
    RUN(usage_as_redis);
    RUN(lolwut_versions_and_arguments);
    return testlib_finish();
}
