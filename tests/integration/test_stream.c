/*
 * Stream commands (t_stream.c), differential against a real redis-server
 * 7.0: every deterministic reply is compared with Redis's and the expected
 * value asserted too. IDs are explicit wherever both servers must agree
 * (`*` depends on each server's clock); replies carrying times (XPENDING's
 * idle, XINFO's seen-time and delivery times) are checked for shape on
 * Lightning. Blocking reads are served across connections; consumer groups
 * with their pending lists survive a restart (snapshot + WAL) and kill -9
 * under appendfsync always.
 */
#include "../difftest.h"

#include <stdio.h>
#include <stdlib.h>

#define ERR_ID "err:\"ERR Invalid stream ID specified as stream command argument\""
#define ERR_TOP "err:\"ERR The ID specified in XADD is equal or smaller than the target stream top item\""

/* s without the integer after each `bulk:"<field>",int:` (values that
 * cannot match between the servers). Returns a malloc'd string. */
static char *strip_int(const char *in, const char *field) {
    char *s = strdup(in), tag[64], *p, *from = s;
    snprintf(tag, sizeof tag, "bulk:\"%s\",int:", field);
    while ((p = strstr(from, tag))) {
        char *e = p + strlen(tag);
        while (*e >= '0' && *e <= '9') e++;
        memmove(p + strlen(tag), e, strlen(e) + 1);
        from = p + strlen(tag);
    }
    return s;
}

/* XINFO STREAM on both servers, compared except radix-tree-nodes (our
 * node index is not Redis's radix tree). */
#define XINFO_CMP(key) xinfo_cmp(__FILE__, __LINE__, key)
static void xinfo_cmp(const char *file, int line, const char *key) {
    char *a = strip_int(cmd(L, "XINFO STREAM %s", key), "radix-tree-nodes");
    if (R) {
        char *b = strip_int(cmd(R, "XINFO STREAM %s", key), "radix-tree-nodes");
        if (strcmp(a, b) != 0) testlib_fail(file, line, "XINFO STREAM %s:\n  L %s\n  R %s", key, a, b);
        free(b);
    }
    free(a);
}

TEST(xadd_xrange_basics) {
    REQUIRE(difftest_start(NULL));
    REQUIRE(difftest_make_wrongtype());
    EXPECT("bulk:\"1-1\"", "XADD", "s", "1-1", "a", "1");
    EXPECT(ERR_TOP, "XADD", "s", "1-1", "a", "1");
    EXPECT(ERR_TOP, "XADD", "s", "0-5", "a", "1");
    EXPECT("bulk:\"1-2\"", "XADD", "s", "1-*", "a", "2", "b", "3");
    EXPECT("bulk:\"5-0\"", "XADD", "s", "5", "f", "");
    EXPECT("bulk:\"5-1\"", "XADD", "s", "5-*", "f", "x");
    EXPECT("bulk:\"6-0\"", "XADD", "s", "6-*", "f", "x");
    EXPECT("err:\"ERR The ID specified in XADD must be greater than 0-0\"", "XADD", "n", "0-0",
           "a", "1");
    EXPECT("bulk:\"0-1\"", "XADD", "n", "0-*", "a", "1");
    EXPECT("nil", "XADD", "none", "NOMKSTREAM", "1-1", "a", "1");
    EXPECT("int:0", "EXISTS", "none");
    EXPECT("bulk:\"7-0\"", "XADD", "s", "NOMKSTREAM", "7", "x", "y");
    EXPECT(ERR_ID, "XADD", "s", "abc", "x", "y");
    EXPECT(ERR_ID, "XADD", "s", "-", "x", "y");
    EXPECT(ERR_ID, "XADD", "s", "1-x", "x", "y");
    EXPECT(ERR_ID, "XADD", "s", "-1", "x", "y");
    EXPECT("err:\"ERR wrong number of arguments for 'xadd' command\"", "XADD", "s", "9", "x");
    EXPECT("err:\"ERR wrong number of arguments for 'xadd' command\"", "XADD", "s", "9", "x", "y",
           "z");
    EXPECT(WRONGTYPE, "XADD", "wt", "1", "a", "b");
    EXPECT(WRONGTYPE, "XRANGE", "wt", "-", "+");
    EXPECT(WRONGTYPE, "XLEN", "wt");
    /* The exhausted stream. */
    EXPECT("bulk:\"18446744073709551615-18446744073709551615\"", "XADD", "max",
           "18446744073709551615-18446744073709551615", "a", "b");
    EXPECT("err:\"ERR The stream has exhausted the last possible ID, unable to add more items\"",
           "XADD", "max", "*", "a", "b");
    EXPECT("bulk:\"18446744073709551614-0\"", "XADD", "m2", "18446744073709551614", "a", "b");
    C("XADD", "m2", "18446744073709551614-*", "a", "b");
    C("XADD", "m2", " 18446744073709551615", "a", "b");
    C("XADD", "m2", "+18446744073709551615-9", "a", "b");

    EXPECT("int:6", "XLEN", "s");
    EXPECT("int:0", "XLEN", "nosuch");
    C("XRANGE", "s", "-", "+");
    C("XREVRANGE", "s", "+", "-");
    EXPECT("array[array[bulk:\"7-0\",array[bulk:\"x\",bulk:\"y\"]],array[bulk:\"6-0\",array["
           "bulk:\"f\",bulk:\"x\"]]]",
           "XREVRANGE", "s", "+", "-", "COUNT", "2");
    C("XRANGE", "s", "(1-1", "+");
    C("XRANGE", "s", "-", "(5");
    C("XRANGE", "s", "(1", "(6");
    C("XRANGE", "s", "5", "5");
    C("XRANGE", "s", "5-1", "5-1");
    C("XREVRANGE", "s", "(7", "(1-2");
    EXPECT("err:\"ERR invalid start ID for the interval\"", "XRANGE", "s",
           "(18446744073709551615-18446744073709551615", "+");
    EXPECT("err:\"ERR invalid end ID for the interval\"", "XRANGE", "s", "-", "(0-0");
    EXPECT(ERR_ID, "XRANGE", "s", "(-", "+");
    EXPECT(ERR_ID, "XRANGE", "s", "x", "+");
    EXPECT("nil", "XRANGE", "s", "-", "+", "COUNT", "0");
    EXPECT("nil", "XRANGE", "s", "-", "+", "COUNT", "-3");
    EXPECT("array[]", "XRANGE", "nosuch", "-", "+");
    EXPECT(SYNTAX, "XRANGE", "s", "-", "+", "COUNT");
    EXPECT(NOTINT, "XRANGE", "s", "-", "+", "COUNT", "x");
    EXPECT("array[]", "XRANGE", "s", "9", "8");

    EXPECT("int:0", "XDEL", "nosuch", "bad");
    EXPECT(ERR_ID, "XDEL", "s", "1-1", "bad");
    EXPECT("int:6", "XLEN", "s");
    EXPECT("int:2", "XDEL", "s", "1-1", "5-0", "99", "1-1");
    EXPECT("int:4", "XLEN", "s");
    C("XRANGE", "s", "-", "+");
    XINFO_CMP("s");
    EXPECT("int:0", "XDEL", "s", "1-1");
    EXPECT(WRONGTYPE, "XDEL", "wt", "1");

    /* XSETID and its checks, in Redis's order. */
    EXPECT("err:\"ERR The ID specified in XSETID is smaller than the target stream top item\"",
           "XSETID", "s", "1");
    EXPECT("err:\"ERR The entries_added specified in XSETID is smaller than the target stream "
           "length\"",
           "XSETID", "s", "100", "ENTRIESADDED", "1");
    EXPECT("err:\"ERR The ID specified in XSETID is smaller than the provided "
           "max_deleted_entry_id\"",
           "XSETID", "s", "100", "MAXDELETEDID", "200");
    EXPECT("err:\"ERR entries_added must be positive\"", "XSETID", "s", "100", "ENTRIESADDED",
           "-1");
    EXPECT("status:\"OK\"", "XSETID", "s", "100", "ENTRIESADDED", "10", "MAXDELETEDID", "50");
    XINFO_CMP("s");
    EXPECT(ERR_TOP, "XADD", "s", "100", "a", "b");
    EXPECT("bulk:\"100-1\"", "XADD", "s", "100-*", "a", "b");
    EXPECT("err:\"ERR no such key\"", "XSETID", "nosuch", "1");
    EXPECT(SYNTAX, "XSETID", "s", "200", "FOO");
    EXPECT(WRONGTYPE, "XSETID", "wt", "1");
    EXPECT("err:\"ERR wrong number of arguments for 'xsetid' command\"", "XSETID", "s");
    EXPECT("status:\"stream\"", "TYPE", "s");
    EXPECT("bulk:\"stream\"", "OBJECT", "ENCODING", "s");
    /* An emptied stream stays, and reports its counters. */
    C("XTRIM", "s", "MAXLEN", "0");
    XINFO_CMP("s");
    EXPECT("int:1", "EXISTS", "s");
}

TEST(trimming) {
    REQUIRE(difftest_start("stream-node-max-entries", "4", NULL));
    char id[32];
    for (int i = 1; i <= 30; i++) {
        snprintf(id, sizeof id, "%d", i);
        C("XADD", "t", id, "f", id);
    }
    EXPECT("err:\"ERR syntax error, LIMIT cannot be used without the special ~ option\"", "XADD",
           "t", "MAXLEN", "2", "LIMIT", "5", "31", "x", "y");
    EXPECT("err:\"ERR syntax error, LIMIT cannot be used without specifying a trimming "
           "strategy\"",
           "XADD", "t", "LIMIT", "5", "31", "x", "y");
    EXPECT("err:\"ERR syntax error, MAXLEN and MINID options at the same time are not "
           "compatible\"",
           "XADD", "t", "MINID", "5", "MAXLEN", "3", "31", "x", "y");
    EXPECT("err:\"ERR The MAXLEN argument must be >= 0.\"", "XADD", "t", "MAXLEN", "-1", "31",
           "x", "y");
    EXPECT("err:\"ERR The LIMIT argument must be >= 0.\"", "XTRIM", "t", "MAXLEN", "~", "1",
           "LIMIT", "-1");
    EXPECT("err:\"ERR syntax error, LIMIT cannot be used without specifying a trimming "
           "strategy\"",
           "XTRIM", "t", "LIMIT", "1");
    EXPECT("err:\"ERR syntax error, XTRIM must be called with a trimming strategy\"", "XTRIM", "t",
           "LIMIT", "0");
    EXPECT(SYNTAX, "XTRIM", "t", "FOO", "1");
    EXPECT("int:0", "XTRIM", "nosuch", "MAXLEN", "0");
    /* Approximate: whole nodes only. */
    C("XTRIM", "t", "MAXLEN", "~", "25");
    C("XLEN", "t");
    C("XTRIM", "t", "MAXLEN", "~", "10", "LIMIT", "4");
    C("XLEN", "t");
    C("XTRIM", "t", "MINID", "~", "13");
    C("XRANGE", "t", "-", "+", "COUNT", "2");
    C("XTRIM", "t", "MINID", "15");
    C("XRANGE", "t", "-", "+", "COUNT", "2");
    C("XTRIM", "t", "MAXLEN", "=", "12");
    C("XADD", "t", "MAXLEN", "~", "5", "31", "a", "b");
    C("XLEN", "t");
    C("XADD", "t", "MINID", "=", "28", "32", "a", "b");
    C("XRANGE", "t", "-", "+");
    XINFO_CMP("t");
    C("XTRIM", "t", "MAXLEN", "0");
    XINFO_CMP("t");
}

TEST(xread) {
    REQUIRE(difftest_start(NULL));
    REQUIRE(difftest_make_wrongtype());
    C("XADD", "a", "1", "f", "1");
    C("XADD", "a", "2", "f", "2");
    C("XADD", "b", "5", "g", "5");
    C("XREAD", "STREAMS", "a", "b", "0", "0");
    C("XREAD", "COUNT", "1", "STREAMS", "a", "b", "0", "0");
    C("XREAD", "STREAMS", "a", "b", "1", "5");
    EXPECT("nil", "XREAD", "STREAMS", "a", "$");
    EXPECT("nil", "XREAD", "STREAMS", "nosuch", "0");
    C("XREAD", "STREAMS", "nosuch", "a", "0", "0");
    EXPECT(SYNTAX, "XREAD", "COUNT", "1", "a", "0");
    EXPECT("err:\"ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must "
           "be specified.\"",
           "XREAD", "STREAMS", "a", "b", "0");
    EXPECT("err:\"ERR The GROUP option is only supported by XREADGROUP. You called XREAD "
           "instead.\"",
           "XREAD", "GROUP", "g", "c", "STREAMS", "a", "0");
    EXPECT("err:\"ERR The NOACK option is only supported by XREADGROUP. You called XREAD "
           "instead.\"",
           "XREAD", "NOACK", "STREAMS", "a", "0");
    EXPECT("err:\"ERR The > ID can be specified only when calling XREADGROUP using the GROUP "
           "<group> <consumer> option.\"",
           "XREAD", "STREAMS", "a", ">");
    EXPECT(ERR_ID, "XREAD", "STREAMS", "a", "x");
    EXPECT(WRONGTYPE, "XREAD", "STREAMS", "wt", "0");
    EXPECT("err:\"ERR timeout is negative\"", "XREAD", "BLOCK", "-1", "STREAMS", "a", "0");
    EXPECT("err:\"ERR timeout is not an integer or out of range\"", "XREAD", "BLOCK", "x",
           "STREAMS", "a", "0");
    EXPECT(NOTINT, "XREAD", "COUNT", "x", "STREAMS", "a", "0");
    /* BLOCK with data answers at once; inside MULTI it never blocks. */
    C("XREAD", "BLOCK", "0", "STREAMS", "a", "1");
    C("MULTI");
    C("XREAD", "BLOCK", "0", "STREAMS", "a", "$");
    EXPECT("array[nil]", "EXEC");
}

TEST(resp3_shapes) {
    int fl, fr;
    REQUIRE(difftest_start_servers(NULL) && difftest_raw_connect(3, &fl, &fr));
    RAW_COMPARE(fl, fr, "XADD", "s", "1", "a", "b");
    RAW_COMPARE(fl, fr, "XADD", "s", "2", "c", "d");
    RAW_COMPARE(fl, fr, "XRANGE", "s", "-", "+");
    RAW_COMPARE(fl, fr, "XREAD", "STREAMS", "s", "0");
    RAW_COMPARE(fl, fr, "XREAD", "STREAMS", "s", "$");
    RAW_COMPARE(fl, fr, "XGROUP", "CREATE", "s", "g", "0");
    RAW_COMPARE(fl, fr, "XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", "s", ">");
    RAW_COMPARE(fl, fr, "XINFO", "GROUPS", "s");
    RAW_COMPARE(fl, fr, "XPENDING", "s", "g");
    RAW_COMPARE(fl, fr, "XPENDING", "s", "nog");
    RAW_COMPARE(fl, fr, "XACK", "s", "g", "1-0");
    RAW_COMPARE(fl, fr, "XPENDING", "s", "g");
    RAW_COMPARE(fl, fr, "XAUTOCLAIM", "s", "g", "c", "0", "0", "JUSTID");
    RAW_COMPARE(fl, fr, "XREVRANGE", "s", "+", "-", "COUNT", "1");
}

TEST(consumer_groups) {
    REQUIRE(difftest_start(NULL));
    REQUIRE(difftest_make_wrongtype());
    const char *nokey = "err:\"ERR The XGROUP subcommand requires the key to exist. Note that "
                        "for CREATE you may want to use the MKSTREAM option to create an empty "
                        "stream automatically.\"";
    EXPECT(nokey, "XGROUP", "CREATE", "s", "g", "$");
    EXPECT("status:\"OK\"", "XGROUP", "CREATE", "s", "g", "$", "MKSTREAM");
    EXPECT("err:\"BUSYGROUP Consumer Group name already exists\"", "XGROUP", "CREATE", "s", "g",
           "$");
    EXPECT(WRONGTYPE, "XGROUP", "CREATE", "wt", "g", "$");
    EXPECT("err:\"ERR value for ENTRIESREAD must be positive or -1\"", "XGROUP", "CREATE", "s",
           "g2", "0", "ENTRIESREAD", "-2");
    C("XGROUP", "CREATE", "s", "g2", "0", "FOO");
    EXPECT(ERR_ID, "XGROUP", "CREATE", "s", "g2", "x");
    for (int i = 1; i <= 10; i++) {
        char id[16], v[16];
        snprintf(id, sizeof id, "%d-0", i);
        snprintf(v, sizeof v, "v%d", i);
        C("XADD", "s", id, "f", v);
    }
    EXPECT("status:\"OK\"", "XGROUP", "CREATE", "s", "g0", "0");
    C("XINFO", "GROUPS", "s");
    /* New entries to two consumers. */
    C("XREADGROUP", "GROUP", "g0", "alice", "COUNT", "3", "STREAMS", "s", ">");
    C("XREADGROUP", "GROUP", "g0", "bob", "COUNT", "2", "STREAMS", "s", ">");
    C("XREADGROUP", "GROUP", "g0", "carol", "NOACK", "COUNT", "1", "STREAMS", "s", ">");
    C("XINFO", "GROUPS", "s");
    C("XPENDING", "s", "g0");
    /* History: only the consumer's own pending entries. */
    C("XREADGROUP", "GROUP", "g0", "alice", "STREAMS", "s", "0");
    C("XREADGROUP", "GROUP", "g0", "alice", "COUNT", "1", "STREAMS", "s", "1-0");
    C("XREADGROUP", "GROUP", "g0", "nobody", "STREAMS", "s", "0");
    /* A deleted pending entry shows as [id, nil]. */
    C("XDEL", "s", "2-0");
    C("XREADGROUP", "GROUP", "g0", "alice", "STREAMS", "s", "0");
    EXPECT("int:1", "XACK", "s", "g0", "1-0");
    EXPECT("int:0", "XACK", "s", "g0", "1-0");
    EXPECT("int:1", "XACK", "s", "g0", "1-0", "4-0", "99-0");
    EXPECT("int:0", "XACK", "s", "nog", "1-0");
    EXPECT("int:0", "XACK", "nosuch", "g", "1-0");
    EXPECT(ERR_ID, "XACK", "s", "g0", "x");
    C("XPENDING", "s", "g0");
    C("XPENDING", "s", "g0", "-", "+", "10", "nobody");
    EXPECT(SYNTAX, "XPENDING", "s", "g0", "-", "+");
    EXPECT(SYNTAX, "XPENDING", "s", "g0", "IDLE", "10", "-", "+");
    EXPECT(NOTINT, "XPENDING", "s", "g0", "-", "+", "x");
    EXPECT("err:\"NOGROUP No such key 's' or consumer group 'nog'\"", "XPENDING", "s", "nog");
    EXPECT("err:\"NOGROUP No such key 'nosuch' or consumer group 'g'\"", "XPENDING", "nosuch",
           "g");
    EXPECT(WRONGTYPE, "XPENDING", "wt", "g");
    /* Errors of XREADGROUP. */
    EXPECT("err:\"NOGROUP No such key 's' or consumer group 'nog' in XREADGROUP with GROUP "
           "option\"",
           "XREADGROUP", "GROUP", "nog", "c", "STREAMS", "s", ">");
    EXPECT("err:\"NOGROUP No such key 'nosuch' or consumer group 'g0' in XREADGROUP with GROUP "
           "option\"",
           "XREADGROUP", "GROUP", "g0", "c", "STREAMS", "nosuch", ">");
    C("XREADGROUP", "GROUP", "g0", "c", "STREAMS", "s", "$");
    C("XREADGROUP", "COUNT", "1", "STREAMS", "s", ">");
    EXPECT("err:\"ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' "
           "must be specified.\"",
           "XREADGROUP", "GROUP", "g0", "c", "STREAMS", "s", ">", "s");
    /* XCLAIM: FORCE creates, JUSTID keeps the count, RETRYCOUNT sets it. */
    C("XCLAIM", "s", "g0", "dave", "0", "3-0", "JUSTID");
    C("XCLAIM", "s", "g0", "dave", "0", "7-0", "8-0", "FORCE", "JUSTID", "RETRYCOUNT", "5");
    C("XCLAIM", "s", "g0", "erin", "0", "5-0", "7-0");
    C("XCLAIM", "s", "g0", "erin", "3600000", "7-0");
    C("XCLAIM", "s", "g0", "erin", "0", "9-0", "LASTID", "20-0");
    C("XINFO", "GROUPS", "s");
    EXPECT("err:\"ERR Invalid min-idle-time argument for XCLAIM\"", "XCLAIM", "s", "g0", "x",
           "y", "1-0");
    EXPECT("err:\"ERR Unrecognized XCLAIM option 'FOO'\"", "XCLAIM", "s", "g0", "x", "0", "1-0",
           "FOO");
    EXPECT("err:\"ERR Invalid RETRYCOUNT option argument for XCLAIM\"", "XCLAIM", "s", "g0", "x",
           "0", "1-0", "RETRYCOUNT", "y");
    EXPECT("err:\"NOGROUP No such key 's' or consumer group 'nog'\"", "XCLAIM", "s", "nog", "x",
           "0", "1-0");
    C("XPENDING", "s", "g0");
    /* XAUTOCLAIM: cursor, claimed, deleted. */
    C("XDEL", "s", "5-0");
    C("XAUTOCLAIM", "s", "g0", "frank", "0", "0", "COUNT", "2", "JUSTID");
    C("XAUTOCLAIM", "s", "g0", "frank", "0", "0", "COUNT", "1");
    C("XAUTOCLAIM", "s", "g0", "frank", "0", "(3-0");
    EXPECT("err:\"ERR COUNT must be > 0\"", "XAUTOCLAIM", "s", "g0", "x", "0", "0", "COUNT", "0");
    EXPECT(SYNTAX, "XAUTOCLAIM", "s", "g0", "x", "0", "0", "FOO");
    EXPECT("err:\"ERR Invalid min-idle-time argument for XAUTOCLAIM\"", "XAUTOCLAIM", "s", "g0",
           "x", "y", "0");
    C("XPENDING", "s", "g0");
    /* Consumers. */
    EXPECT("int:1", "XGROUP", "CREATECONSUMER", "s", "g0", "zed");
    EXPECT("int:0", "XGROUP", "CREATECONSUMER", "s", "g0", "zed");
    EXPECT("err:\"NOGROUP No such consumer group 'nog' for key name 's'\"", "XGROUP",
           "CREATECONSUMER", "s", "nog", "zed");
    C("XPENDING", "s", "g0");
    C("XGROUP", "DELCONSUMER", "s", "g0", "frank");
    EXPECT("int:0", "XGROUP", "DELCONSUMER", "s", "g0", "frank");
    C("XPENDING", "s", "g0");
    /* SETID and the lag. */
    EXPECT("status:\"OK\"", "XGROUP", "SETID", "s", "g0", "0", "ENTRIESREAD", "0");
    C("XINFO", "GROUPS", "s");
    EXPECT("status:\"OK\"", "XGROUP", "SETID", "s", "g0", "$");
    C("XINFO", "GROUPS", "s");
    EXPECT("err:\"NOGROUP No such consumer group 'nog' for key name 's'\"", "XGROUP", "SETID",
           "s", "nog", "0");
    C("XGROUP", "SETID", "s", "g0", "0", "ENTRIESREAD");
    EXPECT("int:1", "XGROUP", "DESTROY", "s", "g0");
    EXPECT("int:0", "XGROUP", "DESTROY", "s", "g0");
    EXPECT(nokey, "XGROUP", "DESTROY", "nosuch", "g0");
    C("XGROUP", "FOO");
    C("XGROUP", "CREATE", "s");
    C("XINFO", "GROUPS", "s");
    XINFO_CMP("s");
    EXPECT("err:\"ERR no such key\"", "XINFO", "STREAM", "nosuch");
    EXPECT("err:\"NOGROUP No such consumer group 'nog' for key name 's'\"", "XINFO", "CONSUMERS",
           "s", "nog");
    C("XINFO", "STREAM", "s", "FULL", "FOO");
    C("XINFO", "STREAM", "s", "FOO");
    C("XINFO", "FOO", "s");
    harness_check_help(__FILE__, __LINE__, L, "XGROUP");
    harness_check_help(__FILE__, __LINE__, L, "XINFO");
    C("XGROUP", "HELP");
    C("XINFO", "HELP");
}

/* The lag and entries-read fields through deletions and trims, against
 * Redis's counters. */
TEST(lag_counters) {
    REQUIRE(difftest_start(NULL));
    C("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM");
    C("XINFO", "GROUPS", "s");
    for (int i = 1; i <= 6; i++) {
        char id[16];
        snprintf(id, sizeof id, "%d", i);
        C("XADD", "s", id, "f", "v");
    }
    C("XGROUP", "CREATE", "s", "g2", "0");
    C("XGROUP", "CREATE", "s", "g3", "3", "ENTRIESREAD", "3");
    C("XINFO", "GROUPS", "s");
    C("XREADGROUP", "GROUP", "g2", "c", "COUNT", "2", "STREAMS", "s", ">");
    C("XINFO", "GROUPS", "s");
    C("XDEL", "s", "4");
    C("XINFO", "GROUPS", "s");
    C("XREADGROUP", "GROUP", "g2", "c", "COUNT", "2", "STREAMS", "s", ">");
    C("XREADGROUP", "GROUP", "g3", "c", "STREAMS", "s", ">");
    C("XINFO", "GROUPS", "s");
    C("XDEL", "s", "1");
    C("XINFO", "GROUPS", "s");
    C("XTRIM", "s", "MAXLEN", "1");
    C("XINFO", "GROUPS", "s");
    C("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">");
    C("XINFO", "GROUPS", "s");
    XINFO_CMP("s");
}

/* A reply from a second connection, read with a deadline. */
static const char *reply_of(redisContext *c) {
    redisReply *r = NULL;
    if (redisGetReply(c, (void **)&r) != REDIS_OK || !r) return "(no reply)";
    static char buf[4096];
    char *s = reply_to_string(r);
    snprintf(buf, sizeof buf, "%s", s);
    free(s);
    freeReplyObject(r);
    return buf;
}

/* Sends a blocking command on c and waits until the server counts n
 * blocked clients, so FIFO order across connections is the test's. */
static void block_on(redisContext *w, redisContext *c, const char *command, int n) {
    redisAppendCommand(c, command);
    int done = 0;
    while (!done) redisBufferWrite(c, &done);
    for (int i = 0; i < 500 && harness_info_num(w, "clients", "blocked_clients") < n; i++)
        harness_sleep_ms(10);
    CHECK_EQ_INT(harness_info_num(w, "clients", "blocked_clients"), n);
}

TEST(blocking_reads) {
    harness_server *s = harness_start(NULL);
    REQUIRE(s);
    redisContext *w = harness_connect(s), *r1 = harness_connect(s), *r2 = harness_connect(s),
                 *r3 = harness_connect(s);
    REQUIRE(w && r1 && r2 && r3);
    cmd(w, "XADD s 1 f old");
    /* $ means after what is there now; every reader sees the new entry. */
    block_on(w, r1, "XREAD BLOCK 0 STREAMS s $", 1);
    /* A reader waiting for a later ID does not stop the others. */
    block_on(w, r3, "XREAD BLOCK 0 STREAMS s 5", 2);
    block_on(w, r2, "XREAD BLOCK 0 STREAMS s 1", 3);
    CHECK_EQ_STR(cmd(w, "XADD s 2 f new"), "bulk:\"2-0\"");
    const char *want = "array[array[bulk:\"s\",array[array[bulk:\"2-0\",array[bulk:\"f\","
                       "bulk:\"new\"]]]]]";
    CHECK_EQ_STR(reply_of(r1), want);
    CHECK_EQ_STR(reply_of(r2), want);
    CHECK_EQ_INT(harness_info_num(w, "clients", "blocked_clients"), 1);
    cmd(w, "XADD s 6 f later");
    CHECK_EQ_STR(reply_of(r3), "array[array[bulk:\"s\",array[array[bulk:\"6-0\",array[bulk:\"f\","
                               "bulk:\"later\"]]]]]");
    /* Timeout: a null array. */
    CHECK_EQ_STR(cmd(r1, "XREAD BLOCK 50 STREAMS s $"), "nil");
    /* A group reader: one entry goes to one consumer only. */
    CHECK_EQ_STR(cmd(w, "XGROUP CREATE s g $"), "status:\"OK\"");
    block_on(w, r1, "XREADGROUP GROUP g c1 BLOCK 0 STREAMS s >", 1);
    block_on(w, r2, "XREADGROUP GROUP g c2 BLOCK 0 STREAMS s >", 2);
    cmd(w, "XADD s 7 f a");
    CHECK_EQ_STR(reply_of(r1), "array[array[bulk:\"s\",array[array[bulk:\"7-0\",array[bulk:\"f\","
                               "bulk:\"a\"]]]]]");
    cmd(w, "XADD s 8 f b");
    CHECK_EQ_STR(reply_of(r2), "array[array[bulk:\"s\",array[array[bulk:\"8-0\",array[bulk:\"f\","
                               "bulk:\"b\"]]]]]");
    CHECK(strstr(cmd(w, "XPENDING s g"), "int:2") != NULL);
    /* Destroying the group wakes its readers with NOGROUP. */
    block_on(w, r1, "XREADGROUP GROUP g c1 BLOCK 0 STREAMS s >", 1);
    cmd(w, "XGROUP DESTROY s g");
    CHECK_EQ_STR(reply_of(r1), "err:\"NOGROUP the consumer group this client was blocked on no "
                               "longer exists\"");
    harness_disconnect(w);
    harness_disconnect(r1);
    harness_disconnect(r2);
    harness_disconnect(r3);
}

/* XINFO STREAM FULL without the seen-time values (a consumer's seen-time
 * is refreshed in memory only, as Redis does not propagate it). */
static char *full_info(redisContext *c, const char *key) {
    char *s = strdup(cmd(c, "XINFO STREAM %s FULL", key));
    const char *tag = "bulk:\"seen-time\",int:";
    char *p;
    while ((p = strstr(s, tag))) {
        char *e = p + strlen(tag);
        while (*e >= '0' && *e <= '9') e++;
        memmove(p, e, strlen(e) + 1);
    }
    return s;
}

static void fill_groups(redisContext *c) {
    for (int i = 1; i <= 300; i++) {
        char buf[64];
        snprintf(buf, sizeof buf, "XADD q %d-0 n %d", i, i);
        cmd(c, buf);
    }
    cmd(c, "XGROUP CREATE q g 0");
    cmd(c, "XGROUP CREATE q h $");
    cmd(c, "XREADGROUP GROUP g a COUNT 50 STREAMS q >");
    cmd(c, "XREADGROUP GROUP g b COUNT 20 STREAMS q >");
    cmd(c, "XREADGROUP GROUP g b NOACK COUNT 5 STREAMS q >");
    cmd(c, "XREADGROUP GROUP g a STREAMS q 0");
    cmd(c, "XACK q g 3-0 4-0 60-0");
    cmd(c, "XCLAIM q g c 0 10-0 11-0 TIME 12345 RETRYCOUNT 7");
    cmd(c, "XDEL q 12-0");
    cmd(c, "XAUTOCLAIM q g d 0 0 COUNT 5");
    cmd(c, "XGROUP CREATECONSUMER q h idle");
    cmd(c, "XTRIM q MAXLEN ~ 200");
    cmd(c, "XADD q * x y");
}

TEST(restart_keeps_groups) {
    harness_server *s = harness_start("appendfsync", "everysec", NULL);
    REQUIRE(s);
    redisContext *c = harness_connect(s);
    REQUIRE(c);
    /* Half before a snapshot, half in the WAL after it. */
    fill_groups(c);
    CHECK_EQ_STR(cmd(c, "SAVE"), "status:\"OK\"");
    cmd(c, "XREADGROUP GROUP g e COUNT 3 STREAMS q >");
    cmd(c, "XACK q g 5-0");
    cmd(c, "XGROUP SETID q h 100-0 ENTRIESREAD 100");
    cmd(c, "XADD r MAXLEN ~ 10 * a b");
    char *before = full_info(c, "q");
    char *pend = strdup(cmd(c, "XPENDING q g"));
    char *range = strdup(cmd(c, "XRANGE q - +"));
    char *groups = strdup(cmd(c, "XINFO GROUPS q"));
    harness_disconnect(c);
    REQUIRE(harness_restart(s) == 0);
    c = harness_connect(s);
    REQUIRE(c);
    char *after = full_info(c, "q");
    CHECK_EQ_STR(after, before);
    CHECK_EQ_STR(cmd(c, "XPENDING q g"), pend);
    CHECK_EQ_STR(cmd(c, "XRANGE q - +"), range);
    CHECK_EQ_STR(cmd(c, "XINFO GROUPS q"), groups);
    CHECK_EQ_STR(cmd(c, "TYPE r"), "status:\"stream\"");
    free(after);
    /* Again from the snapshot alone. */
    CHECK_EQ_STR(cmd(c, "SAVE"), "status:\"OK\"");
    harness_disconnect(c);
    REQUIRE(harness_restart(s) == 0);
    c = harness_connect(s);
    REQUIRE(c);
    after = full_info(c, "q");
    CHECK_EQ_STR(after, before);
    free(after);
    free(before);
    free(pend);
    free(range);
    free(groups);
    harness_disconnect(c);
}

TEST(kill9_always_keeps_pending) {
    harness_server *s = harness_start("appendfsync", "always", NULL);
    REQUIRE(s);
    redisContext *c = harness_connect(s);
    REQUIRE(c);
    fill_groups(c);
    char *before = full_info(c, "q");
    harness_disconnect(c);
    harness_kill9(s);
    REQUIRE(harness_restart(s) == 0);
    c = harness_connect(s);
    REQUIRE(c);
    char *after = full_info(c, "q");
    CHECK_EQ_STR(after, before);
    CHECK(strstr(after, "bulk:\"pel-count\",int:") != NULL);
    free(after);
    free(before);
    harness_disconnect(c);
}

/* Random operations on a few streams and groups, compared with Redis. */
TEST(random_sequence) {
    unsigned seed = difftest_seed(777);
    REQUIRE(difftest_start("stream-node-max-entries", "5", NULL));
    const char *keys[] = {"s1", "s2"};
    const char *groups[] = {"g1", "g2"};
    const char *cons[] = {"c1", "c2", "c3"};
    unsigned long long next[2] = {1, 1};
    /* STREAM_TRACE=1 prints each step's command and Lightning's reply. */
    int trace = getenv("STREAM_TRACE") != NULL;
    C("XGROUP", "CREATE", "s1", "g1", "$", "MKSTREAM");
    C("XGROUP", "CREATE", "s2", "g1", "$", "MKSTREAM");
    for (int step = 0; step < 2500; step++) {
        int k = rand() % 2;
        const char *key = keys[k], *g = PICK(groups), *cn = PICK(cons);
        char id[32], id2[32], n[16];
        unsigned long long lo = next[k] > 10 ? next[k] - (unsigned long long)(rand() % 10) : 1;
        snprintf(id, sizeof id, "%llu-%d", lo, rand() % 3);
        snprintf(id2, sizeof id2, "%s%llu", rand() % 3 ? "" : "(", lo + (unsigned long long)(rand() % 8));
        snprintf(n, sizeof n, "%d", rand() % 6);
        int op = rand() % 16;
        if (trace)
            fprintf(stderr, "%d: op %d key %s g %s c %s id %s id2 %s n %s\n", step, op, key, g, cn,
                    id, id2, n);
        switch (op) {
        case 0: case 1: case 2: case 3: {
            char nid[32];
            snprintf(nid, sizeof nid, "%llu-*", next[k]);
            next[k] += 1 + (unsigned long long)(rand() % 2);
            C("XADD", key, nid, "f", n, "g", id);
            break;
        }
        case 4: C("XDEL", key, id); break;
        case 5: C("XTRIM", key, "MAXLEN", rand() % 2 ? "~" : "=", n); break;
        case 6: C("XRANGE", key, id, "+", "COUNT", n); break;
        case 7: C("XREVRANGE", key, "+", id2); break;
        case 8: C("XREADGROUP", "GROUP", g, cn, "COUNT", n, "STREAMS", key, rand() % 3 ? ">" : "0"); break;
        case 9: C("XACK", key, g, id); break;
        case 10: C("XCLAIM", key, g, cn, "0", id, "JUSTID"); break;
        case 11: C("XAUTOCLAIM", key, g, cn, "0", "0", "COUNT", n, "JUSTID"); break;
        case 12: C("XPENDING", key, g); break;
        case 13: C("XINFO", "GROUPS", key); break;
        case 14: C("XGROUP", rand() % 2 ? "CREATE" : "SETID", key, g, id); break;
        case 15: C("XREAD", "COUNT", n, "STREAMS", key, id); break;
        }
        if (trace) fprintf(stderr, "   L %s\n   R %s\n", cmd(L, "XINFO GROUPS %s", key), cmd(R, "XINFO GROUPS %s", key));
        if (difftest_failed_at(step, seed, "XINFO STREAM %s", keys, 2)) return;
    }
    XINFO_CMP("s1");
    XINFO_CMP("s2");
}

int main(void) {
    RUN(xadd_xrange_basics);
    RUN(trimming);
    RUN(xread);
    RUN(resp3_shapes);
    RUN(consumer_groups);
    RUN(lag_counters);
    RUN(blocking_reads);
    RUN(restart_keeps_groups);
    RUN(kill9_always_keeps_pending);
    RUN(random_sequence);
    return testlib_finish();
}
