#!/bin/sh
# bench.sh — Lightning side by side with Redis 7.0 (and its embedded engine
# with LMDB and RocksDB). `make bench` builds everything and runs this.
#
#   make bench                       full run; writes docs/BENCHMARKS.md
#   make bench-short                 tiny sizes: checks every benchmark runs
#   BENCH_SHORT=1 sh utils/bench.sh  the same without make
#
# Environment: BUILD (build folder, default build), BENCH_SHORT=1 (tiny
# sizes, one round, docs/BENCHMARKS.md untouched), BENCH_ROUNDS (rounds of
# every alternated measurement, default 5), BENCH_OUT (where the Markdown
# goes; default docs/BENCHMARKS.md, or nowhere in short mode),
# BENCH_LT_ARGS (extra Lightning arguments for every server it starts,
# e.g. "--io-threads 1"; stated in the output), BENCH_ONLY (a list of
# sections to run, e.g. "pubsub structures"; default all), BENCH_RAW (a
# file to copy every round's raw value to), BENCH_CACHE_ROUNDS (rounds of
# the cache rows, default 1: see bench_cache).
#
# Method: both servers run on 127.0.0.1 on free ports, with the same
# persistence settings, driven by the same clients (redis-benchmark,
# redis-cli --pipe, utils/lt-load). Every measurement runs once per round
# on each server, the order alternating between rounds so machine noise
# hits both; the table shows the median of the rounds. The ratio column is
# "how many times better Lightning is": Lightning/Redis for rates,
# Redis/Lightning for latencies, times and memory.
#
# Bounded: every load has a fixed size and every wait a timeout; servers
# are stopped by PID, and the EXIT trap stops any still running and removes
# the scratch folder. Exit status: 0 when every row has a number (or the
# documented "n/a" reason), 1 otherwise.
# `local` is not POSIX but dash, bash and busybox sh all have it.
# shellcheck disable=SC3043
set -u
cd "$(dirname "$0")/.." || exit 2

BUILD=${BUILD:-build}
SHORT=${BENCH_SHORT:-0}
LT_SERVER=$BUILD/lightning-server
LOAD=$BUILD/utils/lt-load
BACKUP=$BUILD/utils/lightning-backup
EMBEDDED=$BUILD/utils/bench/bench-embedded
REDIS_SERVER=redis-server
LT_ARGS=${BENCH_LT_ARGS:-}

if [ "$SHORT" = 1 ]; then
    ROUNDS=${BENCH_ROUNDS:-1}
    KEYS=2000 REQS=5000 REQS_PIPE=20000 LAT_OPS=2000 BULK=5000 ELEMS=5000
    BG_IDLE=500 EMB_PUTS=5000 EMB_SYNCED=20 EMB_GETS=5000 INCR_WRITES=1000
    REQS_SHORT=5000 REQS_GEO=1000 PS_MSGS=2000 GEO_POINTS=2000 TLS_CONNS=500 OBS_REQS=20000
    CACHE_KEYS=50000 CACHE_REQS=100000 CACHE_SCAN=15000 CACHE_MAXMEM=16mb CACHE_SETS=50000
    OUT=${BENCH_OUT:-}
else
    ROUNDS=${BENCH_ROUNDS:-5}
    KEYS=100000 REQS=200000 REQS_PIPE=1000000 LAT_OPS=100000 BULK=1000000 ELEMS=1000000
    BG_IDLE=50000 EMB_PUTS=1000000 EMB_SYNCED=10000 EMB_GETS=1000000 INCR_WRITES=10000
    REQS_SHORT=300000 REQS_GEO=50000 PS_MSGS=200000 GEO_POINTS=100000 TLS_CONNS=3000 OBS_REQS=3000000
    CACHE_KEYS=1000000 CACHE_REQS=2000000 CACHE_SCAN=300000 CACHE_MAXMEM=64mb CACHE_SETS=500000
    OUT=${BENCH_OUT:-docs/BENCHMARKS.md}
fi
CLIENTS=50
# Cache rows: hit ratios of one seeded stream barely vary between runs, and
# a round is ~12 server runs of 2M requests: one round unless asked.
CACHE_ROUNDS=${BENCH_CACHE_ROUNDS:-1}
CACHE_VALUE=1024
VALUE_BYTES=64
HASH_VALUE_BYTES=16
PS_PAYLOAD=16
WAIT_MS=300000 # longest start-up (1M keys replayed) or BGSAVE we wait for

for f in "$LT_SERVER" "$LOAD" "$EMBEDDED" "$BACKUP"; do
    [ -x "$f" ] || { echo "bench: $f is missing: run make bench" >&2; exit 2; }
done
for c in "$REDIS_SERVER" redis-benchmark redis-cli; do
    command -v "$c" >/dev/null || { echo "bench: $c not found (deps/install.sh)" >&2; exit 2; }
done

TMP=$(mktemp -d /tmp/lightning-bench.XXXXXX) || exit 2
PIDS=""
cleanup() {
    for p in $PIDS; do kill -TERM "$p" 2>/dev/null; done
    for p in $PIDS; do
        i=0
        while kill -0 "$p" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
        kill -KILL "$p" 2>/dev/null
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

RESULTS=$TMP/results # lines: row-id side value
ROWS=$TMP/rows       # lines: row-id|target|label, in table order
: >"$RESULTS"
: >"$ROWS"

log() { echo "bench: $*" >&2; }
now_ns() { date +%s%N; }

# ---- servers -------------------------------------------------------------

# start_server NAME lightning|redis DIR ARGS...: starts it on a free port
# in DIR with no save rules; remembers its pid, port and start time.
start_server() {
    local name=$1 kind=$2 dir=$3 port t0
    shift 3
    mkdir -p "$dir"
    port=$("$LOAD" freeport) || exit 1
    t0=$(now_ns)
    if [ "$kind" = lightning ]; then
        # shellcheck disable=SC2086
        "$LT_SERVER" --port "$port" --bind 127.0.0.1 --dir "$dir" --save '' "$@" $LT_ARGS \
            >>"$TMP/$name.log" 2>&1 &
    else
        "$REDIS_SERVER" --port "$port" --bind 127.0.0.1 --dir "$dir" --save '' "$@" \
            >>"$TMP/$name.log" 2>&1 &
    fi
    echo $! >"$TMP/$name.pid"
    echo "$port" >"$TMP/$name.port"
    echo "$t0" >"$TMP/$name.t0"
    PIDS="$PIDS $!"
}

port_of() { cat "$TMP/$1.port"; }

# wait_ready NAME: prints the ms from start to the first PONG.
wait_ready() {
    local r
    r=$("$LOAD" ready "$(port_of "$1")" "$(cat "$TMP/$1.t0")" "$WAIT_MS") || {
        log "$1 did not start; its log:"
        tail -5 "$TMP/$1.log" >&2
        exit 1
    }
    echo "${r#ready_ms=}"
}

# stop_server NAME: SIGTERM by PID, bounded wait, then SIGKILL.
stop_server() {
    local pid i rest p
    pid=$(cat "$TMP/$1.pid")
    kill -TERM "$pid" 2>/dev/null
    i=0
    while kill -0 "$pid" 2>/dev/null && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    rest=""
    for p in $PIDS; do [ "$p" = "$pid" ] || rest="$rest $p"; done
    PIDS=$rest
}

cli() { local n=$1; shift; redis-cli -h 127.0.0.1 -p "$(port_of "$n")" "$@"; }

info_field() { cli "$1" INFO "$2" | tr -d '\r' | awk -F: -v f="$3" '$1 == f {print $2}'; }

# pipe_load NAME FILE COUNT: prints the rate (commands/s) of redis-cli --pipe.
pipe_load() {
    local t0 t1 out
    t0=$(now_ns)
    out=$(cli "$1" --pipe <"$2" 2>&1)
    t1=$(now_ns)
    echo "$out" | grep -q "errors: 0, replies: $3" || {
        log "$1: bulk load failed: $out"
        exit 1
    }
    awk -v n="$3" -v a="$t0" -v b="$t1" 'BEGIN {printf "%.0f\n", n / ((b - a) / 1e9)}'
}

# ---- results --------------------------------------------------------------

# row ID TARGET LABEL: declares a table row (target: see render()).
row() { echo "$1|$2|$3" >>"$ROWS"; }
# put ID SIDE VALUE (SIDE L or R; VALUE a number or "n/a: why").
put() { echo "$1	$2	$3" >>"$RESULTS"; }

# The order of the two sides in round $1: alternates.
sides() { if [ $(($1 % 2)) -eq 1 ]; then echo "L R"; else echo "R L"; fi; }
kind_of() { if [ "$1" = L ]; then echo lightning; else echo redis; fi; }

# ---- networked throughput and latency ---------------------------------------

bench_network() {
    log "networked rows: $ROUNDS round(s), $CLIENTS clients, pipelines 1 16 64"
    "$LOAD" gen set "$KEYS" "$VALUE_BYTES" >"$TMP/keys.resp"
    for s in L R; do
        start_server "net$s" "$(kind_of $s)" "$TMP/net$s" --appendonly yes --appendfsync everysec
        wait_ready "net$s" >/dev/null
        pipe_load "net$s" "$TMP/keys.resp" "$KEYS" >/dev/null
    done
    mget="MGET"
    i=0
    while [ $i -lt 10 ]; do mget="$mget key:__rand_int__"; i=$((i + 1)); done
    for p in 1 16 64; do
        for op in GET SET INCR LPUSH HSET ZADD MGET; do
            if [ $p = 1 ]; then t=net; else t=well; fi
            row "tp-$op-$p" $t "$op, $CLIENTS clients, pipeline $p (req/s)"
        done
    done
    for op in GET SET; do
        row "lat-$op-p50" net "$op, 1 client, latency p50 (µs)"
        row "lat-$op-p99" net "$op, 1 client, latency p99 (µs)"
        row "lat-$op-p999" net "$op, 1 client, latency p99.9 (µs)"
    done
    r=1
    while [ $r -le "$ROUNDS" ]; do
        for p in 1 16 64; do
            if [ $p = 1 ]; then n=$REQS; else n=$REQS_PIPE; fi
            for op in GET SET INCR LPUSH HSET ZADD MGET; do
                for s in $(sides $r); do
                    lc=$(echo $op | tr 'A-Z' 'a-z')
                    if [ $op = MGET ]; then set -- $mget; else set -- -t "$lc"; fi
                    v=$(redis-benchmark -h 127.0.0.1 -p "$(port_of "net$s")" -c $CLIENTS -n "$n" \
                        -P $p -r "$KEYS" -d $VALUE_BYTES --csv "$@" 2>/dev/null |
                        awk -F'"' 'NR == 2 {printf "%.0f\n", $4}')
                    put "tp-$op-$p" $s "${v:-n/a: redis-benchmark failed}"
                done
            done
        done
        for op in GET SET; do
            lc=$(echo $op | tr 'A-Z' 'a-z')
            for s in $(sides $r); do
                out=$("$LOAD" latency "$(port_of "net$s")" "$lc" "$LAT_OPS" "$KEYS" $VALUE_BYTES) ||
                    exit 1
                for q in p50 p99 p999; do
                    put "lat-$op-$q" $s "$(echo "$out" | tr ' ' '\n' | awk -F= -v k="${q}_us" '$1 == k {print $2}')"
                done
            done
        done
        log "networked round $r done"
        r=$((r + 1))
    done
    stop_server netL
    stop_server netR
}

# bench_cmd ID SIDE SERVER N PIPELINE KEYSPACE CMD...: one
# redis-benchmark run of an arbitrary command; puts its req/s.
bench_cmd() {
    local id=$1 side=$2 name=$3 n=$4 p=$5 ks=$6 v
    shift 6
    v=$(redis-benchmark -h 127.0.0.1 -p "$(port_of "$name")" -c $CLIENTS -n "$n" \
        -P "$p" -r "$ks" --csv "$@" 2>/dev/null | awk -F'"' 'NR == 2 {printf "%.0f\n", $4}')
    put "$id" "$side" "${v:-n/a: redis-benchmark failed}"
}

# ---- TLS (issue #23) -----------------------------------------------------------

# GET/SET at pipeline 16 over TLS (tls-port beside the plain port, which
# only loads the keys) and TLS connections per second: redis-benchmark -k 0
# opens a new connection (full handshake, no session resumption) for every
# PING. A CA and a server certificate are made here with openssl.
bench_tls() {
    local r s p op lc v
    log "TLS rows: $ROUNDS round(s)"
    ( cd "$TMP" &&
      openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 \
          -subj /CN=BenchCA &&
      openssl req -newkey rsa:2048 -nodes -keyout tls.key -out tls.csr -subj /CN=localhost &&
      printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >ext.cnf &&
      openssl x509 -req -in tls.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out tls.crt \
          -days 2 -extfile ext.cnf ) >"$TMP/openssl.log" 2>&1 || {
        log "openssl could not make certificates: $(tail -1 "$TMP/openssl.log")"
        exit 1
    }
    "$LOAD" gen set "$KEYS" "$VALUE_BYTES" >"$TMP/tlskeys.resp"
    for s in L R; do
        p=$("$LOAD" freeport) || exit 1
        echo "$p" >"$TMP/tls$s.tlsport"
        start_server "tls$s" "$(kind_of $s)" "$TMP/tls$s" --appendonly yes --appendfsync everysec \
            --tls-port "$p" --tls-cert-file "$TMP/tls.crt" --tls-key-file "$TMP/tls.key" \
            --tls-ca-cert-file "$TMP/ca.crt" --tls-auth-clients no
        wait_ready "tls$s" >/dev/null
        pipe_load "tls$s" "$TMP/tlskeys.resp" "$KEYS" >/dev/null
    done
    for op in GET SET; do
        row "tls-$op-16" well "$op over TLS, $CLIENTS clients, pipeline 16 (req/s)"
    done
    row "tls-conn" net "TLS connections, $CLIENTS clients, one PING each (redis-benchmark -k 0) (conn/s)"
    r=1
    while [ $r -le "$ROUNDS" ]; do
        for s in $(sides $r); do
            for op in GET SET; do
                lc=$(echo $op | tr 'A-Z' 'a-z')
                v=$(redis-benchmark -h 127.0.0.1 -p "$(cat "$TMP/tls$s.tlsport")" --tls \
                    --cacert "$TMP/ca.crt" -c $CLIENTS -n "$REQS_PIPE" -P 16 -r "$KEYS" \
                    -d $VALUE_BYTES --csv -t "$lc" 2>/dev/null |
                    awk -F'"' 'NR == 2 {printf "%.0f\n", $4}')
                put "tls-$op-16" $s "${v:-n/a: redis-benchmark failed}"
            done
            v=$(redis-benchmark -h 127.0.0.1 -p "$(cat "$TMP/tls$s.tlsport")" --tls \
                --cacert "$TMP/ca.crt" -c $CLIENTS -n "$TLS_CONNS" -k 0 --csv -t ping_mbulk \
                2>/dev/null | awk -F'"' 'NR == 2 {printf "%.0f\n", $4}')
            put "tls-conn" $s "${v:-n/a: redis-benchmark failed}"
        done
        log "TLS round $r done"
        r=$((r + 1))
    done
    stop_server tlsL
    stop_server tlsR
}

# ---- scripting (issue #17) ---------------------------------------------------

# A 2-key read-modify-write by EVALSHA (docs/SCRIPTING.md), on one key pair
# (every call serialised) and spread over 1000 pairs (Lightning runs scripts
# on disjoint keys in parallel); script cache memory of 1000 scripts.
bench_scripts() {
    local r s p sha b0 b1 i spread ka kb
    log "scripting rows: $ROUNDS round(s)"
    rmw="local v = tonumber(redis.call('get', KEYS[1]) or '0') redis.call('set', KEYS[1], v + 1) local w = tonumber(redis.call('get', KEYS[2]) or '0') redis.call('set', KEYS[2], w - 1) return v"
    for s in L R; do
        start_server "lua$s" "$(kind_of $s)" "$TMP/lua$s" --appendonly yes --appendfsync everysec
        wait_ready "lua$s" >/dev/null
        sha=$(cli "lua$s" SCRIPT LOAD "$rmw")
    done
    row "tp-EVALSHA-1pair" well "EVALSHA 2-key read-modify-write, 1 key pair, $CLIENTS clients, pipeline 16 (req/s)"
    row "tp-EVALSHA-1000pairs" well "EVALSHA 2-key read-modify-write, 1000 key pairs, $CLIENTS clients, pipeline 16 (req/s)"
    row "mem-script" mem "script cache memory per cached script, 1000 scripts (B)"
    r=1
    while [ $r -le "$ROUNDS" ]; do
        for s in $(sides $r); do
            for spread in 1pair 1000pairs; do
                if [ $spread = 1pair ]; then ka=rmw:a kb=rmw:b; else ka="rmw:a:__rand_int__" kb="rmw:b:__rand_int__"; fi
                bench_cmd "tp-EVALSHA-$spread" $s "lua$s" "$REQS_SHORT" 16 1000 EVALSHA "$sha" 2 "$ka" "$kb"
            done
        done
        r=$((r + 1))
    done
    # Script cache memory: 1000 distinct small scripts loaded.
    for s in L R; do
        p=$(port_of "lua$s")
        redis-cli -p "$p" SCRIPT FLUSH >/dev/null
        b0=$(redis-cli -p "$p" INFO memory | awk -F: '/^used_memory_scripts_eval:/ {print $2+0}')
        i=0
        while [ $i -lt 1000 ]; do echo "SCRIPT LOAD \"return $i + redis.call('get', KEYS[1])\""; i=$((i + 1)); done |
            redis-cli -p "$p" >/dev/null
        b1=$(redis-cli -p "$p" INFO memory | awk -F: '/^used_memory_scripts_eval:/ {print $2+0}')
        put mem-script $s "$(( (b1 - b0) / 1000 ))"
        stop_server "lua$s"
    done
}

# ---- pub/sub (issue #16) -------------------------------------------------------

# PUBLISH fan-out with `lt-load pubsub`: one publisher, 1, 100 and 1000
# subscribers of one channel, deliveries/s; the 1000-subscriber case again
# with both servers on 2 I/O threads (Lightning spreads its connections over
# them; Redis 7 io-threads writes replies from them); memory per idle
# subscription (`lt-load submem`: 100 connections x 100 channels).
bench_pubsub() {
    local r s n k
    log "pub/sub rows: $ROUNDS round(s)"
    for k in 1 100 1000; do
        row "ps-$k" net "PUBLISH fan-out, $k subscriber(s), $PS_PAYLOAD B messages (deliveries/s)"
    done
    row ps-1000-io2 net "PUBLISH fan-out, 1000 subscribers, both servers --io-threads 2 (deliveries/s)"
    row mem-sub mem "memory per idle subscription, 100 connections x 100 channels, used_memory delta (B)"
    for s in L R; do
        start_server "ps$s" "$(kind_of $s)" "$TMP/ps$s" --appendonly no
        wait_ready "ps$s" >/dev/null
        start_server "ps2$s" "$(kind_of $s)" "$TMP/ps2$s" --appendonly no --io-threads 2
        wait_ready "ps2$s" >/dev/null
    done
    r=1
    while [ $r -le "$ROUNDS" ]; do
        for s in $(sides $r); do
            for k in 1 100 1000 1000-io2; do
                case $k in
                    1) n=$PS_MSGS ;;
                    100) n=$((PS_MSGS / 10)) ;;
                    *) n=$((PS_MSGS / 100)) ;;
                esac
                srv=ps$s
                [ $k = 1000-io2 ] && srv=ps2$s
                out=$("$LOAD" pubsub "$(port_of $srv)" "${k%-io2}" "$n" "$PS_PAYLOAD" 60000 2>&1) &&
                    put "ps-$k" $s "$(echo "$out" | tr ' ' '\n' | awk -F= '$1 == "delivered_per_s" {print $2}')" ||
                    put "ps-$k" $s "n/a: lt-load pubsub failed: $(echo "$out" | head -1)"
            done
        done
        log "pub/sub round $r done"
        r=$((r + 1))
    done
    for s in L R; do
        out=$("$LOAD" submem "$(port_of "ps$s")" 100 100 2>&1) &&
            put mem-sub $s "$(echo "$out" | tr ' ' '\n' | awk -F= '$1 == "bytes_per_sub" {print $2}')" ||
            put mem-sub $s "n/a: lt-load submem failed: $(echo "$out" | head -1)"
        stop_server "ps$s"
        stop_server "ps2$s"
    done
}

# ---- streams, HyperLogLog, geo (issue #18) --------------------------------------

# XADD and PFADD pipelined by redis-benchmark, GEOSEARCH radius queries on a
# $GEO_POINTS-point set in a 1°x1° box (a 1 km radius holds about
# $((GEO_POINTS * 41 / 100000)) points), and memory per stream entry
# (MEMORY USAGE of the XADD rows' stream / XLEN, a fresh stream each round).
bench_structures() {
    local r s m1 n
    log "streams, HLL and geo rows: $ROUNDS round(s)"
    row tp-XADD-16 well "XADD s * f <rand>, $CLIENTS clients, pipeline 16 (req/s)"
    row tp-PFADD-16 well "PFADD hll <rand of 1M>, $CLIENTS clients, pipeline 16 (req/s)"
    row tp-GEOSEARCH-1 net "GEOSEARCH FROMLONLAT BYRADIUS 1 km ASC, $GEO_POINTS points, $CLIENTS clients, pipeline 1 (req/s)"
    row mem-stream mem "memory per stream entry (one field, 12-byte value), MEMORY USAGE / XLEN (B)"
    awk -v n="$GEO_POINTS" 'BEGIN {
        srand(1)
        for (i = 0; i < n; i++) {
            lon = sprintf("%.6f", 13 + rand()); lat = sprintf("%.6f", 52 + rand()); m = "m:" i
            printf "*5\r\n$6\r\nGEOADD\r\n$9\r\nbench:geo\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n",
                length(lon), lon, length(lat), lat, length(m), m
        }
    }' >"$TMP/geo.resp"
    for s in L R; do
        start_server "ds$s" "$(kind_of $s)" "$TMP/ds$s" --appendonly yes --appendfsync everysec
        wait_ready "ds$s" >/dev/null
        pipe_load "ds$s" "$TMP/geo.resp" "$GEO_POINTS" >/dev/null
    done
    r=1
    while [ $r -le "$ROUNDS" ]; do
        for s in $(sides $r); do
            # The key's own MEMORY USAGE (every node counted: SAMPLES 0),
            # not the used_memory growth: with the WAL on, that also counts
            # Lightning's log buffers as they grow and shrink with the
            # backlog (154, then 41 B per entry in back-to-back rounds).
            # A new stream each round.
            bench_cmd tp-XADD-16 $s "ds$s" "$REQS_SHORT" 16 1000000 XADD "bench:stream:$r" '*' f __rand_int__
            m1=$(cli "ds$s" MEMORY USAGE "bench:stream:$r" SAMPLES 0)
            n=$(cli "ds$s" XLEN "bench:stream:$r")
            put mem-stream $s "$(awk -v b="$m1" -v n="$n" 'BEGIN {printf "%.1f\n", b / n}')"
            bench_cmd tp-PFADD-16 $s "ds$s" "$REQS_SHORT" 16 1000000 PFADD bench:hll __rand_int__
            bench_cmd tp-GEOSEARCH-1 $s "ds$s" "$REQS_GEO" 1 1 \
                GEOSEARCH bench:geo FROMLONLAT 13.5 52.5 BYRADIUS 1 km ASC
        done
        log "streams/HLL/geo round $r done"
        r=$((r + 1))
    done
    stop_server dsL
    stop_server dsR
}

# ---- bulk loads, memory, restart, BGSAVE ------------------------------------

# persistence_args MODE: the flags for no | everysec | always.
persistence_args() {
    case $1 in
        no) echo "--appendonly no" ;;
        *) echo "--appendonly yes --appendfsync $1" ;;
    esac
}

bench_durable() {
    log "bulk loads of $BULK keys, memory, restarts, BGSAVE: $ROUNDS round(s)"
    "$LOAD" gen set "$BULK" "$VALUE_BYTES" >"$TMP/bulk.resp"
    row bulk-no net "bulk load $BULK keys, persistence off (keys/s)"
    row bulk-everysec well "bulk load $BULK keys, appendfsync everysec (keys/s)"
    row bulk-always well "bulk load $BULK keys, appendfsync always (keys/s)"
    row bulk-always-own half "bulk load: always as a fraction of own persistence-off speed"
    row mem-rss mem "memory per key, $BULK keys of $VALUE_BYTES B, RSS / keys (B)"
    row mem-used mem "memory per key, $BULK keys of $VALUE_BYTES B, used_memory / keys (B)"
    row restart-wal net "restart with $BULK keys: Lightning WAL vs Redis AOF (ms)"
    row restart-snap net "restart with $BULK keys: Lightning snapshot vs Redis RDB (ms)"
    row bg-idle net "GET/SET 1 client p99 idle, $BULK keys (µs)"
    row bg-save net "GET/SET 1 client p99 during BGSAVE (µs)"
    row bg-spike spike "p99 during BGSAVE / idle p99 (×)"
    row bg-mem far "peak extra memory during BGSAVE (B)"
    r=1
    while [ $r -le "$ROUNDS" ]; do
        for s in $(sides $r); do
            k=$(kind_of $s)
            for mode in no everysec always; do
                d=$TMP/bulk$s-$mode-$r
                # shellcheck disable=SC2046
                start_server "bulk$s" "$k" "$d" $(persistence_args $mode)
                wait_ready "bulk$s" >/dev/null
                v=$(pipe_load "bulk$s" "$TMP/bulk.resp" "$BULK") || exit 1
                put "bulk-$mode" $s "$v"
                [ $mode = no ] && off=$v
                [ $mode = always ] && put bulk-always-own $s \
                    "$(awk -v a="$v" -v b="$off" 'BEGIN {printf "%.2f\n", a / b}')"
                if [ $mode = no ] && [ $r = 1 ]; then
                    put mem-rss $s "$(awk -v m="$(info_field "bulk$s" memory used_memory_rss)" \
                        -v n="$BULK" 'BEGIN {printf "%.1f\n", m / n}')"
                    put mem-used $s "$(awk -v m="$(info_field "bulk$s" memory used_memory)" \
                        -v n="$BULK" 'BEGIN {printf "%.1f\n", m / n}')"
                fi
                if [ $mode = everysec ]; then
                    stop_server "bulk$s"
                    # Restart from the log (Lightning's WAL, Redis's AOF).
                    # shellcheck disable=SC2046
                    start_server "bulk$s" "$k" "$d" $(persistence_args everysec)
                    put restart-wal $s "$(restarted "bulk$s")"
                    # Restart from a snapshot (Redis: its RDB, AOF off).
                    cli "bulk$s" SAVE >/dev/null
                    stop_server "bulk$s"
                    if [ $s = L ]; then
                        # shellcheck disable=SC2046
                        start_server "bulk$s" "$k" "$d" $(persistence_args everysec)
                    else
                        start_server "bulk$s" "$k" "$d" --appendonly no
                    fi
                    put restart-snap $s "$(restarted "bulk$s")"
                    bgsave_round "bulk$s" $s
                fi
                stop_server "bulk$s"
                rm -rf "$d"
            done
        done
        log "durable round $r done"
        r=$((r + 1))
    done
}

# restarted NAME: ms until it answers PING, if it came back with every key.
restarted() {
    local ms n
    ms=$(wait_ready "$1")
    n=$(cli "$1" DBSIZE)
    if [ "$n" = "$BULK" ]; then echo "$ms"; else echo "n/a: restarted with $n of $BULK keys"; fi
}

bgsave_round() {
    local out why id
    out=$("$LOAD" bgsave "$(port_of "$1")" "$BG_IDLE" "$BULK" $VALUE_BYTES "$WAIT_MS" 2>&1)
    if [ $? -ne 0 ]; then
        case $out in
            *"unknown command"*) why="n/a: BGSAVE not implemented" ;;
            *) why="n/a: BGSAVE failed: $(echo "$out" | head -1)" ;;
        esac
        for id in bg-idle bg-save bg-spike bg-mem; do put $id "$2" "$why"; done
        return
    fi
    bg_field() { echo "$out" | tr ' ' '\n' | awk -F= -v k="$1" '$1 == k {print $2}'; }
    put bg-idle "$2" "$(bg_field idle_p99_us)"
    put bg-save "$2" "$(bg_field save_p99_us)"
    put bg-spike "$2" "$(awk -v a="$(bg_field save_p99_us)" -v b="$(bg_field idle_p99_us)" \
        'BEGIN {printf "%.2f\n", a / b}')"
    # The larger of what the server reports (Lightning's snapshot copies,
    # Redis's fork copy-on-write) and the growth of its RSS we sampled.
    put bg-mem "$2" "$(awk -v a="$(bg_field rss_extra_bytes)" -v b="$(bg_field reported_extra_bytes)" \
        'BEGIN {print (a > b ? a : b)}')"
}

# ---- RDB interchange -----------------------------------------------------------

# A dump.rdb written by Redis ($BULK keys): Lightning importing it at
# start-up vs Redis loading its own file, and `redis-cli --rdb` of it
# (Lightning: SYNC from an MVCC view; Redis: a forked child).
bench_rdb() {
    local d dd r s k t0 t1
    log "RDB: import of a Redis dump.rdb and redis-cli --rdb, $BULK keys"
    row rdb-load well "start on a Redis dump.rdb of $BULK keys (ms)"
    row rdb-out net "redis-cli --rdb of $BULK keys (ms)"
    [ -f "$TMP/bulk.resp" ] || "$LOAD" gen set "$BULK" "$VALUE_BYTES" >"$TMP/bulk.resp"
    d=$TMP/rdbsrc
    start_server rdbsrc redis "$d" --appendonly no
    wait_ready rdbsrc >/dev/null
    pipe_load rdbsrc "$TMP/bulk.resp" "$BULK" >/dev/null || exit 1
    cli rdbsrc SAVE >/dev/null
    stop_server rdbsrc
    r=1
    while [ $r -le "$ROUNDS" ]; do
        for s in $(sides $r); do
            k=$(kind_of $s)
            dd=$TMP/rdb$s-$r
            mkdir -p "$dd"
            cp "$d/dump.rdb" "$dd/dump.rdb"
            # Redis 7.0 waits repl-diskless-sync-delay (5 s) for more
            # replicas before a diskless sync: not part of the work measured.
            if [ $s = R ]; then
                start_server "rdb$s" "$k" "$dd" --appendonly no --repl-diskless-sync-delay 0
            else
                start_server "rdb$s" "$k" "$dd" --appendonly no
            fi
            put rdb-load $s "$(restarted "rdb$s")"
            t0=$(now_ns)
            if cli "rdb$s" --rdb "$dd/out.rdb" >/dev/null 2>&1 && [ -s "$dd/out.rdb" ]; then
                t1=$(now_ns)
                put rdb-out $s "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.0f\n", (b - a) / 1e6}')"
            else
                put rdb-out $s "n/a: redis-cli --rdb failed"
            fi
            stop_server "rdb$s"
            rm -rf "$dd"
        done
        r=$((r + 1))
    done
    rm -rf "$d"
}

# ---- replication (issue #20) ---------------------------------------------------

# rss_kb PID: the process's resident set (kB).
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# A master holding the $BULK bulk-load keys gains a fresh replica: the time
# from REPLICAOF until the replica reports the link up with every key, the
# master's extra memory meanwhile (the larger of its sampled RSS growth and,
# for Redis, the fork's copy-on-write it reports), and SET at pipeline 16
# on the master with the replica attached. Both masters run with the WAL /
# AOF off; Redis syncs diskless (its default) with no delay.
bench_replication() {
    local r s k m rp t0 t1 base peak cur cow n up
    log "replication: full sync of $BULK keys, master memory, SET -P16 with a replica"
    row repl-sync well "full sync of $BULK keys to a new replica (ms)"
    row repl-mem mem "master's extra memory during that sync (kB)"
    row repl-set well "SET, $CLIENTS clients, pipeline 16, one replica attached (req/s)"
    [ -f "$TMP/bulk.resp" ] || "$LOAD" gen set "$BULK" "$VALUE_BYTES" >"$TMP/bulk.resp"
    r=1
    while [ $r -le "$ROUNDS" ]; do
        for s in $(sides $r); do
            k=$(kind_of $s)
            m=replm$s rp=replr$s
            start_server $m "$k" "$TMP/$m-$r" --appendonly no --repl-diskless-sync-delay 0
            start_server $rp "$k" "$TMP/$rp-$r" --appendonly no
            wait_ready $m >/dev/null
            wait_ready $rp >/dev/null
            pipe_load $m "$TMP/bulk.resp" "$BULK" >/dev/null || exit 1
            base=$(rss_kb "$(cat "$TMP/$m.pid")")
            peak=$base
            t0=$(now_ns)
            cli $rp REPLICAOF 127.0.0.1 "$(port_of $m)" >/dev/null
            up=0
            n=0
            while [ $n -lt $((WAIT_MS / 20)) ]; do
                cur=$(rss_kb "$(cat "$TMP/$m.pid")")
                [ "$cur" -gt "$peak" ] && peak=$cur
                if [ "$(info_field $rp replication master_link_status)" = up ] &&
                    [ "$(info_field $rp replication master_sync_in_progress)" = 0 ] &&
                    [ "$(cli $rp DBSIZE)" = "$BULK" ]; then
                    up=1
                    break
                fi
                sleep 0.02
                n=$((n + 1))
            done
            t1=$(now_ns)
            if [ $up = 1 ]; then
                put repl-sync $s "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.0f\n", (b - a) / 1e6}')"
                cow=0
                [ $s = R ] && cow=$(($(info_field $m persistence rdb_last_cow_size) / 1024))
                put repl-mem $s "$(awk -v a=$((peak - base)) -v b="$cow" 'BEGIN {v = a > b ? a : b; print (v > 0 ? v : 1)}')"
                bench_cmd repl-set $s $m "$REQS_PIPE" 16 "$KEYS" -d $VALUE_BYTES -t set
            else
                for id in repl-sync repl-mem repl-set; do put $id $s "n/a: the replica did not sync"; done
            fi
            stop_server $rp
            stop_server $m
            rm -rf "$TMP/$m-$r" "$TMP/$rp-$r"
        done
        log "replication round $r done"
        r=$((r + 1))
    done
}

# ---- online backups ----------------------------------------------------------------

# lightning-backup (docs/BACKUP.md) against a server holding the $BULK
# bulk-load keys: a full backup while one client runs GET/SET (p99 beside
# idle, extra RSS, keys/s beside `redis-cli --rdb` of the same keys from
# Redis), an increment after $INCR_WRITES writes, and a restore. Rows that
# Redis has no counterpart for say so in its column.
NO_REDIS="n/a: no Redis counterpart"
bench_backup() {
    local r d set out ms t0 t1 dd
    log "online backup of $BULK keys under load, increment, restore"
    row bk-idle info "backup under load: client p99, idle (µs)"
    row bk-during info "backup under load: client p99 during lightning-backup create --full (µs)"
    row bk-spike spike12 "backup under load: p99 during / idle"
    row bk-mem info "backup under load: extra server RSS (bytes)"
    row bk-load-rate info "full backup of $BULK keys while the client runs (keys/s)"
    row bk-rate net "full backup of $BULK keys, idle (Redis: redis-cli --rdb) (keys/s)"
    row bk-incr info "incremental backup after $INCR_WRITES writes to $BULK keys (bytes)"
    row bk-incr-per info "incremental backup size per write (bytes)"
    row bk-restore info "restore of $BULK keys: lightning-backup restore, then start until every key is back (ms)"
    [ -f "$TMP/bulk.resp" ] || "$LOAD" gen set "$BULK" "$VALUE_BYTES" >"$TMP/bulk.resp"
    "$LOAD" gen set "$INCR_WRITES" "$VALUE_BYTES" >"$TMP/incr.resp"
    r=1
    while [ $r -le "$ROUNDS" ]; do
        d=$TMP/bk-$r
        set=$TMP/bkset-$r
        start_server bkL lightning "$d" --appendonly yes --appendfsync everysec
        wait_ready bkL >/dev/null
        pipe_load bkL "$TMP/bulk.resp" "$BULK" >/dev/null || exit 1
        out=$("$LOAD" during "$(port_of bkL)" "$BG_IDLE" "$BULK" $VALUE_BYTES "$WAIT_MS" \
            "$BACKUP" create --port "$(port_of bkL)" --to "$set" --full 2>&1)
        if [ $? -ne 0 ]; then
            for id in bk-idle bk-during bk-spike bk-mem bk-load-rate; do
                put $id L "n/a: backup failed: $(echo "$out" | head -1)"
            done
        else
            bk_field() { echo "$out" | tr ' ' '\n' | awk -F= -v k="$1" '$1 == k {print $2}'; }
            put bk-idle L "$(bk_field idle_p99_us)"
            put bk-during L "$(bk_field during_p99_us)"
            put bk-spike L "$(awk -v a="$(bk_field during_p99_us)" -v b="$(bk_field idle_p99_us)" \
                'BEGIN {printf "%.2f\n", a / b}')"
            put bk-mem L "$(bk_field rss_extra_bytes)"
            put bk-load-rate L "$(awk -v n="$BULK" -v ms="$(bk_field during_ms)" 'BEGIN {printf "%.0f\n", n * 1000 / ms}')"
        fi
        t0=$(now_ns)
        if "$BACKUP" create --port "$(port_of bkL)" --to "$set" --full >/dev/null 2>&1; then
            t1=$(now_ns)
            put bk-rate L "$(awk -v n="$BULK" -v a="$t0" -v b="$t1" 'BEGIN {printf "%.0f\n", n * 1e9 / (b - a)}')"
        else
            put bk-rate L "n/a: backup failed"
        fi
        pipe_load bkL "$TMP/incr.resp" "$INCR_WRITES" >/dev/null || exit 1
        if "$BACKUP" create --port "$(port_of bkL)" --to "$set" >/dev/null 2>&1 &&
            [ -d "$set/000003-incr" ]; then
            ms=$(du -sb "$set/000003-incr" | awk '{print $1}')
            put bk-incr L "$ms"
            put bk-incr-per L "$(awk -v b="$ms" -v n="$INCR_WRITES" 'BEGIN {printf "%.1f\n", b / n}')"
        else
            put bk-incr L "n/a: the increment failed (or was taken as a full backup)"
            put bk-incr-per L "n/a: no increment"
        fi
        stop_server bkL
        dd=$TMP/bkrest-$r
        t0=$(now_ns)
        if "$BACKUP" restore "$set" --into "$dd" --latest >/dev/null 2>&1; then
            start_server bkrest lightning "$dd"
            ms=$(restarted bkrest)
            t1=$(now_ns)
            case $ms in
                n/a*) put bk-restore L "$ms" ;;
                *) put bk-restore L "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.0f\n", (b - a) / 1e6}')" ;;
            esac
            stop_server bkrest
        else
            put bk-restore L "n/a: restore failed"
        fi
        for id in bk-idle bk-during bk-spike bk-mem bk-load-rate bk-incr bk-incr-per bk-restore; do
            put $id R "$NO_REDIS"
        done
        rm -rf "$d" "$set" "$dd"
        # Redis: redis-cli --rdb of the same keys (a forked child's diskless sync).
        d=$TMP/bkR-$r
        start_server bkR redis "$d" --appendonly no --repl-diskless-sync-delay 0
        wait_ready bkR >/dev/null
        pipe_load bkR "$TMP/bulk.resp" "$BULK" >/dev/null || exit 1
        t0=$(now_ns)
        if cli bkR --rdb "$d/out.rdb" >/dev/null 2>&1 && [ -s "$d/out.rdb" ]; then
            t1=$(now_ns)
            put bk-rate R "$(awk -v n="$BULK" -v a="$t0" -v b="$t1" 'BEGIN {printf "%.0f\n", n * 1e9 / (b - a)}')"
        else
            put bk-rate R "n/a: redis-cli --rdb failed"
        fi
        stop_server bkR
        rm -rf "$d"
        r=$((r + 1))
    done
}

# ---- observability overhead (issue #22) ------------------------------------------

# Lightning against itself: one server ($KEYS keys, appendonly everysec,
# io-spin-us 0 so that its CPU time is work, not polling), redis-benchmark
# GET and SET (-P 16, $OBS_REQS requests each; the row is their mean req/s)
# in two modes per row, the order alternating between rounds. The
# "Lightning" column is the mode with the feature, the other column the
# same server without it: /metrics fetched by curl every second during the
# run vs not at all; latency-tracking yes vs no (CONFIG SET). Throughput on
# a shared machine moves by more than 2% between runs, so two rows measure
# the cost as the server's own CPU time (INFO used_cpu_user + used_cpu_sys),
# which other processes do not inflate: per /metrics scrape (100 scrapes
# back to back), and per request with latency-tracking yes vs no.
cpu_s() {
    cli obs INFO cpu | tr -d '\r' |
        awk -F: '$1 == "used_cpu_sys" || $1 == "used_cpu_user" {s += $2} END {printf "%.6f\n", s}'
}
obs_rate() {
    redis-benchmark -h 127.0.0.1 -p "$(port_of obs)" -c $CLIENTS -n "$OBS_REQS" -P 16 \
        -r "$KEYS" -d $VALUE_BYTES -t get,set --csv 2>/dev/null |
        awk -F'"' 'NR > 1 && $4 + 0 > 0 {s += $4; n++} END {if (n == 2) printf "%.0f\n", s / n}'
}

# scraper PORT: GET /metrics every second until killed (by its PID).
scraper() {
    while :; do
        curl -sf -o /dev/null "http://127.0.0.1:$1/metrics" || log "scrape of /metrics failed"
        sleep 1
    done
}

bench_observe() {
    local r s v spid
    log "observability overhead rows: $ROUNDS round(s)"
    command -v curl >/dev/null || { log "curl not found (deps/install.sh)"; exit 2; }
    row obs-scrape tol2 "GET/SET, $CLIENTS clients, pipeline 16, /metrics scraped every second (other column: the same server, not scraped) (req/s)"
    row obs-track tol2 "GET/SET, $CLIENTS clients, pipeline 16, latency-tracking yes (other column: the same server, latency-tracking no) (req/s)"
    row obs-scrape-cpu cpu2 "server CPU time per /metrics scrape (ms; at one scrape a second, ≤20 ms is ≤2% of one I/O thread)"
    row obs-track-cpu tol2 "server CPU time per GET/SET request, latency-tracking yes (other column: no) (µs)"
    "$LOAD" gen set "$KEYS" "$VALUE_BYTES" >"$TMP/obskeys.resp"
    start_server obs lightning "$TMP/obs" --appendonly yes --appendfsync everysec --io-spin-us 0
    wait_ready obs >/dev/null
    pipe_load obs "$TMP/obskeys.resp" "$KEYS" >/dev/null
    r=1
    while [ $r -le "$ROUNDS" ]; do
        for s in $(sides $r); do
            if [ $s = L ]; then
                scraper "$(port_of obs)" &
                spid=$!
                PIDS="$PIDS $spid"
                v=$(obs_rate)
                kill -TERM "$spid" 2>/dev/null
                wait "$spid" 2>/dev/null
            else
                v=$(obs_rate)
            fi
            put obs-scrape $s "${v:-n/a: redis-benchmark failed}"
        done
        for s in $(sides $r); do
            if [ $s = L ]; then t=yes; else t=no; fi
            cli obs CONFIG SET latency-tracking $t >/dev/null
            c0=$(cpu_s)
            v=$(obs_rate)
            c1=$(cpu_s)
            put obs-track $s "${v:-n/a: redis-benchmark failed}"
            put obs-track-cpu $s "$(awk -v a="$c0" -v b="$c1" -v n="$OBS_REQS" \
                'BEGIN {printf "%.4f\n", (b - a) * 1e6 / (2 * n)}')"
        done
        c0=$(cpu_s)
        i=0
        while [ $i -lt 100 ]; do
            curl -sf -o /dev/null "http://127.0.0.1:$(port_of obs)/metrics" || log "scrape of /metrics failed"
            i=$((i + 1))
        done
        c1=$(cpu_s)
        put obs-scrape-cpu L "$(awk -v a="$c0" -v b="$c1" 'BEGIN {printf "%.3f\n", (b - a) * 1e3 / 100}')"
        put obs-scrape-cpu R "$NO_REDIS"
        cli obs CONFIG SET latency-tracking yes >/dev/null
        log "observability round $r done"
        r=$((r + 1))
    done
    stop_server obs
}

# ---- collection memory --------------------------------------------------------

bench_collections() {
    log "memory of a $ELEMS-element hash and sorted set"
    "$LOAD" gen hset "$ELEMS" $HASH_VALUE_BYTES >"$TMP/hash.resp"
    "$LOAD" gen zadd "$ELEMS" >"$TMP/zset.resp"
    row mem-hash-rss mem "memory per hash field ($HASH_VALUE_BYTES B values), RSS / fields (B)"
    row mem-hash-used mem "memory per hash field, used_memory / fields (B)"
    row mem-zset-rss mem "memory per sorted-set member, RSS / members (B)"
    row mem-zset-used mem "memory per sorted-set member, used_memory / members (B)"
    for s in L R; do
        for t in hash zset; do
            start_server "coll$s" "$(kind_of $s)" "$TMP/coll$s" --appendonly no
            wait_ready "coll$s" >/dev/null
            pipe_load "coll$s" "$TMP/$t.resp" "$ELEMS" >/dev/null
            for m in rss used; do
                f=used_memory
                [ $m = rss ] && f=used_memory_rss
                put "mem-$t-$m" $s "$(awk -v m="$(info_field "coll$s" memory $f)" -v n="$ELEMS" \
                    'BEGIN {printf "%.1f\n", m / n}')"
            done
            stop_server "coll$s"
            rm -rf "$TMP/coll$s"
        done
    done
}

# ---- cache mode (issue #15) ---------------------------------------------------

# The cache workload (`lt-load cache`: GET, on a miss SET 1 KB; Zipf(0.99)
# over $CACHE_KEYS keys, $CACHE_REQS requests, one seeded stream for every
# server) at maxmemory $CACHE_MAXMEM, each run on a fresh server: Lightning
# allkeys-lru / allkeys-lfu / allkeys-adaptive, Redis allkeys-lru /
# allkeys-lfu; then the same stream with a one-pass scan of $CACHE_SCAN cold
# keys injected half-way. The adaptive rows compare with the better of
# Redis's two in the same round. Then, on the LRU servers left full,
# redis-benchmark SET -P 16 of 1 KB values over 1M keys (every SET evicts)
# while `lt-load memwatch` samples INFO every 2 ms. The largest
# used_memory / maxmemory seen in all of it is the last row.
bench_cache() {
    local r s pol out hr mu best
    log "cache rows: $CACHE_ROUNDS round(s), maxmemory $CACHE_MAXMEM"
    for sc in plain scan; do
        if [ $sc = plain ]; then w="hit ratio"; else w="hit ratio with a $CACHE_SCAN-key cold scan"; fi
        row "cache-$sc-lru" pt1 "cache $w, allkeys-lru both (fraction)"
        row "cache-$sc-lfu" pt1 "cache $w, allkeys-lfu both (fraction)"
        if [ $sc = plain ]; then t=ahead; else t=pt5; fi
        row "cache-$sc-adaptive" $t "cache $w, Lightning allkeys-adaptive vs Redis's best of lru/lfu (fraction)"
    done
    row cache-set-full well "SET 1 KB, $CLIENTS clients, pipeline 16, memory full and evicting, allkeys-lru both (req/s)"
    row cache-max-used le105 "largest used_memory / maxmemory seen in all cache rows (ratio)"
    : >"$TMP/cache.maxused"
    r=1
    while [ $r -le "$CACHE_ROUNDS" ]; do
        for sc in plain scan; do
            if [ $sc = plain ]; then n=0; else n=$CACHE_SCAN; fi
            for s in $(sides $r); do
                best=0
                for pol in lru lfu adaptive; do
                    [ $s = R ] && [ $pol = adaptive ] && continue
                    name=cache$s$pol
                    start_server "$name" "$(kind_of $s)" "$TMP/$name" --appendonly no \
                        --maxmemory "$CACHE_MAXMEM" --maxmemory-policy "allkeys-$pol"
                    wait_ready "$name" >/dev/null
                    if out=$("$LOAD" cache "$(port_of "$name")" "$CACHE_KEYS" "$CACHE_REQS" \
                        "$CACHE_VALUE" "$n" 7 2>&1); then
                        hr=$(echo "$out" | tr ' ' '\n' | awk -F= '$1 == "hit_ratio" {print $2}')
                        mu=$(echo "$out" | tr ' ' '\n' | awk -F= '$1 == "max_used_ratio" {print $2}')
                        echo "$s $mu" >>"$TMP/cache.maxused"
                        put "cache-$sc-$pol" $s "$hr"
                        [ $s = R ] && best=$(awk -v a="$best" -v b="$hr" 'BEGIN {print (b > a ? b : a)}')
                        log "cache $sc $s allkeys-$pol: $out"
                    else
                        put "cache-$sc-$pol" $s "n/a: lt-load cache failed: $(echo "$out" | head -1)"
                    fi
                    # SET throughput on the full LRU server of the plain run.
                    if [ $sc = plain ] && [ $pol = lru ]; then
                        rm -f "$TMP/memwatch.stop"
                        "$LOAD" memwatch "$(port_of "$name")" "$TMP/memwatch.stop" 600000 \
                            >"$TMP/memwatch.out" 2>&1 &
                        mw=$!
                        bench_cmd cache-set-full $s "$name" "$CACHE_SETS" 16 1000000 -t set -d "$CACHE_VALUE"
                        touch "$TMP/memwatch.stop"
                        wait $mw
                        mu=$(awk -F= '$1 == "max_used_ratio" {print $2}' "$TMP/memwatch.out")
                        echo "$s ${mu:-0}" >>"$TMP/cache.maxused"
                    fi
                    stop_server "$name"
                    rm -rf "${TMP:?}/$name"
                done
                [ $s = R ] && put "cache-$sc-adaptive" R "$best"
            done
        done
        log "cache round $r done"
        r=$((r + 1))
    done
    for s in L R; do
        put cache-max-used $s "$(awk -v s=$s '$1 == s && $2 + 0 > m {m = $2 + 0} END {printf "%.4f\n", m}' "$TMP/cache.maxused")"
    done
}

# ---- embedded engine ------------------------------------------------------------

bench_embedded() {
    log "embedded engine against LMDB and RocksDB"
    mkdir -p "$TMP/emb"
    "$EMBEDDED" "$TMP/emb" "$EMB_PUTS" "$EMB_SYNCED" "$EMB_GETS" >"$TMP/emb.out" || exit 1
    rm -rf "$TMP/emb"
    emb_value() { awk -v t="$1" -v e="$2" '$1 == t && $2 == e {print $3}' "$TMP/emb.out"; }
    for other in lmdb rocksdb; do
        if [ $other = lmdb ]; then o=LMDB; else o=RocksDB; fi
        pt=info gt=info
        [ $other = rocksdb ] && pt=net
        [ $other = lmdb ] && gt=net
        row "emb-put_txn-$other" $pt "embedded: $EMB_PUTS random puts, 1 per txn, vs $o (puts/s)"
        row "emb-put_batch-$other" $pt "embedded: $EMB_PUTS random puts, batches of 1000, vs $o (puts/s)"
        row "emb-put_sync-$other" info "embedded: $EMB_SYNCED synced puts, 1 thread, vs $o — each fsynced before its commit returns (puts/s)"
        row "emb-put_sync_8t-$other" info "embedded: $EMB_SYNCED synced puts, 8 threads, vs $o — group commit (puts/s)"
        row "emb-get_1t-$other" $gt "embedded: $EMB_GETS random gets, 1 thread, vs $o (gets/s)"
        row "emb-get_2t-$other" $gt "embedded: $EMB_GETS random gets, 2 threads, vs $o (gets/s)"
        row "emb-scan-$other" info "embedded: ordered scan of $EMB_PUTS keys with a cursor, vs $o (keys/s)"
        row "emb-get_many_1t-$other" info "embedded: $EMB_GETS random gets, 1 thread, Lightning lt_get_many (1000 per call) vs $o one by one (gets/s)"
        for t in put_txn put_batch put_sync put_sync_8t get_1t get_2t scan; do
            put "emb-$t-$other" L "$(emb_value $t lightning)"
            put "emb-$t-$other" R "$(emb_value $t $other)"
        done
        put "emb-get_many_1t-$other" L "$(emb_value get_many_1t lightning)"
        put "emb-get_many_1t-$other" R "$(emb_value get_1t $other)"
        # Per CPU second of the process: what the issue's targets are read
        # against on a shared machine, where wall-clock rates swing 2-5x.
        for t in put_txn put_batch get_1t scan; do
            row "emb-${t}_cpu-$other" info "embedded: $t, per CPU second of the process, vs $o (ops/s)"
            put "emb-${t}_cpu-$other" L "$(emb_value ${t}_cpu lightning)"
            put "emb-${t}_cpu-$other" R "$(emb_value ${t}_cpu $other)"
        done
        row "emb-get_many_1t_cpu-$other" info "embedded: lt_get_many per CPU second vs $o one by one (gets/s)"
        put "emb-get_many_1t_cpu-$other" L "$(emb_value get_many_1t_cpu lightning)"
        put "emb-get_many_1t_cpu-$other" R "$(emb_value get_1t_cpu $other)"
    done
}

# ---- cluster mode (issue #21) ------------------------------------------------------

# cluster_up PREFIX KIND N: N cluster-enabled servers (appendonly everysec,
# a free cluster-port each) made one cluster — N = 1: the node takes every
# slot; else `redis-cli --cluster create` — and waits for cluster_state:ok.
cluster_up() {
    local pre=$1 kind=$2 n=$3 i addrs="" cport w
    i=1
    while [ $i -le "$n" ]; do
        cport=$("$LOAD" freeport) || exit 1
        start_server "$pre$i" "$kind" "$TMP/$pre$i" --appendonly yes --appendfsync everysec \
            --cluster-enabled yes --cluster-port "$cport"
        wait_ready "$pre$i" >/dev/null
        addrs="$addrs 127.0.0.1:$(port_of "$pre$i")"
        i=$((i + 1))
    done
    if [ "$n" = 1 ]; then
        cli "${pre}1" CLUSTER ADDSLOTSRANGE 0 16383 >/dev/null
    else
        # shellcheck disable=SC2086
        redis-cli --cluster create $addrs --cluster-replicas 0 --cluster-yes >"$TMP/$pre.create" 2>&1 || {
            log "$pre: redis-cli --cluster create failed"
            tail -5 "$TMP/$pre.create" >&2
            exit 1
        }
    fi
    i=1
    while [ $i -le "$n" ]; do
        w=0
        until cli "$pre$i" CLUSTER INFO | grep -q cluster_state:ok; do
            w=$((w + 1))
            [ $w -lt 600 ] || { log "$pre$i: cluster state not ok after 60 s"; exit 1; }
            sleep 0.1
        done
        i=$((i + 1))
    done
    # Every node agrees (redis-benchmark --cluster reads one node's view).
    w=0
    until redis-cli --cluster check "127.0.0.1:$(port_of "${pre}1")" >/dev/null 2>&1; do
        w=$((w + 1))
        [ $w -lt 600 ] || { log "$pre: nodes do not agree after 60 s"; exit 1; }
        sleep 0.1
    done
}

cluster_down() {
    local i=1
    while [ $i -le "$2" ]; do stop_server "$1$i"; i=$((i + 1)); done
}

# Per-node cost of cluster mode: one Lightning node serving every slot
# against a standalone Lightning (the "other engine" column), same load;
# then three Lightning nodes against three Redis nodes, driven by
# `redis-benchmark --cluster` (each request sent to its slot's owner).
bench_cluster() {
    local r s op p v n srv
    log "cluster rows: $ROUNDS round(s)"
    for p in 1 16; do
        for op in GET SET; do
            row "cl1-$op-$p" c95 "$op, one cluster node (all slots) vs standalone Lightning, $CLIENTS clients, pipeline $p (req/s)"
        done
    done
    for op in GET SET; do
        row "cl3-$op" net "$op, 3-node cluster, redis-benchmark --cluster, $CLIENTS clients, pipeline 16 (req/s)"
    done
    cluster_up cl1L lightning 1
    start_server cl1R lightning "$TMP/cl1R" --appendonly yes --appendfsync everysec
    wait_ready cl1R >/dev/null
    cluster_up cl3L lightning 3
    cluster_up cl3R redis 3
    r=1
    while [ $r -le "$ROUNDS" ]; do
        for s in $(sides $r); do
            for p in 1 16; do
                if [ $p = 1 ]; then n=$REQS; else n=$REQS_PIPE; fi
                for op in GET SET; do
                    if [ $s = L ]; then srv=cl1L1; else srv=cl1R; fi
                    bench_cmd "cl1-$op-$p" $s $srv "$n" $p "$KEYS" -d $VALUE_BYTES \
                        -t "$(echo $op | tr 'A-Z' 'a-z')"
                done
            done
            for op in GET SET; do
                v=$(redis-benchmark --cluster -h 127.0.0.1 -p "$(port_of "cl3${s}1")" -c $CLIENTS \
                    -n "$REQS_PIPE" -P 16 -r "$KEYS" -d $VALUE_BYTES -t "$(echo $op | tr 'A-Z' 'a-z')" \
                    --csv 2>/dev/null | awk -F'"' -v t="$op" '$2 == t {printf "%.0f\n", $4}')
                put "cl3-$op" $s "${v:-n/a: redis-benchmark --cluster failed}"
            done
        done
        log "cluster round $r done"
        r=$((r + 1))
    done
    stop_server cl1R
    cluster_down cl1L 1
    cluster_down cl3L 3
    cluster_down cl3R 3
}

# ---- table ------------------------------------------------------------------------

# Targets: net (ratio >= 1), well (pipelined/durable: ratio >= 1.5), mem
# (<= Redis: ratio >= 1), half (Lightning's value >= 0.5), spike
# (Lightning's value <= 2), far (extra memory: ratio >= 4), c95 (ratio >=
# 0.95: cluster mode against standalone), tol2 (a feature's cost: Lightning
# with it / without it >= 0.98), cpu2 (Lightning's value <= 20), info (none).
render() {
    awk -F'\t' -v rows="$ROWS" '
    function median(s,   a, n, i, j, t) {
        n = split(s, a, " ")
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
            if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    function fmt(v, label) {
        if (v ~ /^n\/a/) return v
        if (label ~ /\((fraction|ratio)\)$/) return sprintf("%.4f", v)
        if (v + 0 >= 100) return sprintf("%.0f", v)
        if (v + 0 >= 10) return sprintf("%.1f", v)
        return sprintf("%.2f", v)
    }
    function higher(label) { return label ~ /\/s\)$/ || label ~ /fraction/ }
    {
        if ($3 !~ /^[0-9.]+$/) bad[$1 SUBSEP $2] = $3
        else vals[$1 SUBSEP $2] = vals[$1 SUBSEP $2] " " $3
    }
    END {
        print "| operation | Lightning | Redis (or other engine) | ratio | target |"
        print "|---|---|---|---|---|"
        while ((getline line < rows) > 0) {
            split(line, f, "|")
            id = f[1]; tg = f[2]; label = f[3]
            for (s = 1; s <= 2; s++) {
                side = s == 1 ? "L" : "R"
                if ((id SUBSEP side) in bad) v[s] = bad[id SUBSEP side]
                else if ((id SUBSEP side) in vals) v[s] = median(vals[id SUBSEP side])
                else v[s] = "n/a: not measured"
            }
            num = v[1] !~ /^n\/a/ && v[2] !~ /^n\/a/ && v[1] + 0 > 0 && v[2] + 0 > 0
            ratio = num ? (higher(label) ? v[1] / v[2] : v[2] / v[1]) : ""
            met = ""
            if (tg == "net" || tg == "mem") met = num ? (ratio >= 1 ? "≥1.0×: met" : "≥1.0×: MISSED") : ""
            if (tg == "well") met = num ? (ratio >= 1.5 ? "≥1.5×: met" : (ratio >= 1 ? "≥1.5×: MISSED (≥1.0×)" : "≥1.5×: MISSED")) : ""
            if (tg == "c95") met = num ? (ratio >= 0.95 ? "≥0.95×: met" : "≥0.95×: MISSED") : ""
            if (tg == "far") met = num ? (ratio >= 4 ? "≤¼ of Redis: met" : "≤¼ of Redis: MISSED") : ""
            if (tg == "half") met = v[1] !~ /^n\/a/ ? (v[1] >= 0.5 ? "≥0.50: met" : "≥0.50: MISSED") : ""
            if (tg == "spike12") met = v[1] !~ /^n\/a/ ? (v[1] <= 1.2 ? "≤1.2×: met" : "≤1.2×: MISSED") : ""
            if (tg == "cpu2") met = v[1] !~ /^n\/a/ ? (v[1] <= 20 ? "≤20 ms: met" : "≤20 ms: MISSED") : ""
            if (tg == "tol2") met = num ? (ratio >= 0.98 ? "≥0.98× (≤2% slower): met" : "≥0.98× (≤2% slower): MISSED") : ""
            if (tg == "spike") met = v[1] !~ /^n\/a/ ? (v[1] <= 2 ? "≤2×: met" : "≤2×: MISSED") : ""
            if (v[1] ~ /^n\/a: not/ || v[2] ~ /^n\/a: not/) missing = missing " " id
            if (tg == "pt1") met = num ? (v[1] - v[2] <= 0.01 && v[2] - v[1] <= 0.01 ? "±1 point: met" : "±1 point: MISSED") : ""
            if (tg == "ahead") met = num ? (v[1] > v[2] ? "ahead: met" : "ahead: MISSED") : ""
            if (tg == "pt5") met = num ? (v[1] - v[2] >= 0.05 ? "+5 points: met" : sprintf("+5 points: MISSED (%+.1f)", (v[1] - v[2]) * 100)) : ""
            if (tg == "le105") met = v[1] !~ /^n\/a/ ? (v[1] <= 1.05 ? "≤1.05: met" : "≤1.05: MISSED") : ""
            printf "| %s | %s | %s | %s | %s |\n", label, fmt(v[1], label), fmt(v[2], label),
                num ? sprintf("%.2f×", ratio) : "–", met
        }
        if (missing != "") print "not measured:" missing > "/dev/stderr"
    }' "$RESULTS"
}

machine() {
    cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
    mem=$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
    echo "$(nproc) CPUs ($cpu), $mem RAM, Linux $(uname -r)"
}

# BENCH_ONLY="pubsub scripts" runs only those sections (names as below).
for section in ${BENCH_ONLY:-network tls scripts pubsub structures durable rdb replication backup collections observe embedded cache cluster}; do
    "bench_$section"
done

TABLE=$TMP/table.md
[ -n "${BENCH_RAW:-}" ] && cp "$RESULTS" "$BENCH_RAW"
render >"$TABLE" 2>"$TMP/render.err"
cat "$TABLE"
# Every row needs a number; only the BGSAVE rows may say it does not exist,
# and Lightning-only rows that Redis has no counterpart.
status=0
bad=$(awk -F'\t' -v nr="$NO_REDIS" '$3 !~ /^[0-9.]+$/ && $3 != "n/a: BGSAVE not implemented" && $3 != nr {print $1 ": " $3}' \
    "$RESULTS")
if [ -n "$bad" ] || [ -s "$TMP/render.err" ]; then
    log "rows without a number: $bad $(cat "$TMP/render.err")"
    status=1
fi

if [ -n "$OUT" ]; then
    keep=""
    [ -f "$OUT" ] && keep=$(sed -n '/^## Analysis/,$p' "$OUT")
    {
        echo "# Benchmarks: Lightning and Redis 7.0, side by side"
        echo
        echo "Generated by \`make bench\` (utils/bench.sh) on $(date -u '+%Y-%m-%d %H:%M UTC')."
        echo
        echo "Machine: $(machine). Redis: $($REDIS_SERVER --version | awk '{print $3}' | sed 's/v=//')."
        if [ -n "$LT_ARGS" ]; then
            echo "Lightning runs with \`$LT_ARGS\`, Redis with its defaults (one thread);"
        else
            echo "Lightning runs with its defaults (io-threads 0: one per core, one fewer below four cores;"
            echo "io-spin-us 50: busy-polls up to 50 µs while events come that close together), Redis with"
            echo "its own defaults (one thread);"
        fi
        echo "both on 127.0.0.1, with the clients on the same machine."
        echo
        echo "## How to reproduce"
        echo
        echo '```sh'
        echo 'make bench          # installs deps (LMDB, RocksDB), builds, runs, rewrites this file'
        echo 'make bench-short    # tiny sizes: checks that every benchmark runs'
        echo 'BENCH_LT_ARGS="--io-threads 1" BENCH_OUT=/tmp/t1.md make bench   # other Lightning settings'
        echo '```'
        echo
        echo "## Method"
        echo
        echo "* Every networked measurement runs $ROUNDS times on each server, the order"
        echo "  alternating between rounds; the table shows the median."
        echo "* Throughput rows: \`redis-benchmark -c $CLIENTS -n $REQS (pipelined: $REQS_PIPE) -P N -r $KEYS -d $VALUE_BYTES\`"
        echo "  on servers with \`appendonly yes, appendfsync everysec\`, $KEYS keys loaded;"
        echo "  MGET reads 10 random keys. Latency rows: \`lt-load latency\`, one client,"
        echo "  $LAT_OPS requests one at a time."
        echo "* Bulk loads: \`redis-cli --pipe\` of $BULK SETs ($VALUE_BYTES-byte values) into"
        echo "  a fresh server: \`--appendonly no\`, \`--appendonly yes --appendfsync everysec|always\`."
        echo "* Memory: \`INFO memory\` after the persistence-off load (whole process / keys);"
        echo "  collections: one fresh server per hash or sorted set of $ELEMS elements."
        echo "* Restarts: after the everysec load, SIGTERM and start again until PING"
        echo "  answers PONG with every key back: from the WAL (Redis: its AOF); then after"
        echo "  SAVE, from the snapshot (Redis: its RDB, started with AOF off)."
        echo "* BGSAVE: \`lt-load bgsave\`, one client alternating GET and SET on random"
        echo "  keys, p99 idle ($BG_IDLE requests) and while the BGSAVE runs. Extra memory:"
        echo "  the larger of the server's own figure (Lightning \`snapshot_extra_memory_peak\`,"
        echo "  Redis \`rdb_last_cow_size\`: the fork's copy-on-write) and its sampled RSS growth."
        echo "  Both servers hold the $BULK keys they restarted with: Lightning with its WAL"
        echo "  on (everysec), Redis from its RDB with AOF off."
        echo "* TLS: both servers with \`tls-port\` (a 2048-bit RSA certificate made by openssl,"
        echo "  \`tls-auth-clients no\`, default protocols TLSv1.2/1.3); \`redis-benchmark --tls -c $CLIENTS"
        echo "  -n $REQS_PIPE -P 16\` of GET and SET on $KEYS keys; connections/s: \`redis-benchmark --tls"
        echo "  -k 0 -c $CLIENTS -n $TLS_CONNS -t ping_mbulk\` (a new connection and full handshake per"
        echo "  request; the client's own handshakes share the machine's cores)."
        echo "* Scripting: a 2-key read-modify-write Lua script by \`EVALSHA\`,"
        echo "  \`redis-benchmark -c $CLIENTS -n $REQS_SHORT -P 16\`, on one key pair or on 1000 pairs"
        echo "  (\`-r 1000\`); script cache: \`used_memory_scripts_eval\` growth after 1000"
        echo "  distinct \`SCRIPT LOAD\`s."
        echo "* Pub/sub: \`lt-load pubsub\`, one publisher pipelining \`PUBLISH\` ($PS_PAYLOAD-byte"
        echo "  messages, batches of 16, at most 1000 messages ahead of the subscribers' average reading)"
        echo "  to 1, 100 or 1000 subscribers of one channel, read by one client thread with"
        echo "  poll(); deliveries/s = messages x subscribers / time until the last byte"
        echo "  arrived ($PS_MSGS, $((PS_MSGS / 10)) and $((PS_MSGS / 100)) messages); every \`PUBLISH\` reply must"
        echo "  equal the subscriber count. The \`--io-threads 2\` row starts both servers"
        echo "  with it. Memory per idle subscription: \`lt-load submem\`, used_memory after"
        echo "  100 connections each \`SUBSCRIBE\` 100 distinct channels, minus used_memory"
        echo "  with the 100 connections open."
        echo "* Streams/HLL/geo: \`redis-benchmark -c $CLIENTS -n $REQS_SHORT -P 16\` of"
        echo "  \`XADD bench:stream:<round> * f __rand_int__\` and \`PFADD bench:hll __rand_int__\`"
        echo "  (\`-r 1000000\`), appendonly everysec; \`GEOSEARCH bench:geo FROMLONLAT 13.5 52.5"
        echo "  BYRADIUS 1 km ASC\` at pipeline 1 ($REQS_GEO requests) on $GEO_POINTS points uniform in"
        echo "  a 1°x1° box. Memory per stream entry: \`MEMORY USAGE <stream> SAMPLES 0\` / \`XLEN\`."
        echo "* RDB: Redis writes a dump.rdb of the $BULK bulk-load keys (SAVE); each server"
        echo "  starts on a copy (Lightning imports it, Redis loads its own file) until PING"
        echo "  answers with every key; then \`redis-cli --rdb\` against it (Lightning: SYNC"
        echo "  from an MVCC view; Redis: diskless sync by a forked child, started with"
        echo "  repl-diskless-sync-delay 0 so its 5 s wait for more replicas is not counted)."
        echo "* Replication: a master (WAL/AOF off) holding the $BULK bulk-load keys, a"
        echo "  fresh replica sent \`REPLICAOF\`; ms until the replica's link is up with every"
        echo "  key; the master's extra memory meanwhile (its sampled RSS growth, for Redis"
        echo "  at least \`rdb_last_cow_size\`); \`redis-benchmark -t set -P 16\` on the"
        echo "  master with the replica attached. Redis: diskless sync, no delay."
        echo "* Backup: a Lightning server with the $BULK bulk-load keys (WAL on, everysec);"
        echo "  \`lt-load during\` runs one client alternating GET and SET (p99 idle over"
        echo "  $BG_IDLE requests, then while \`lightning-backup create --full\` runs, sampling"
        echo "  RSS; keys/s = $BULK / the create's wall time); then a full create with no"
        echo "  load, beside \`redis-cli --rdb\` of the same keys from Redis. Then"
        echo "  $INCR_WRITES SETs and an incremental create (its"
        echo "  directory's size), and \`lightning-backup restore --latest\` plus a start on"
        echo "  the result until PING answers with every key. See docs/BACKUP.md."
        echo "* Cluster: \`--cluster-enabled yes\`, appendonly everysec. Per-node rows: one"
        echo "  Lightning node holding all 16384 slots against a standalone Lightning (the"
        echo "  right column), the throughput rows' redis-benchmark load; target ≥0.95×."
        echo "  3-node rows: three Lightning nodes against three Redis nodes, each made one"
        echo "  cluster by \`redis-cli --cluster create\`, driven by \`redis-benchmark --cluster"
        echo "  -c $CLIENTS -n $REQS_PIPE -P 16 -r $KEYS\` (no keys loaded: GET reads misses)."
        echo "* Observability overhead: one Lightning server ($KEYS keys, everysec) against"
        echo "  itself, \`redis-benchmark -c $CLIENTS -n $OBS_REQS -P 16 -t get,set\` (mean of the two),"
        echo "  with \`curl\` fetching /metrics every second during the run vs not, and with"
        echo "  \`latency-tracking yes\` vs \`no\`; the other column is the run without the feature"
        echo "  (io-spin-us 0). CPU rows: the server's INFO used_cpu_user + used_cpu_sys over 100"
        echo "  back-to-back scrapes, and over each latency-tracking run / its requests."
        echo "* Embedded: \`utils/bench/bench-embedded\`, 16-byte keys, 100-byte values;"
        echo "  LMDB with MDB_NOSYNC and RocksDB without WAL sync except in the synced"
        echo "  row; gets in read transactions of 1000. Lightning's puts and gets run in"
        echo "  memory; its synced puts in a directory with LT_SYNC_ALWAYS (its WAL)."
        echo "* Cache: \`lt-load cache\` — GET, on a miss SET $CACHE_VALUE B, over $CACHE_KEYS keys with Zipf(0.99)"
        echo "  popularity, $CACHE_REQS requests (GETs pipelined 16 at a time, then that batch's SETs),"
        echo "  the same seeded stream on every server; maxmemory $CACHE_MAXMEM, appendonly no, a fresh"
        echo "  server per policy; hit ratio = hits / GETs. The scan rows inject a one-pass read of"
        echo "  $CACHE_SCAN cold keys (never seen again) half-way. \"Redis's best\" is the better of"
        echo "  Redis's allkeys-lru and allkeys-lfu in the same round. SET row: \`redis-benchmark -t set"
        echo "  -P 16 -d $CACHE_VALUE -r 1000000 -n $CACHE_SETS\` on the LRU server left full. Largest"
        echo "  used_memory / maxmemory: INFO memory read every 64 batches of the cache runs and"
        echo "  every 2 ms (\`lt-load memwatch\`) during the SET run. $CACHE_ROUNDS round(s)."
        echo "* Ratio: how many times better Lightning is (Lightning/Redis for rates,"
        echo "  Redis/Lightning for latency, time and memory). Targets from the issue;"
        echo "  \"well above\" is taken as ≥1.5×."
        echo
        echo "## Results"
        echo
        cat "$TABLE"
        echo
        if [ -n "$keep" ]; then
            echo "$keep"
        else
            echo "## Analysis"
            echo
            echo "(Profiles of rows below target go here; bench.sh keeps this section.)"
        fi
    } >"$OUT.tmp" && mv "$OUT.tmp" "$OUT"
    log "wrote $OUT"
fi
exit $status
