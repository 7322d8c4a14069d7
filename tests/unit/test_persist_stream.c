/*
 * The logical stream's consumer API (src/server/persist/stream.c) without a
 * WAL (appendonly no): nothing is produced while nobody consumes; a
 * consumer gets whole records in order, each starting with SELECT <db>,
 * with offsets that count the stream's bytes; the offset is
 * master_repl_offset; after unsubscribing nothing more arrives.
 */
#include "../testlib.h"

#include <stdlib.h>

#include "server/persist/persist_int.h"

typedef struct sink {
    char buf[4096];
    size_t len;
    uint64_t first_offset;
    int calls;
} sink;

static void sink_data(void *ctx, uint64_t offset, const struct iovec *iov, int iovcnt) {
    sink *s = ctx;
    if (s->calls++ == 0) s->first_offset = offset;
    for (int i = 0; i < iovcnt; i++) {
        if (s->len + iov[i].iov_len > sizeof(s->buf)) abort();
        memcpy(s->buf + s->len, iov[i].iov_base, iov[i].iov_len);
        s->len += iov[i].iov_len;
    }
}

/* One record as propagate.c builds it: SELECT first for a db other than 0. */
static void emit_record(int db, const char *cmds) {
    char sel[64];
    struct iovec iov[2];
    int n = 0;
    if (db) {
        int l = snprintf(sel, sizeof(sel), "*2\r\n$6\r\nSELECT\r\n$1\r\n%d\r\n", db);
        iov[n++] = (struct iovec){sel, (size_t)l};
    }
    iov[n++] = (struct iovec){(void *)cmds, strlen(cmds)};
    persist_stream_emit_nowal(iov, n);
}

#define SET_K "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"
#define SEL(d) "*2\r\n$6\r\nSELECT\r\n$1\r\n" #d "\r\n"

TEST(nothing_produced_without_consumers) {
    uint64_t before = persist_stream_offset();
    CHECK(!persist_stream_active());
    emit_record(0, SET_K);
    CHECK_EQ_INT(persist_stream_offset(), before);
}

TEST(consumer_gets_records_with_their_database) {
    sink a = {0}, b = {0};
    persist_consumer ca = {sink_data, &a}, cb = {sink_data, &b};
    uint64_t start = 0;
    REQUIRE(persist_stream_subscribe(&ca, &start) == 0);
    CHECK(persist_stream_active());
    CHECK_EQ_INT(start, persist_stream_offset());
    emit_record(3, SET_K);
    emit_record(0, SET_K); /* must not run in db 3 when concatenated */
    uint64_t bstart = 0;
    REQUIRE(persist_stream_subscribe(&cb, &bstart) == 0);
    CHECK_EQ_INT(bstart, start + 2 * (23 + 27));
    emit_record(5, SET_K);
    const char want_a[] = SEL(3) SET_K SEL(0) SET_K SEL(5) SET_K;
    CHECK_EQ_INT(a.len, sizeof(want_a) - 1);
    CHECK(a.len == sizeof(want_a) - 1 && memcmp(a.buf, want_a, a.len) == 0);
    CHECK_EQ_INT(a.first_offset, start);
    const char want_b[] = SEL(5) SET_K; /* joins at a record boundary */
    CHECK(b.len == sizeof(want_b) - 1 && memcmp(b.buf, want_b, b.len) == 0);
    CHECK_EQ_INT(b.first_offset, bstart);
    CHECK_EQ_INT(persist_stream_offset(), start + a.len);
    CHECK_EQ_INT(persist_stream_unsubscribe(&ca), 0);
    CHECK_EQ_INT(persist_stream_unsubscribe(&ca), -1);
    emit_record(0, SET_K);
    CHECK_EQ_INT(a.calls, 3);
    CHECK_EQ_INT(b.calls, 2);
    CHECK_EQ_INT(persist_stream_unsubscribe(&cb), 0);
    CHECK(!persist_stream_active());
    uint64_t end = persist_stream_offset();
    emit_record(0, SET_K);
    CHECK_EQ_INT(persist_stream_offset(), end);
}

TEST(consumers_are_bounded) {
    sink s[PERSIST_STREAM_MAX_CONSUMERS + 1];
    persist_consumer c[PERSIST_STREAM_MAX_CONSUMERS + 1];
    for (int i = 0; i <= PERSIST_STREAM_MAX_CONSUMERS; i++) {
        memset(&s[i], 0, sizeof(s[i]));
        c[i] = (persist_consumer){sink_data, &s[i]};
        int rc = persist_stream_subscribe(&c[i], NULL);
        CHECK_EQ_INT(rc, i < PERSIST_STREAM_MAX_CONSUMERS ? 0 : -1);
    }
    for (int i = 0; i < PERSIST_STREAM_MAX_CONSUMERS; i++)
        CHECK_EQ_INT(persist_stream_unsubscribe(&c[i]), 0);
}

int main(void) {
    RUN(nothing_produced_without_consumers);
    RUN(consumer_gets_records_with_their_database);
    RUN(consumers_are_bounded);
    return testlib_finish();
}
