/*
 * Lua scripting: EVAL / EVALSHA / EVAL_RO / SCRIPT against real Redis 7.0
 * (conversion rules both ways, RESP2 and RESP3, error texts with their
 * "script: <sha>, on @user_script:<line>." suffix, the sandbox, shebang
 * flags, the script cache), and Lightning's own guarantees: a script that
 * touches keys it did not declare still runs atomically, effects reach the
 * WAL as one record, a busy script answers -BUSY and SCRIPT KILL stops it.
 */
#include "../difftest.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *EV(const char *script) { return C("EVAL", script, "0"); }

TEST(conversions_resp2) {
    REQUIRE(difftest_start(NULL));
    static const char *scripts[] = {
        "return 1", "return -7.9", "return 3.99", "return 'x'", "return ''", "return true",
        "return false", "return nil", "return {1,2,3.7,'x',nil,5}", "return {}",
        "return {1,{2,{3,{4}}},'a'}", "return {err='My Err'}", "return {err='ERR bad'}",
        "return {ok='FINE'}", "return {ok='a\\r\\nb'}", "return {err='x\\ny'}",
        "return redis.error_reply('FOO bar')", "return redis.error_reply('nocode')",
        "return redis.error_reply('-X y')", "return redis.status_reply('PONG')",
        "return {double=3.14}", "return {big_number='123456789012345678901234567890'}",
        "return {map={a=1}}", "return {set={a=true}}", "return {big_number='123\\r\\n123'}",
        "return {verbatim_string={format='txt', string='hello'}}",
        "return {1, {err='inner'}, {ok='s'}}", "return {true, false, 1}",
        "return redis.call('ping')", "return redis.pcall('ping')",
        "return redis.call('set','k','v')", "return redis.call('get','k')",
        "return redis.call('get','missing')", "return redis.call('incr','n')",
        "return redis.call('rpush','l','a','b','c')", "return redis.call('lrange','l',0,-1)",
        "return redis.call('hset','h','f','v')", "return redis.call('hgetall','h')",
        "return redis.call('mget','k','missing','n')", "return redis.pcall('incr','k')",
        "return type(redis.call('get','missing'))", "return redis.call('set','f', 3.5)",
        "return redis.call('set','f', 1e20) and redis.call('get','f')",
        "return redis.call('set','f', 0.1) and redis.call('get','f')",
        "return redis.call('set','f', 100) and redis.call('get','f')",
        "return redis.call('set','f', -1.5e-7) and redis.call('get','f')",
        "return redis.call('zadd','z', 1.5, 'a')", "return redis.call('zrange','z',0,-1,'withscores')",
        "local t = redis.pcall('incr','k'); return t.err",
        "return redis.status_reply('x').ok", "return redis.sha1hex('abc')",
        "return redis.sha1hex('')", "return redis.REDIS_VERSION",
        "return redis.REDIS_VERSION_NUM", "return redis.LOG_WARNING",
        "return {redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL}",
        "return redis.setresp(3)", "redis.set_repl(redis.REPL_ALL) return 1",
        "return redis.replicate_commands()", "return redis.breakpoint()",
        "return cjson.encode({a={1,2,3}})", "return cjson.decode('[1,2,{\"a\":3}]')[3].a",
        "return cjson.encode(cjson.decode('{\"a\":[1,2.5,null,true]}'))",
        "return bit.band(0xff, 0x0f)", "return bit.tohex(65535)", "return bit.bxor(5,3)",
        "return string.format('%5.2f', 3.14159)", "return tostring(0.1)",
        "return table.concat({1,2,3}, ',')", "return #KEYS + #ARGV",
        "local t = {}; t[1]=t; return t",
        NULL,
    };
    for (int i = 0; scripts[i]; i++) EV(scripts[i]);
    C("EVAL", "return {KEYS[1], KEYS[2], ARGV[1], ARGV[2]}", "2", "k1", "k2", "a1", "a2");
    C("EVAL", "return redis.call('get', KEYS[1])", "1", "k");
    /* setresp(3) answers in RESP3 shapes a RESP2 caller sees flattened. */
    EV("redis.setresp(3); return redis.call('hgetall','h')");
    EV("redis.setresp(3); return redis.call('get','missing')");
    EV("redis.setresp(3); local t = redis.call('hgetall','h'); return t.map.f");
    EV("redis.setresp(3); return true");
    EV("redis.setresp(3); return false");
    EV("redis.setresp(3); return redis.call('smembers', 'nosuch')");
    EV("redis.setresp(3); local t = redis.call('zscore','z','a'); return tostring(t.double)");
}

TEST(conversions_resp3) {
    REQUIRE(difftest_start(NULL));
    int fl, fr;
    REQUIRE(difftest_raw_connect(3, &fl, &fr));
    static const char *scripts[] = {
        "return true", "return false", "return nil", "return {double=3.5}",
        "return {big_number='1234567890123456789012'}", "return {big_number='1\\r\\n2'}",
        "return {map={a=1}}",
        "return {set={x=true}}", "return {verbatim_string={format='txt', string='hi'}}",
        "redis.setresp(3) return true", "redis.setresp(3) return false",
        "redis.setresp(3) return redis.call('hgetall','nosuch')",
        "redis.setresp(3) return redis.call('get','nosuch')",
        "return redis.call('get','nosuch')", "return {1,'a',{ok='x'}}",
        "return {err='ERR e'}",
        NULL,
    };
    for (int i = 0; scripts[i]; i++) RAW_COMPARE(fl, fr, "EVAL", scripts[i], "0");
}

/* cmsgpack and struct (own implementations) against Redis's bundled ones. */
TEST(libraries) {
    REQUIRE(difftest_start(NULL));
    static const char *scripts[] = {
        "return {type(cjson), type(cmsgpack), type(bit), type(struct), type(redis.breakpoint),"
        " type(redis.debug), type(coroutine), type(string.dump), type(loadstring)}",
        "return cmsgpack.pack(1, -1, 200, -200, 70000, -70000, 5000000000, -5000000000, 1.5, 0.1,"
        " 'abc', string.rep('x', 40), string.rep('y', 300), string.rep('z', 70000), true, false,"
        " nil, {1,2,3}, {1,nil,3})",
        "return cmsgpack.pack({a=1})", "return cmsgpack.pack(1/0, -1/0, 2^53, -2^63, 2^64)",
        "local t = {} for i=1,20 do t[i]=i end return cmsgpack.pack(t)",
        "local t = {} for i=1,70000 do t[i]=i end return #cmsgpack.pack(t)",
        "local t = {} local c = t for i=1,20 do c[1] = {} c = c[1] end return cmsgpack.pack(t)",
        "return {cmsgpack.unpack(cmsgpack.pack({1,2,{a='b'}}, 'x', 3.25, -7, 2^40))}",
        "local t = cmsgpack.unpack(cmsgpack.pack({a=1,b={c='d'}})) return t.b.c",
        "return {cmsgpack.unpack_one(cmsgpack.pack(1,2,3), 0)}",
        "return {cmsgpack.unpack_one(cmsgpack.pack(1,2,3), 2)}",
        "return {cmsgpack.unpack_limit(cmsgpack.pack(1,2,3), 2, 1)}",
        "return {cmsgpack.unpack_limit(cmsgpack.pack(1,2,3), 0)}",
        "return cmsgpack.unpack(string.char(0xd9))", "return cmsgpack.unpack(string.char(0xc1))",
        "return cmsgpack.unpack(string.char(0x92, 1))", "return cmsgpack.pack()",
        "return {cmsgpack.unpack(string.char(0xc4, 2, 65, 66, 0xca, 0x3f, 0xc0, 0, 0))}",
        "return cmsgpack._VERSION",
        "return struct.pack('>i4<h!4bxd', -5, 300, 7, 1.5)",
        "return {struct.unpack('>i4<h', struct.pack('>i4<h', -5, 300))}",
        "return {struct.size('>i4<h!4bxd'), struct.size('c10'), struct.size('!8bd')}",
        "return struct.pack('s c3 B', 'ab', 'xyz', 255)", "return struct.unpack('i', 'ab')",
        "return struct.pack('q', 1)", "return struct.size('s')", "return struct.size('c0')",
        "return {struct.unpack('bc0', struct.pack('bc0', 3, 'abc'))}",
        "return struct.pack('i40', 1)", "return struct.pack('!3i', 1)",
        "return {struct.unpack('>I2 <I2 i8 B', struct.pack('>I2 <I2 i8 B', 65535, 1, -2, 255))}",
        "return {struct.unpack('f d', struct.pack('f d', 0.5, 0.25))}",
        "return {struct.unpack('s', 'abc')}", "return {struct.unpack('b', 'a', 5)}",
        "return {struct.unpack('c2', 'abcdef', 3)}", "return struct.pack('c5', 'ab')",
        NULL,
    };
    for (int i = 0; scripts[i]; i++) EV(scripts[i]);
}

TEST(error_texts) {
    REQUIRE(difftest_start(NULL));
    C("SET", "s", "x");
    static const char *scripts[] = {
        "return redis.call('incr','a','b')", "return redis.call('nosuch')",
        "return redis.call('incr','s')", "return redis.pcall('incr','s')", "error('boom')",
        "error({err='XX bad'})", "error()", "error(nil)", "error(12)", "x = 1", "return y",
        "return 1 +", "return redis.call('eval','return 1','0')", "return redis.call()",
        "return redis.pcall()", "return redis.call({})", "return redis.pcall({})",
        "return redis.call('client','nosuch')", "return redis.call('client')",
        "return redis.pcall('nosuch')", "return redis.call('multi')",
        "\nlocal a = 1\nerror('line three')", "return redis.error_reply()",
        "return redis.status_reply(1, 2)", "return redis.sha1hex()", "return redis.setresp()",
        "return redis.setresp(4)", "return redis.set_repl()", "return redis.set_repl(99)",
        "return redis.log()", "return redis.log('x', 'y')", "return redis.log(99, 'y')",
        "redis.log(redis.LOG_WARNING, 'from a test', 1, 2) return 1", "return os",
        "return io", "return print", "return loadfile", "return dofile", "return debug",
        "return require", "return setfenv", "return getfenv", "return newproxy",
        "string.x = 1", "redis.call = nil", "_G.x = 1", "return math.random(0)",
        "math.randomseed(7) return {math.random(100), math.random(1, 5), math.random() < 1}",
        "local t = setmetatable({}, {__index = function() error('in meta') end}) return t.x",
        "return pcall(redis.call, 'nosuch')", "local ok, e = pcall(error, 'x') return e",
        "return redis.acl_check_cmd('get','k')", "return redis.acl_check_cmd('nosuch')",
        "return getmetatable(_G)", "return getmetatable('').__index",
        "local s = 0 for i=1,100 do s = s + i end return s",
        "return string.rep('x', 3)", "return coroutine.wrap(function() return 5 end)()",
        /* Sandbox tricks: read-only globals and refused binary chunks. */
        "setmetatable(_G, {})", "_G = {}", "local g = getmetatable(_G) g.__index = {}",
        "return type(_G)", "return _G.redis.call('ping')",
        "local t = setmetatable({}, {__metatable=1}) return setmetatable(t, {})",
        "return getmetatable(setmetatable({}, {a=1})).a", "setmetatable(1, {})",
        "setmetatable({}, 1)", "return loadstring(string.dump(function() return 1 end))()",
        "return loadstring('return 5')()", "return {loadstring('return +')}",
        /* Blocking stream reads are refused in scripts (argv[0] as written). */
        "return redis.pcall('xread','BLOCK',0,'STREAMS','s','$')",
        "return redis.pcall('XREADGROUP','GROUP','g','c','BLOCK',0,'STREAMS','s','>')",
        "return redis.pcall('xread','COUNT',1,'STREAMS','s','0')",
        NULL,
    };
    for (int i = 0; scripts[i]; i++) EV(scripts[i]);
    C("EVAL", "return 1", "x");
    C("EVAL", "return 1", "-1");
    C("EVAL", "return 1", "2", "a");
    C("EVAL", "return 1");
    C("EVALSHA", "abc", "0");
    C("EVALSHA", "ffffffffffffffffffffffffffffffffffffffff", "0");
}

TEST(script_cache) {
    REQUIRE(difftest_start(NULL));
    const char *body = "return {KEYS[1], ARGV[1]}";
    EXPECT("bulk:\"1b936e3fe509bcbc9cd0664897bbe8fd0cac101b\"", "SCRIPT", "LOAD", "return 'hello'") ;
    C("SCRIPT", "LOAD", body);
    C("EVALSHA", "1b936e3fe509bcbc9cd0664897bbe8fd0cac101b", "0");
    C("EVALSHA", "1B936E3FE509BCBC9CD0664897BBE8FD0CAC101B", "0");
    C("SCRIPT", "EXISTS", "1b936e3fe509bcbc9cd0664897bbe8fd0cac101b", "nope",
      "1B936E3FE509BCBC9CD0664897BBE8FD0CAC101B");
    C("SCRIPT", "LOAD", "return 1 +");
    C("SCRIPT", "FLUSH", "BAD");
    C("SCRIPT", "FLUSH", "SYNC", "ASYNC");
    C("SCRIPT", "FLUSH", "ASYNC");
    C("SCRIPT", "EXISTS", "1b936e3fe509bcbc9cd0664897bbe8fd0cac101b");
    C("EVALSHA", "1b936e3fe509bcbc9cd0664897bbe8fd0cac101b", "0");
    C("EVAL", "return 'hello'", "0");
    C("EVALSHA", "1b936e3fe509bcbc9cd0664897bbe8fd0cac101b", "0");
    C("SCRIPT", "FLUSH");
    C("SCRIPT", "KILL");
    C("SCRIPT", "NOSUCH");
    C("SCRIPT", "DEBUG", "NO");
    C("SCRIPT", "DEBUG", "MAYBE");
    C("SCRIPT", "EXISTS");
    CHECK_HELP(L, "SCRIPT");
    C("SCRIPT", "HELP");
}

TEST(shebang_and_ro) {
    REQUIRE(difftest_start(NULL));
    C("SET", "k", "v");
    static const char *bodies[] = {
        "#!lua\nreturn redis.call('get','k')",
        "#!lua flags=no-writes\nreturn redis.call('get','k')",
        "#!lua flags=no-writes\nreturn redis.call('set','k','w')",
        "#!lua flags=no-writes,allow-oom,allow-stale,no-cluster,allow-cross-slot-keys\nreturn 1",
        "#!lua flags=bogus\nreturn 1", "#!lua name=x\nreturn 1", "#!python\nreturn 1",
        "#!lua", "#!lua flags=\nreturn 2", "#!lua\nerror('on line two')",
        "#!lua flags=no-writes\nreturn redis.pcall('set','k','w')",
        NULL,
    };
    for (int i = 0; bodies[i]; i++) {
        C("EVAL", bodies[i], "0");
        C("EVAL_RO", bodies[i], "0");
    }
    C("EVAL_RO", "return redis.call('set','k','x')", "0");
    C("EVAL_RO", "return redis.pcall('del','k')", "0");
    C("EVAL_RO", "return redis.call('get','k')", "1", "k");
    C("SCRIPT", "LOAD", "#!lua flags=no-writes\nreturn redis.call('get', KEYS[1])");
    C("EVALSHA_RO", "99d1f5ffe9c8e6e26d57a3e0b3c7b3c1a5a90c1e", "1", "k");
    C("GET", "k");
}

/* Over maxmemory (Redis's scripting unit "disallow write on OOM"): a
 * script without flags runs, but its first deny-oom command fails with
 * OOM; a declared script is deny-oom unless no-writes or allow-oom; the
 * same for functions; PUBLISH and PFCOUNT are refused in read-only
 * scripts (may-replicate). */
TEST(scripts_under_oom) {
    REQUIRE(difftest_start(NULL));
    C("SET", "x", "0");
    C("PFADD", "h", "a");
    C("FUNCTION", "LOAD",
      "#!lua name=oomlib\n"
      "redis.register_function('plain', function() return redis.call('set', 'x', 3) end)\n"
      "redis.register_function{function_name='ro', callback=function() "
      "return redis.call('get', 'x') end, flags={'no-writes'}}\n"
      "redis.register_function{function_name='big', callback=function() "
      "return redis.call('set', 'x', 4) end, flags={'allow-oom'}}");
    EXPECT("status:\"OK\"", "CONFIG", "SET", "maxmemory", "1");
    static const char *bodies[] = {
        "redis.call('set', 'x', 1)",
        "return redis.pcall('set', 'x', 1)",
        "return redis.call('get', 'x')",
        "#!lua\nreturn redis.call('get', 'x')",
        "#!lua flags=no-writes\nreturn redis.call('get', 'x')",
        "#!lua flags=allow-oom\nreturn redis.call('set', 'x', 2)",
        NULL,
    };
    for (int i = 0; bodies[i]; i++) C("EVAL", bodies[i], "0");
    C("FCALL", "plain", "0");
    C("FCALL", "ro", "0");
    C("FCALL", "big", "0");
    EXPECT("status:\"OK\"", "CONFIG", "SET", "maxmemory", "0");
    C("GET", "x");
    C("EVAL_RO", "return redis.call('publish', 'ch', 'm')", "0");
    C("EVAL_RO", "return redis.call('pfcount', 'h')", "0");
}

/* min-replicas-to-write, read-only and stale replicas (Redis's scripting
 * unit "not enough good replicas"): a declared script is a write unless
 * no-writes and runs stale only with allow-stale; a script without flags
 * runs, and its commands meet the same gates inside. */
TEST(scripts_and_replication_gates) {
    REQUIRE(difftest_start(NULL));
    EXPECT("status:\"OK\"", "SET", "x", "some value");
    const char *get_nw = "#!lua flags=no-writes\nreturn redis.call('get','x')";
    const char *get_compat = "return redis.call('get','x')";
    const char *get_declared = "#!lua\nreturn redis.call('get','x')";
    const char *set_compat = "return redis.call('set','x', 1)";
    const char *pset_compat = "return redis.pcall('set','x', 1)";
    C("CONFIG", "SET", "min-replicas-to-write", "1");
    C("EVAL", get_nw, "1", "x");
    C("EVAL", get_compat, "1", "x");
    C("EVAL", get_declared, "1", "x");
    C("EVAL", set_compat, "1", "x");
    C("EVAL", pset_compat, "1", "x");
    C("CONFIG", "SET", "min-replicas-to-write", "0");
    C("REPLICAOF", "localhost", "1");
    C("EVAL", "#!lua\nreturn 1", "0");
    C("EVAL", set_compat, "1", "x");
    C("EVAL", get_nw, "1", "x");
    C("CONFIG", "SET", "replica-serve-stale-data", "no");
    C("EVAL", get_nw, "1", "x");
    C("EVAL", "#!lua flags=no-writes,allow-stale\nreturn redis.call('get','x')", "1", "x");
    C("EVAL", "#!lua flags=no-writes,allow-stale\nreturn redis.call('ping')", "0");
    C("EVAL", get_compat, "1", "x");
    C("REPLICAOF", "NO", "ONE");
    C("GET", "x");
}

/* The line of INFO <section> starting with prefix, usec fields dropped;
 * malloc'd ("" when absent). */
static char *info_line(redisContext *c, const char *section, const char *prefix) {
    redisReply *r = redisCommand(c, "INFO %s", section);
    char *out = strdup("");
    const char *p = r && r->type == REDIS_REPLY_STRING ? strstr(r->str, prefix) : NULL;
    if (p) {
        free(out);
        out = strndup(p, strcspn(p, "\r\n"));
        char *u = strstr(out, "usec=");
        char *calls_end = u ? strstr(u, "rejected_calls=") : NULL;
        if (u && calls_end) memmove(u, calls_end, strlen(calls_end) + 1);
    }
    freeReplyObject(r);
    return out;
}

static void check_stats_like_redis(const char *const *lines) {
    for (int i = 0; lines[i]; i += 2) {
        char *l = info_line(L, lines[i], lines[i + 1]);
        if (R) {
            char *r = info_line(R, lines[i], lines[i + 1]);
            CHECK_EQ_STR(l, r);
            free(r);
        }
        free(l);
    }
}

/* Errors of commands refused inside a script count once, as a rejected
 * call of the command (Redis's "Consistent eval error reporting"). */
TEST(script_error_stats) {
    REQUIRE(difftest_start(NULL));
    static const char *const stats[] = {
        "errorstats", "errorstat_OOM", "errorstats", "errorstat_ERR", "stats", "total_error_replies",
        "commandstats", "cmdstat_set:", "commandstats", "cmdstat_eval:", "commandstats",
        "cmdstat_select:", "commandstats", "cmdstat_get:", "commandstats", "cmdstat_ping:", NULL};
    static const char *const oom_scripts[] = {
        "return redis.call('set','x','y')",
        "local t = redis.pcall('set','x','y') return t['err']",
        "return redis.pcall('set','x','y')",
        NULL,
    };
    for (int i = 0; oom_scripts[i]; i++) {
        C("CONFIG", "RESETSTAT");
        C("CONFIG", "SET", "maxmemory", "1");
        C("EVAL", oom_scripts[i], "1", "x");
        C("CONFIG", "SET", "maxmemory", "0");
        check_stats_like_redis(stats);
    }
    C("CONFIG", "RESETSTAT");
    C("EVAL", "return redis.call('select',99)", "0");
    C("EVAL", "local t = redis.pcall('select',99) return t['err']", "0");
    C("EVAL", "return redis.call('nosuch')", "0");
    C("EVAL", "return redis.pcall('nosuch')", "0");
    C("EVAL", "return redis.call('get')", "0");
    C("EVAL", "return redis.call('ping', 'a', 'b')", "0");
    check_stats_like_redis(stats);
}

/* Scripts inside MULTI/EXEC run within EXEC's transaction. */
TEST(inside_multi) {
    REQUIRE(difftest_start(NULL));
    C("MULTI");
    C("EVAL", "return redis.call('incr', KEYS[1])", "1", "c");
    C("EVAL", "return redis.call('incr', 'undeclared')", "0");
    C("EVAL", "return redis.call('blpop', 'nolist', 0)", "0");
    C("EXEC");
    C("MGET", "c", "undeclared");
}

/* A script that writes its declared key, then reads or writes one it did
 * not declare: the first attempt is undone and the script re-runs holding
 * everything; the result is exactly one run's. */
TEST(undeclared_keys_atomic) {
    REQUIRE(difftest_start(NULL));
    C("SET", "decl", "10");
    C("RPUSH", "list", "a", "b");
    C("HSET", "hash", "f", "1");
    const char *s = "redis.call('incrby', KEYS[1], 5)\n"
                    "redis.call('rpush', 'list', 'c')\n"
                    "redis.call('hincrby', 'hash', 'f', 1)\n"
                    "redis.call('expire', KEYS[1], 1000)\n"
                    "return {redis.call('get', KEYS[1]), redis.call('llen', 'list'),"
                    " redis.call('hget', 'hash', 'f')}";
    for (int i = 0; i < 3; i++) C("EVAL", s, "1", "decl");
    C("GET", "decl");
    C("LRANGE", "list", "0", "-1");
    C("HGETALL", "hash");
    C("TTL", "decl");
    /* A key the script creates and deletes, declared, then an undeclared
     * read: the pre-images restore absence. */
    const char *t = "redis.call('set', KEYS[1], 'tmp')\n"
                    "redis.call('lpush', KEYS[2], 'x')\n"
                    "redis.call('del', KEYS[1])\n"
                    "return redis.call('exists', 'other', KEYS[1], KEYS[2])";
    C("EVAL", t, "2", "t1", "t2");
    C("EXISTS", "t1", "t2");
    C("LRANGE", "t2", "0", "-1");
    /* Another database. */
    C("EVAL", "redis.call('set', KEYS[1], 'a'); redis.call('select', 3);"
              " redis.call('set', 'indb3', 'b'); return redis.call('dbsize')",
      "1", "k0");
    C("SELECT", "3");
    C("GET", "indb3");
    C("SELECT", "0");
    C("GET", "k0");
    /* A pcall cannot keep an aborted attempt alive. */
    C("EVAL", "redis.call('incr', KEYS[1]); local ok = pcall(redis.call, 'incr', 'x2');"
              " return redis.call('get', KEYS[1])",
      "1", "p1");
    C("MGET", "p1", "x2");
}

/* A failing disk: writes inside scripts get MISCONF, a script with the
 * write flag does not start, a no-writes script still runs. */
TEST(disk_error_misconf) {
    harness_server *s = harness_start("appendonly", "yes", "appendfsync", "everysec",
                                      "enable-debug-command", "yes", NULL);
    REQUIRE(s);
    redisContext *a = harness_connect(s), *b = harness_connect(s);
    REQUIRE(a && b);
    CHECK_EQ_STR(cmd(b, "SET k v"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(b, "DEBUG WAL-FAIL write"), "status:\"OK\"");
    cmd(a, "SET during 1");
    char v[64] = "";
    for (int i = 0; i < 200; i++) {
        if (harness_info(b, "persistence", "aof_last_write_status", v, sizeof(v)) &&
            !strcmp(v, "err"))
            break;
        cmd(a, "SET during 1");
        usleep(20000);
    }
    CHECK_EQ_STR(v, "err");
    const char *misconf = "MISCONF Errors writing to the AOF file: No space left on device";
    char want[256];
    snprintf(want, sizeof(want), "err:\"%s\"", misconf);
    CHECK_EQ_STR(cmd(b, "EVAL %s 0", "return redis.pcall('set', 'x', '1')"), want);
    CHECK_EQ_STR(cmd(b, "EVAL %s 0", "#!lua\nreturn 1"), want);
    CHECK_EQ_STR(cmd(b, "EVAL %s 0", "#!lua flags=no-writes\nreturn redis.call('get', 'k')"),
                 "bulk:\"v\"");
    CHECK_EQ_STR(cmd(b, "EVAL %s 0", "return redis.call('get', 'k')"), "bulk:\"v\"");
    CHECK_EQ_STR(cmd(b, "DEBUG WAL-FAIL none"), "status:\"OK\"");
    /* The WAL recovers before the harness stops the server: like Redis, it
     * refuses SIGTERM while what it acknowledged cannot be made durable. */
    for (int i = 0; i < 250; i++) {
        if (harness_info(b, "persistence", "aof_last_write_status", v, sizeof(v)) &&
            !strcmp(v, "ok"))
            break;
        usleep(20000);
    }
    CHECK_EQ_STR(v, "ok");
}

/* ---- Concurrency: 8 threads x 2000 read-modify-write scripts ---------------------- */

#define RMW_THREADS 8
#define RMW_EVALS 2000

typedef struct rmw_arg {
    int port, id, errors, bad;
    const char *sha;
    int undeclared;
} rmw_arg;

static const char *RMW = "local v = tonumber(redis.call('get', KEYS[1]) or '0')\n"
                         "redis.call('set', KEYS[1], v + 1)\n"
                         "local w = tonumber(redis.call('get', KEYS[2]) or '0')\n"
                         "redis.call('set', KEYS[2], w - 1)\n"
                         "return v + 1";
/* The same on keys it does not declare (runs exclusively). */
static const char *RMW_UNDECL = "local v = tonumber(redis.call('get', 'u:a') or '0')\n"
                                "redis.call('set', 'u:a', v + 1)\n"
                                "local w = tonumber(redis.call('get', 'u:b') or '0')\n"
                                "redis.call('set', 'u:b', w - 1)\n"
                                "return v + 1";
static const char *READER = "local a = tonumber(redis.call('get', KEYS[1]) or '0')\n"
                            "local b = tonumber(redis.call('get', KEYS[2]) or '0')\n"
                            "return a + b";

static void *rmw_run(void *p) {
    rmw_arg *a = p;
    redisContext *c = redisConnect("127.0.0.1", a->port);
    if (!c || c->err) {
        a->errors++;
        return NULL;
    }
    struct timeval tv = {30, 0};
    redisSetTimeout(c, tv);
    for (int i = 0; i < RMW_EVALS; i += 16) {
        int n = RMW_EVALS - i < 16 ? RMW_EVALS - i : 16;
        for (int k = 0; k < n; k++) {
            if (a->undeclared) redisAppendCommand(c, "EVAL %s 0", RMW_UNDECL);
            else if (a->id % 2) redisAppendCommand(c, "EVALSHA %s 2 rmw:a rmw:b", a->sha);
            else redisAppendCommand(c, "EVAL %s 2 rmw:a rmw:b", RMW);
            /* A reader in the same pipeline: never half a script. */
            redisAppendCommand(c, "EVAL %s 2 rmw:a rmw:b", READER);
        }
        for (int k = 0; k < 2 * n; k++) {
            redisReply *r = NULL;
            if (redisGetReply(c, (void **)&r) != REDIS_OK || !r) {
                a->errors++;
                redisFree(c);
                return NULL;
            }
            if (r->type != REDIS_REPLY_INTEGER) a->errors++;
            else if (k % 2 == 1 && r->integer != 0) a->bad++;
            freeReplyObject(r);
        }
    }
    redisFree(c);
    return NULL;
}

static void rmw_check(int undeclared) {
    harness_server *s = harness_start("io-threads", "4", NULL);
    REQUIRE(s);
    redisContext *c = harness_connect(s);
    REQUIRE(c);
    const char *sha = cmd(c, "SCRIPT LOAD %s", RMW);
    char shabuf[64] = "";
    REQUIRE(sscanf(sha, "bulk:\"%40[0-9a-f]\"", shabuf) == 1);
    pthread_t th[RMW_THREADS];
    rmw_arg args[RMW_THREADS];
    for (int i = 0; i < RMW_THREADS; i++) {
        args[i] = (rmw_arg){.port = s->port, .id = i, .sha = shabuf, .undeclared = undeclared};
        pthread_create(&th[i], NULL, rmw_run, &args[i]);
    }
    for (int i = 0; i < RMW_THREADS; i++) {
        pthread_join(th[i], NULL);
        CHECK_EQ_INT(args[i].errors, 0);
        CHECK_EQ_INT(args[i].bad, 0);
    }
    char want[64], neg[64];
    snprintf(want, sizeof(want), "bulk:\"%d\"", RMW_THREADS * RMW_EVALS);
    snprintf(neg, sizeof(neg), "bulk:\"-%d\"", RMW_THREADS * RMW_EVALS);
    CHECK_EQ_STR(cmd(c, undeclared ? "GET u:a" : "GET rmw:a"), want);
    CHECK_EQ_STR(cmd(c, undeclared ? "GET u:b" : "GET rmw:b"), neg);
}

TEST(rmw_exact_totals) { rmw_check(0); }
TEST(rmw_undeclared_exact_totals) { rmw_check(1); }

/* ---- Durability: kill -9 never leaves half a script ---------------------------------- */

TEST(kill9_never_half_a_script) {
    harness_server *s = harness_start("appendonly", "yes", "appendfsync", "always", NULL);
    REQUIRE(s);
    redisContext *c = harness_connect(s);
    REQUIRE(c);
    /* Each script increments a and b, reads TIME and writes it (a value
     * replay could not recompute), and pushes to a list: one record. */
    const char *body = "redis.call('incr', KEYS[1])\n"
                       "local t = redis.call('time')\n"
                       "redis.call('set', KEYS[3], t[1] .. '.' .. t[2])\n"
                       "redis.call('rpush', KEYS[4], redis.call('get', KEYS[1]))\n"
                       "redis.call('incr', KEYS[2])\n"
                       "return 1";
    for (int i = 0; i < 300; i++) redisAppendCommand(c, "EVAL %s 4 a b t l", body);
    /* Read a few replies, then kill while the rest are in flight. */
    for (int i = 0; i < 100; i++) {
        redisReply *r = NULL;
        if (redisGetReply(c, (void **)&r) != REDIS_OK) break;
        freeReplyObject(r);
    }
    char before_t[128];
    snprintf(before_t, sizeof(before_t), "%s", "");
    harness_kill9(s);
    harness_disconnect(c);
    REQUIRE(harness_restart(s) == 0);
    c = harness_connect(s);
    REQUIRE(c);
    long long a = 0, b = 0, n = 0;
    sscanf(cmd(c, "GET a"), "bulk:\"%lld\"", &a);
    sscanf(cmd(c, "GET b"), "bulk:\"%lld\"", &b);
    n = harness_info_num(c, "keyspace", "db0") >= 0 ? 0 : 0;
    (void)n;
    const char *llen = cmd(c, "LLEN l");
    long long len = -1;
    sscanf(llen, "int:%lld", &len);
    CHECK(a >= 100);
    CHECK_EQ_INT(a, b);
    CHECK_EQ_INT(len, a);
    char want[64];
    snprintf(want, sizeof(want), "bulk:\"%lld\"", a);
    CHECK_EQ_STR(cmd(c, "LINDEX l -1"), want);
    CHECK(strncmp(cmd(c, "GET t"), "bulk:\"", 6) == 0);
}

/* ---- Long scripts ------------------------------------------------------------------------ */

typedef struct eval_arg {
    redisContext *c;
    const char *script;
    char reply[512];
} eval_arg;

static void *eval_thread(void *p) {
    eval_arg *a = p;
    struct timeval tv = {60, 0};
    redisSetTimeout(a->c, tv);
    snprintf(a->reply, sizeof(a->reply), "%s", cmd(a->c, "EVAL %s 0", a->script));
    return NULL;
}

static void *fcall_thread(void *p) {
    eval_arg *a = p;
    struct timeval tv = {60, 0};
    redisSetTimeout(a->c, tv);
    snprintf(a->reply, sizeof(a->reply), "%s", cmd(a->c, "FCALL spin 0"));
    return NULL;
}

/* Waits until `other` is answered BUSY (bounded). */
static int wait_busy(redisContext *other) {
    for (int i = 0; i < 2000; i++) {
        const char *r = cmd(other, "GET x");
        if (strncmp(r, "err:\"BUSY", 9) == 0) return 1;
        usleep(5000);
    }
    return 0;
}

/* A client on another thread sees BUSY once the script passes the
 * threshold; SCRIPT KILL stops a script that did not write. Each pair of
 * connections is opened back to back, so round-robin puts them on the two
 * different I/O threads (the script's own thread: test_script_busy.c). */
TEST(busy_and_kill) {
    harness_server *s = harness_start("io-threads", "2", "busy-reply-threshold", "50", NULL);
    REQUIRE(s);
    redisContext *runner = harness_connect(s), *other = harness_connect(s);
    /* spare lands on runner's thread, tx on other's. */
    redisContext *spare = harness_connect(s), *tx = harness_connect(s);
    REQUIRE(runner && other && spare && tx);
    CHECK_EQ_STR(cmd(tx, "MULTI"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(tx, "INCR x"), "status:\"QUEUED\"");
    eval_arg ea = {.c = runner, .script = "local i = 0 while true do i = i + 1 end"};
    pthread_t th;
    pthread_create(&th, NULL, eval_thread, &ea);
    CHECK(wait_busy(other));
    /* EXEC refused while busy discards the transaction (Redis's
     * execCommandAbort): none of it runs, and the client leaves MULTI. */
    CHECK_EQ_STR(cmd(tx, "EXEC"),
                 "err:\"EXECABORT Transaction discarded because of: BUSY Redis is busy running a "
                 "script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\"");
    CHECK_EQ_STR(cmd(other, "SCRIPT KILL"), "status:\"OK\"");
    pthread_join(th, NULL);
    CHECK(strstr(ea.reply, "Script killed by user with SCRIPT KILL...") != NULL);
    CHECK(strstr(ea.reply, "on @user_script:1.") != NULL);
    CHECK_EQ_STR(cmd(other, "GET x"), "nil");
    CHECK_EQ_STR(cmd(tx, "PING"), "status:\"PONG\"");
    CHECK_EQ_STR(cmd(other, "SCRIPT KILL"), "err:\"NOTBUSY No scripts in execution right now.\"");

    /* One that wrote (and so runs holding every database: it declared no
     * key) cannot be killed; SHUTDOWN (saving) is refused, SHUTDOWN NOSAVE
     * stops it. */
    eval_arg eb = {.c = runner,
                   .script = "redis.call('set','w','1') local i = 0 while true do i = i + 1 end"};
    pthread_create(&th, NULL, eval_thread, &eb);
    CHECK(wait_busy(other));
    CHECK_EQ_STR(cmd(other, "SCRIPT KILL"),
                 "err:\"UNKILLABLE Sorry the script already executed write commands against the "
                 "dataset. You can either wait the script termination or kill the server in a "
                 "hard way using the SHUTDOWN NOSAVE command.\"");
    CHECK_EQ_STR(cmd(other, "SHUTDOWN"),
                 "err:\"BUSY Redis is busy running a script. You can only call SCRIPT KILL or "
                 "SHUTDOWN NOSAVE.\"");
    s->expect_exit = 1;
    cmd(other, "SHUTDOWN NOSAVE");
    pthread_join(th, NULL);
    CHECK(harness_wait_exit(s, 20000) != -1);
}

/* Reads from fd until `marker` arrived (bounded); returns the bytes read
 * (malloc'd, *len) or NULL. */
static char *read_until_marker(int fd, const char *marker, size_t *len) {
    char *all = NULL;
    size_t n = 0;
    for (int i = 0; i < 200; i++) {
        raw_buf b = raw_read_until(fd, 100);
        if (b.len) {
            all = realloc(all, n + b.len + 1);
            memcpy(all + n, b.data, b.len);
            n += b.len;
            all[n] = '\0';
        }
        raw_buf_free(&b);
        if (all && memmem(all, n, marker, strlen(marker))) break;
    }
    *len = n;
    return all;
}

/* Runaway memory and deep tables end in errors, never a crash; the deep
 * table is cut where Redis cuts it (same reply bytes). */
TEST(limits) {
    REQUIRE(difftest_start(NULL));
    const char *r = cmd(L, "EVAL %s 0", "local t = {} local s = string.rep('x', 1024*1024) "
                                        "for i = 1, 100000 do t[i] = s .. i end return #t");
    CHECK(strncmp(r, "err:\"ERR Lua memory limit reached", 33) == 0);
    CHECK_EQ_STR(cmd(L, "EVAL %s 0", "return 7"), "int:7");
    int fl, fr;
    REQUIRE(difftest_raw_connect(2, &fl, &fr));
    const char *deep = "local t = {} local cur = t for i = 1, 100000 do cur[1] = {} "
                       "cur = cur[1] end return t";
    const char *argv[] = {"EVAL", deep, "0", NULL};
    const char *marker = "-ERR reached lua stack limit\r\n";
    raw_send_argv(fl, argv);
    size_t nl = 0, nr = 0;
    char *bl = read_until_marker(fl, marker, &nl);
    CHECK(bl && memmem(bl, nl, marker, strlen(marker)));
    if (fr >= 0) {
        raw_send_argv(fr, argv);
        char *br = read_until_marker(fr, marker, &nr);
        CHECK_EQ_INT((long long)nl, (long long)nr);
        CHECK(br && nl == nr && memcmp(bl, br, nl) == 0);
        free(br);
    }
    free(bl);
    CHECK_EQ_STR(cmd(L, "PING"), "status:\"PONG\"");
}

/* redis-py's Lock (python3-redis): acquire, extend, release, contention. */
TEST(redis_py_lock) {
    char *out = NULL;
    const char *probe[] = {"/usr/bin/python3", "-c", "import redis", NULL};
    if (harness_run_capture(probe, 10000, &out, NULL) != 0) {
        free(out);
        testlib_skip("python3-redis is not installed");
        return;
    }
    free(out);
    out = NULL;
    harness_server *s = harness_start(NULL);
    REQUIRE(s);
    char port[16];
    snprintf(port, sizeof(port), "%d", s->port);
    const char *prog =
        "import sys, redis\n"
        "r = redis.Redis(port=int(sys.argv[1]))\n"
        "a = r.lock('res', timeout=10)\n"
        "b = r.lock('res', timeout=10)\n"
        "assert a.acquire(blocking=False)\n"
        "assert not b.acquire(blocking=False)\n"
        "assert a.owned() and not b.owned()\n"
        "assert a.extend(5)\n"
        "assert r.pttl('res') > 10000\n"
        "assert a.reacquire()\n"
        "a.release()\n"
        "assert b.acquire(blocking=False)\n"
        "r.set('res', 'stolen')\n"
        "try:\n"
        "    b.release()\n"
        "    print('released a lock it did not own')\n"
        "    sys.exit(1)\n"
        "except redis.exceptions.LockNotOwnedError:\n"
        "    pass\n"
        "r.delete('res')\n"
        "c = r.lock('res2', timeout=1)\n"
        "assert c.acquire()\n"
        "d = r.lock('res2', blocking_timeout=5)\n"
        "assert d.acquire()\n"
        "d.release()\n"
        "assert r.get('res2') is None\n"
        "print('lock ok')\n";
    const char *argv[] = {"/usr/bin/python3", "-c", prog, port, NULL};
    int rc = harness_run_capture(argv, 30000, &out, NULL);
    CHECK_EQ_INT(rc, 0);
    CHECK(out && strstr(out, "lock ok"));
    if (rc != 0 && out) fprintf(stderr, "%s\n", out);
    free(out);
}


/* ---- Functions ------------------------------------------------------------------------ */

static const char *LIB1 =
    "#!lua name=mylib\n"
    "redis.register_function('f1', function(keys, args) return redis.call('incr', keys[1]) end)\n"
    "redis.register_function{function_name='f2', callback=function(keys, args) return args[1] end,"
    " flags={'no-writes'}, description='desc'}\n"
    "redis.register_function('f3', function(keys, args) return {keys, args} end)\n"
    "redis.register_function('ferr', function() error('oops') end)\n"
    "redis.register_function('fcallerr', function() return redis.call('incr', 'notnum') end)\n";

TEST(functions_differential) {
    REQUIRE(difftest_start(NULL));
    C("FUNCTION", "FLUSH");
    EXPECT("bulk:\"mylib\"", "FUNCTION", "LOAD", LIB1);
    C("FUNCTION", "LOAD", LIB1);
    C("FCALL", "f1", "1", "k");
    C("FCALL", "f1", "1", "k");
    C("FCALL_RO", "f1", "1", "k");
    C("FCALL_RO", "f2", "0", "hi");
    C("FCALL", "f3", "2", "a", "b", "c", "d");
    C("FCALL", "ferr", "0");
    C("SET", "notnum", "x");
    C("FCALL", "fcallerr", "0");
    C("FCALL", "nosuch", "0");
    /* Function names are case-insensitive across libraries. */
    C("FCALL", "F1", "0");
    C("FCALL_RO", "F2", "0", "hi");
    C("FUNCTION", "LOAD", "#!lua name=caselib\nredis.register_function('F1', function() return 1 end)");
    C("FCALL", "f1", "x");
    C("FCALL", "f1", "5", "a");
    C("FCALL", "f1", "-1");
    /* Redis lists a library's functions in its hash table's order: compare
     * the listing of a one-function library, and our order (registration)
     * for the others. */
    C("FUNCTION", "LOAD", "#!lua name=one\nredis.register_function{function_name='solo', "
                          "callback=function() return 1 end, flags={'no-writes', 'allow-oom'}}");
    C("FUNCTION", "LIST", "LIBRARYNAME", "on*");
    C("FUNCTION", "LIST", "LIBRARYNAME", "one", "WITHCODE");
    CU("FUNCTION", "LIST", "LIBRARYNAME", "nomatch*");
    C("FUNCTION", "DELETE", "one");
    CHECK(strncmp(cmd(L, "FUNCTION LIST LIBRARYNAME my*"),
                  "array[array[bulk:\"library_name\",bulk:\"mylib\",bulk:\"engine\","
                  "bulk:\"LUA\",bulk:\"functions\",array[array[bulk:\"name\",bulk:\"f1\","
                  "bulk:\"description\",nil,bulk:\"flags\",array[]],array[bulk:\"name\","
                  "bulk:\"f2\",bulk:\"description\",bulk:\"desc\",bulk:\"flags\","
                  "array[status:\"no-writes\"]]",
                  strlen("array[array[bulk:\"library_name\",bulk:\"mylib\",bulk:\"engine\","
                         "bulk:\"LUA\",bulk:\"functions\",array[array[bulk:\"name\","
                         "bulk:\"f1\",bulk:\"description\",nil,bulk:\"flags\",array[]],"
                         "array[bulk:\"name\",bulk:\"f2\",bulk:\"description\","
                         "bulk:\"desc\",bulk:\"flags\",array[status:\"no-writes\"]]")) == 0);
    C("FUNCTION", "LIST", "LIBRARYNAME");
    C("FUNCTION", "LIST", "BOGUS");
    C("FUNCTION", "STATS");
    static const char *bad[] = {
        "return 1", "#!lua\nreturn 1", "#!lua name=\nreturn 1", "#!lua name=a-b\nreturn 1",
        "#!lua name=x foo=bar\nreturn 1", "#!lua name=x name=y\nreturn 1",
        "#!js name=x\nreturn 1", "#!lua name=x", "#!lua name=x\nreturn 1",
        "#!lua name=x\nredis.call('set','a','b')",
        "#!lua name=x\nredis.register_function('f1', function() end)",
        "#!lua name=x\nlocal s = string.rep('a', 3)",
        "#!lua name=x\nredis.register_function()",
        "#!lua name=x\nredis.register_function('a')",
        "#!lua name=x\nredis.register_function(1, function() end)",
        "#!lua name=x\nredis.register_function('a', 'b')",
        "#!lua name=x\nredis.register_function('a-b', function() end)",
        "#!lua name=x\nredis.register_function('a', function() end) "
        "redis.register_function('a', function() end)",
        "#!lua name=x\nredis.register_function{function_name='a'}",
        "#!lua name=x\nredis.register_function{callback=function() end}",
        "#!lua name=x\nredis.register_function{function_name='a', callback=function() end, "
        "flags={'bogus'}}",
        "#!lua name=x\nredis.register_function{function_name='a', callback=function() end, "
        "flags='no-writes'}",
        "#!lua name=x\nredis.register_function{function_name='a', callback=function() end, "
        "extra=1}",
        "#!lua name=x\nredis.register_function('a', function() end, 3)",
        "#!lua name=x\nreturn 1 +",
        "#!lua name=x\nerror('at load')",
        "#!lua name=x\nredis.log(redis.LOG_NOTICE, 'loading') "
        "redis.register_function('xa', function() return redis.REDIS_VERSION end)",
        NULL,
    };
    for (int i = 0; bad[i]; i++) {
        C("FUNCTION", "LOAD", bad[i]);
        if (strstr(bad[i], "'xa'")) C("FCALL", "xa", "0");
        C("FUNCTION", "DELETE", "x");
    }
    C("FUNCTION", "LOAD", "REPLACE", LIB1);
    C("FUNCTION", "LOAD", "BOGUS", LIB1);
    C("FUNCTION", "DELETE", "x");
    C("FUNCTION", "DELETE", "x");
    C("FUNCTION", "FLUSH", "BOGUS");
    C("FUNCTION", "FLUSH", "SYNC");
    C("FUNCTION", "LIST");
    C("FCALL", "f1", "1", "k");
    C("FUNCTION", "RESTORE", "garbage");
    C("FUNCTION", "RESTORE", "garbage", "BOGUS");
    C("FUNCTION", "KILL");
    CHECK_HELP(L, "FUNCTION");
    C("FUNCTION", "HELP");
}

/* DUMP payloads cross over: Redis's restores here and ours there. */
TEST(function_dump_restore) {
    REQUIRE(difftest_start(NULL));
    if (!R) return;
    cmd(L, "FUNCTION FLUSH");
    cmd(R, "FUNCTION FLUSH");
    redisReply *r = redisCommand(R, "FUNCTION LOAD %s", LIB1);
    REQUIRE(r && r->type == REDIS_REPLY_STRING);
    freeReplyObject(r);
    redisReply *d = redisCommand(R, "FUNCTION DUMP");
    REQUIRE(d && d->type == REDIS_REPLY_STRING);
    redisReply *x = redisCommand(L, "FUNCTION RESTORE %b", d->str, d->len);
    CHECK(x && x->type == REDIS_REPLY_STATUS && !strcmp(x->str, "OK"));
    freeReplyObject(x);
    x = redisCommand(L, "FUNCTION RESTORE %b", d->str, d->len);
    CHECK(x && x->type == REDIS_REPLY_ERROR && !strcmp(x->str, "ERR Library mylib already exists"));
    freeReplyObject(x);
    x = redisCommand(L, "FUNCTION RESTORE %b REPLACE", d->str, d->len);
    CHECK(x && x->type == REDIS_REPLY_STATUS);
    freeReplyObject(x);
    /* A damaged payload. */
    d->str[d->len - 1] ^= 1;
    x = redisCommand(L, "FUNCTION RESTORE %b", d->str, d->len);
    CHECK(x && x->type == REDIS_REPLY_ERROR &&
          !strcmp(x->str, "ERR DUMP payload version or checksum are wrong"));
    freeReplyObject(x);
    freeReplyObject(d);
    CHECK_EQ_STR(cmd(L, "FCALL f2 0 hello"), "bulk:\"hello\"");
    /* Ours into Redis. */
    d = redisCommand(L, "FUNCTION DUMP");
    REQUIRE(d && d->type == REDIS_REPLY_STRING);
    cmd(R, "FUNCTION FLUSH");
    x = redisCommand(R, "FUNCTION RESTORE %b", d->str, d->len);
    CHECK(x && x->type == REDIS_REPLY_STATUS && !strcmp(x->str, "OK"));
    freeReplyObject(x);
    freeReplyObject(d);
    C("FUNCTION", "DELETE", "mylib");
    C("FUNCTION", "LOAD", "#!lua name=one\nredis.register_function('solo', function() return 1 end)");
    d = redisCommand(L, "FUNCTION DUMP");
    REQUIRE(d && d->type == REDIS_REPLY_STRING);
    cmd(R, "FUNCTION FLUSH");
    x = redisCommand(R, "FUNCTION RESTORE %b", d->str, d->len);
    CHECK(x && x->type == REDIS_REPLY_STATUS);
    freeReplyObject(x);
    freeReplyObject(d);
    C("FUNCTION", "LIST", "WITHCODE");
    C("FUNCTION", "RESTORE", "\xf5\x01a\x0a\x00\x00\x00\x00\x00\x00\x00\x00\x00", "FLUSH");
}

/* Libraries survive a restart (functions.lib) and a kill -9 (the file is
 * written before the reply), with or without the WAL. */
static void functions_persist(const char *appendonly) {
    harness_server *s = harness_start("appendonly", appendonly, NULL);
    REQUIRE(s);
    redisContext *c = harness_connect(s);
    REQUIRE(c);
    CHECK_EQ_STR(cmd(c, "FUNCTION LOAD %s", LIB1), "bulk:\"mylib\"");
    CHECK_EQ_STR(cmd(c, "FUNCTION LOAD %s", "#!lua name=other\nredis.register_function('o', "
                                            "function() return 'o' end)"),
                 "bulk:\"other\"");
    CHECK_EQ_STR(cmd(c, "FUNCTION DELETE other"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "FUNCTION LOAD %s", "#!lua name=third\nredis.register_function('t', "
                                            "function() return 't' end)"),
                 "bulk:\"third\"");
    CHECK_EQ_STR(cmd(c, "FUNCTION LOAD REPLACE %s", "#!lua name=third\nredis.register_function("
                                                    "'t', function() return 't2' end)"),
                 "bulk:\"third\"");
    CHECK_EQ_STR(cmd(c, "FCALL f1 1 cnt"), "int:1");
    harness_kill9(s);
    harness_disconnect(c);
    REQUIRE(harness_restart(s) == 0);
    c = harness_connect(s);
    REQUIRE(c);
    CHECK_EQ_STR(cmd(c, "FCALL f2 0 back"), "bulk:\"back\"");
    CHECK_EQ_STR(cmd(c, "FCALL t 0"), "bulk:\"t2\"");
    CHECK_EQ_STR(cmd(c, "FCALL o 0"), "err:\"ERR Function not found\"");
    CHECK_EQ_STR(cmd(c, "FUNCTION STATS"),
                 "array[bulk:\"running_script\",nil,bulk:\"engines\",array[bulk:\"LUA\","
                 "array[bulk:\"libraries_count\",int:2,bulk:\"functions_count\",int:6]]]");
    CHECK_EQ_STR(cmd(c, "FUNCTION FLUSH"), "status:\"OK\"");
    REQUIRE(harness_restart(s) == 0);
    c = harness_connect(s);
    REQUIRE(c);
    CHECK_EQ_STR(cmd(c, "FUNCTION LIST"), "array[]");
}

TEST(functions_persist_wal) { functions_persist("yes"); }
TEST(functions_persist_no_wal) { functions_persist("no"); }

/* A busy function: FUNCTION STATS names it, SCRIPT KILL refuses it,
 * FUNCTION KILL stops it. */
TEST(function_kill) {
    harness_server *s = harness_start("io-threads", "2", "busy-reply-threshold", "50", NULL);
    REQUIRE(s);
    redisContext *runner = harness_connect(s), *other = harness_connect(s);
    REQUIRE(runner && other);
    CHECK_EQ_STR(cmd(other, "FUNCTION LOAD %s",
                     "#!lua name=spin\nredis.register_function('spin', function() "
                     "local i = 0 while true do i = i + 1 end end)"),
                 "bulk:\"spin\"");
    pthread_t th;
    eval_arg ea = {.c = runner, .script = NULL};
    pthread_create(&th, NULL, fcall_thread, &ea);
    CHECK(wait_busy(other));
    CHECK_EQ_STR(cmd(other, "GET x"), "err:\"BUSY Redis is busy running a script. You can only "
                                      "call FUNCTION KILL or SHUTDOWN NOSAVE.\"");
    CHECK(strncmp(cmd(other, "FUNCTION STATS"),
                  "array[bulk:\"running_script\",array[bulk:\"name\",bulk:\"spin\","
                  "bulk:\"command\",array[bulk:\"FCALL\",bulk:\"spin\",bulk:\"0\"]",
                  strlen("array[bulk:\"running_script\",array[bulk:\"name\",bulk:\"spin\","
                         "bulk:\"command\",array[bulk:\"FCALL\",bulk:\"spin\",bulk:\"0\"]"))
          == 0);
    CHECK_EQ_STR(cmd(other, "SCRIPT KILL"), "err:\"BUSY Redis is busy running a script. You can "
                                            "only call FUNCTION KILL or SHUTDOWN NOSAVE.\"");
    CHECK_EQ_STR(cmd(other, "FUNCTION KILL"), "status:\"OK\"");
    pthread_join(th, NULL);
    CHECK_EQ_STR(ea.reply, "err:\"ERR Script killed by user with SCRIPT KILL... script: spin, on "
                           "@user_function:2.\"");
}

static void *fcall_spink_thread(void *p) {
    eval_arg *a = p;
    struct timeval tv = {60, 0};
    redisSetTimeout(a->c, tv);
    snprintf(a->reply, sizeof(a->reply), "%s", cmd(a->c, "FCALL spink 1 k"));
    return NULL;
}

/* Scripts on disjoint keys run in parallel: while a function holding key
 * k of database 1 spins forever (no busy threshold), a script on key k of
 * database 2 (other shards by construction) runs and answers on another
 * thread. Then FUNCTION KILL ends the spin (busy or not). */
TEST(disjoint_scripts_in_parallel) {
    harness_server *s = harness_start("io-threads", "3", "busy-reply-threshold", "0", NULL);
    REQUIRE(s);
    redisContext *runner = harness_connect(s), *other = harness_connect(s),
                 *ctl = harness_connect(s);
    REQUIRE(runner && other && ctl);
    CHECK_EQ_STR(cmd(ctl, "FUNCTION LOAD %s",
                     "#!lua name=sp\nredis.register_function('spink', function(keys) "
                     "redis.call('get', keys[1]) while true do end end)"),
                 "bulk:\"sp\"");
    CHECK_EQ_STR(cmd(runner, "SELECT 1"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(other, "SELECT 2"), "status:\"OK\"");
    eval_arg ea = {.c = runner};
    pthread_t th;
    pthread_create(&th, NULL, fcall_spink_thread, &ea);
    int running = 0;
    for (int i = 0; i < 2000 && !running; i++) {
        if (strstr(cmd(ctl, "FUNCTION STATS"), "bulk:\"spink\"")) running = 1;
        else usleep(5000);
    }
    CHECK(running);
    CHECK_EQ_STR(cmd(other, "EVAL %s 1 k", "return redis.call('incr', KEYS[1])"), "int:1");
    CHECK_EQ_STR(cmd(other, "EVAL %s 1 k", "return redis.call('incr', KEYS[1])"), "int:2");
    CHECK(strstr(cmd(ctl, "FUNCTION STATS"), "bulk:\"spink\"") != NULL); /* still running */
    /* Not busy (no threshold), still killable from another thread. */
    CHECK_EQ_STR(cmd(ctl, "FUNCTION KILL"), "status:\"OK\"");
    pthread_join(th, NULL);
    CHECK(strstr(ea.reply, "Script killed by user") != NULL);
}

/* BullMQ (npm, installed by deps/install.sh into a cache directory): a
 * queue, workers, a delayed job, a retried job, the events stream
 * (tests/bullmq/bullmq_test.js), on 4 I/O threads under appendfsync
 * always. */
TEST(bullmq) {
    const char *cache = getenv("LIGHTNING_DEPS_CACHE");
    const char *home = getenv("HOME");
    char modules[512], probe_path[600];
    if (cache) snprintf(modules, sizeof(modules), "%s/bullmq/node_modules", cache);
    else snprintf(modules, sizeof(modules), "%s/.cache/lightning-deps/bullmq/node_modules",
                  home ? home : "/root");
    snprintf(probe_path, sizeof(probe_path), "%s/bullmq/package.json", modules);
    if (access(probe_path, R_OK) != 0 || access("tests/bullmq/bullmq_test.js", R_OK) != 0) {
        testlib_skip("bullmq is not installed (deps/install.sh installs it with npm)");
        return;
    }
    harness_server *s = harness_start("io-threads", "4", "appendonly", "yes", "appendfsync",
                                      "always", NULL);
    REQUIRE(s);
    char port[16];
    snprintf(port, sizeof(port), "%d", s->port);
    setenv("NODE_PATH", modules, 1);
    const char *argv[] = {"node", "tests/bullmq/bullmq_test.js", port, NULL};
    char *out = NULL;
    int rc = harness_run_capture(argv, 90000, &out, NULL);
    CHECK_EQ_INT(rc, 0);
    CHECK(out && strstr(out, "bullmq ok"));
    if (rc != 0 && out) fprintf(stderr, "%s\n", out);
    free(out);
}

int main(void) {
    RUN(conversions_resp2);
    RUN(conversions_resp3);
    RUN(libraries);
    RUN(error_texts);
    RUN(script_cache);
    RUN(shebang_and_ro);
    RUN(scripts_under_oom);
    RUN(scripts_and_replication_gates);
    RUN(script_error_stats);
    RUN(inside_multi);
    RUN(undeclared_keys_atomic);
    RUN(disk_error_misconf);
    RUN(rmw_exact_totals);
    RUN(rmw_undeclared_exact_totals);
    RUN(kill9_never_half_a_script);
    RUN(busy_and_kill);
    RUN(limits);
    RUN(redis_py_lock);
    RUN(functions_differential);
    RUN(function_dump_restore);
    RUN(functions_persist_wal);
    RUN(functions_persist_no_wal);
    RUN(function_kill);
    RUN(disjoint_scripts_in_parallel);
    RUN(bullmq);
    return testlib_finish();
}
