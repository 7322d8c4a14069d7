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
# e.g. "--io-threads 1"; stated in the output).
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
EMBEDDED=$BUILD/utils/bench/bench-embedded
REDIS_SERVER=redis-server
LT_ARGS=${BENCH_LT_ARGS:-}

if [ "$SHORT" = 1 ]; then
    ROUNDS=${BENCH_ROUNDS:-1}
    KEYS=2000 REQS=5000 REQS_PIPE=20000 LAT_OPS=2000 BULK=5000 ELEMS=5000
    BG_IDLE=500 EMB_PUTS=5000 EMB_SYNCED=20 EMB_GETS=5000
    OUT=${BENCH_OUT:-}
else
    ROUNDS=${BENCH_ROUNDS:-5}
    KEYS=100000 REQS=200000 REQS_PIPE=1000000 LAT_OPS=100000 BULK=1000000 ELEMS=1000000
    BG_IDLE=50000 EMB_PUTS=1000000 EMB_SYNCED=10000 EMB_GETS=1000000
    OUT=${BENCH_OUT:-docs/BENCHMARKS.md}
fi
CLIENTS=50
VALUE_BYTES=64
HASH_VALUE_BYTES=16
WAIT_MS=300000 # longest start-up (1M keys replayed) or BGSAVE we wait for

for f in "$LT_SERVER" "$LOAD" "$EMBEDDED"; do
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

cli() { n=$1; shift; redis-cli -h 127.0.0.1 -p "$(port_of "$n")" "$@"; }

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
        row "emb-put_sync-$other" info "embedded: $EMB_SYNCED synced puts vs $o — Lightning: in-memory commit, no file persistence (puts/s)"
        row "emb-get_1t-$other" $gt "embedded: $EMB_GETS random gets, 1 thread, vs $o (gets/s)"
        row "emb-get_2t-$other" $gt "embedded: $EMB_GETS random gets, 2 threads, vs $o (gets/s)"
        for t in put_txn put_batch put_sync get_1t get_2t; do
            put "emb-$t-$other" L "$(emb_value $t lightning)"
            put "emb-$t-$other" R "$(emb_value $t $other)"
        done
    done
}

# ---- table ------------------------------------------------------------------------

# Targets: net (ratio >= 1), well (pipelined/durable: ratio >= 1.5), mem
# (<= Redis: ratio >= 1), half (Lightning's value >= 0.5), spike
# (Lightning's value <= 2), far (extra memory: ratio >= 4), info (none).
render() {
    awk -F'\t' -v rows="$ROWS" '
    function median(s,   a, n, i, j, t) {
        n = split(s, a, " ")
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
            if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    function fmt(v) {
        if (v ~ /^n\/a/) return v
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
            if (tg == "far") met = num ? (ratio >= 4 ? "≤¼ of Redis: met" : "≤¼ of Redis: MISSED") : ""
            if (tg == "half") met = v[1] !~ /^n\/a/ ? (v[1] >= 0.5 ? "≥0.50: met" : "≥0.50: MISSED") : ""
            if (tg == "spike") met = v[1] !~ /^n\/a/ ? (v[1] <= 2 ? "≤2×: met" : "≤2×: MISSED") : ""
            if (v[1] ~ /^n\/a: not/ || v[2] ~ /^n\/a: not/) missing = missing " " id
            printf "| %s | %s | %s | %s | %s |\n", label, fmt(v[1]), fmt(v[2]),
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

bench_network
bench_durable
bench_rdb
bench_collections
bench_embedded

TABLE=$TMP/table.md
render >"$TABLE" 2>"$TMP/render.err"
cat "$TABLE"
# Every row needs a number; only the BGSAVE rows may say it does not exist.
status=0
bad=$(awk -F'\t' '$3 !~ /^[0-9.]+$/ && $3 != "n/a: BGSAVE not implemented" {print $1 ": " $3}' \
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
        echo "* RDB: Redis writes a dump.rdb of the $BULK bulk-load keys (SAVE); each server"
        echo "  starts on a copy (Lightning imports it, Redis loads its own file) until PING"
        echo "  answers with every key; then \`redis-cli --rdb\` against it (Lightning: SYNC"
        echo "  from an MVCC view; Redis: diskless sync by a forked child, started with"
        echo "  repl-diskless-sync-delay 0 so its 5 s wait for more replicas is not counted)."
        echo "* Embedded: \`utils/bench/bench-embedded\`, 16-byte keys, 100-byte values;"
        echo "  LMDB with MDB_NOSYNC and RocksDB without WAL sync except in the synced"
        echo "  row; gets in read transactions of 1000. The embedded Lightning engine has no"
        echo "  file persistence: its synced-put figure is its in-memory commit."
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
