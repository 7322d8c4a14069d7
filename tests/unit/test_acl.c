/*
 * Unit tests of acl.c without a server: channel permissions (pub/sub is
 * another family; its commands are stood in for by hand-made table
 * entries, checked through acl_check_user_command as dispatch will),
 * password checks, and the all-or-nothing SETUSER.
 */
#include "../testlib.h"

#include <stdlib.h>
#include <string.h>

#include "server/acl.h"
#include "server/cmd/commands.h"
#include "server/server.h"

static resp_arg A(const char *s) { return (resp_arg){.ptr = (char *)s, .len = strlen(s)}; }

static int setuser(const char *name, const char *const *rules) {
    resp_arg argv[16];
    int n = 0;
    for (; rules[n]; n++) argv[n] = A(rules[n]);
    char msg[512];
    return acl_setuser(name, strlen(name), argv, n, msg, sizeof(msg));
}

/* Hand-made PUBLISH / PSUBSCRIBE rows (ids of a real command: the user
 * below has every command, so only the channels decide). */
static command fake_publish = {.name = "publish", .arity = 3, .acl = ACL_PUBSUB | ACL_FAST};
static command fake_psubscribe = {.name = "psubscribe", .arity = -2,
                                  .acl = ACL_PUBSUB | ACL_SLOW};

TEST(channels) {
    REQUIRE(setuser("ch", (const char *[]){"on", "nopass", "+@all", "~*", "resetchannels",
                                           "&news.*", "&alerts", NULL}) == 0);
    acl_user *u = acl_user_lookup("ch", 2);
    REQUIRE(u);
    CHECK_EQ_INT(acl_check_channel(u, "news.1", 6, 0), ACL_OK);
    CHECK_EQ_INT(acl_check_channel(u, "alerts", 6, 0), ACL_OK);
    CHECK_EQ_INT(acl_check_channel(u, "other", 5, 0), ACL_DENIED_CHANNEL);
    /* A pattern subscription must name one of the user's patterns exactly. */
    CHECK_EQ_INT(acl_check_channel(u, "news.*", 6, 1), ACL_OK);
    CHECK_EQ_INT(acl_check_channel(u, "news.1*", 7, 1), ACL_DENIED_CHANNEL);
    CHECK_EQ_INT(acl_check_channel(u, "*", 1, 1), ACL_DENIED_CHANNEL);

    fake_publish.id = fake_psubscribe.id = command_lookup("get", 3)->id;
    resp_arg pub_ok[] = {A("publish"), A("news.x"), A("m")};
    resp_arg pub_no[] = {A("publish"), A("sports"), A("m")};
    int pos = -1;
    CHECK_EQ_INT(acl_check_user_command(u, &fake_publish, pub_ok, 3, &pos), ACL_OK);
    CHECK_EQ_INT(acl_check_user_command(u, &fake_publish, pub_no, 3, &pos), ACL_DENIED_CHANNEL);
    CHECK_EQ_INT(pos, 1);
    resp_arg psub[] = {A("psubscribe"), A("news.*"), A("alerts"), A("x*")};
    CHECK_EQ_INT(acl_check_user_command(u, &fake_psubscribe, psub, 4, &pos),
                 ACL_DENIED_CHANNEL);
    CHECK_EQ_INT(pos, 3);
    /* allchannels: everything. */
    REQUIRE(setuser("ch", (const char *[]){"allchannels", NULL}) == 0);
    CHECK_EQ_INT(acl_check_user_command(u, &fake_publish, pub_no, 3, &pos), ACL_OK);
    /* A selector may allow what the root does not. */
    REQUIRE(setuser("ch", (const char *[]){"resetchannels", "(&sports +@all)", NULL}) == 0);
    CHECK_EQ_INT(acl_check_user_command(u, &fake_publish, pub_no, 3, &pos), ACL_OK);
    CHECK_EQ_INT(acl_check_channel(u, "sports", 6, 0), ACL_OK);
    CHECK_EQ_INT(acl_check_channel(u, "news.1", 6, 0), ACL_DENIED_CHANNEL);
    acl_user_unref(u);
}

TEST(passwords) {
    REQUIRE(setuser("pw", (const char *[]){"on", ">s3cret", ">other", NULL}) == 0);
    acl_user *u = acl_authenticate(NULL, "pw", 2, "s3cret", 6);
    CHECK(u != NULL);
    acl_user_unref(u);
    CHECK(acl_authenticate(NULL, "pw", 2, "s3cre", 5) == NULL);
    CHECK(acl_authenticate(NULL, "pw", 2, "", 0) == NULL);
    REQUIRE(setuser("pw", (const char *[]){"<s3cret", NULL}) == 0);
    CHECK(acl_authenticate(NULL, "pw", 2, "s3cret", 6) == NULL);
    u = acl_authenticate(NULL, "pw", 2, "other", 5);
    CHECK(u != NULL);
    acl_user_unref(u);
    /* Disabled: no password works. */
    REQUIRE(setuser("pw", (const char *[]){"off", NULL}) == 0);
    CHECK(acl_authenticate(NULL, "pw", 2, "other", 5) == NULL);
    CHECK(acl_authenticate(NULL, "nosuch", 6, "x", 1) == NULL);
}

/* A failing rule leaves the user as it was. */
TEST(setuser_all_or_nothing) {
    REQUIRE(setuser("aon", (const char *[]){"on", "~k*", "+get", NULL}) == 0);
    int n;
    char **before = acl_list_lines(&n);
    CHECK(setuser("aon", (const char *[]){"+set", "~x", "+nosuch", NULL}) < 0);
    int m;
    char **after = acl_list_lines(&m);
    CHECK_EQ_INT(n, m);
    for (int i = 0; i < n && i < m; i++) CHECK_EQ_STR(before[i], after[i]);
    acl_free_lines(before, n);
    acl_free_lines(after, m);
    /* The deleted user stays valid while referenced. */
    acl_user *u = acl_user_lookup("aon", 3);
    REQUIRE(u);
    CHECK_EQ_INT(acl_deluser("aon", 3, NULL), 1);
    CHECK_EQ_STR(acl_user_name(u), "aon");
    acl_user_unref(u);
    CHECK(acl_user_lookup("aon", 3) == NULL);
}

int main(void) {
    commands_init();
    acl_init();
    RUN(channels);
    RUN(passwords);
    RUN(setuser_all_or_nothing);
    return testlib_finish();
}
