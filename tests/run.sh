#!/bin/sh
# Runs every test binary of a build and sums up the results.
#
#   BUILD=build sh tests/run.sh          (make test does this)
#   TESTS_FILTER=concurrency sh tests/run.sh   only binaries whose name
#                                               contains the filter
#   TEST_ONLY=name   passed through: runs only tests whose name contains it
#   TEST_JOBS=N      runs N binaries at once (default 1); each starts its
#                    own servers on free ports, so they do not interfere
#
# Each binary prints "ok <name>" / "not ok <name>" / "skip <name>: <why>"
# lines (tests/testlib.c); a test skips when something it needs (redis-server,
# redis-cli, a CPU feature) is missing, and is never counted as passed then.
# A binary that crashes, times out or exits non-zero without printing any
# "not ok" line counts as one failure named after the binary. Results are
# printed in the binaries' order, each with its wall-clock seconds. The last
# line is exactly "N passed, M failed", followed by ", K skipped" when K > 0;
# the exit status is non-zero if M > 0 or nothing passed.

BUILD=${BUILD:-build}
TIMEOUT=${TEST_TIMEOUT:-300}
JOBS=${TEST_JOBS:-1}
export BUILD TIMEOUT

self="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
cd "$(dirname "$0")/.." || exit 2

# One binary (run by the xargs below): its output, exit status and seconds
# go to files named after it in the results folder.
if [ "$1" = "--one" ]; then
    out="$2/$(basename "$(dirname "$3")").$(basename "$3")"
    started=$(date +%s)
    timeout -k 10 "$TIMEOUT" "$3" >"$out.out" 2>&1
    rc=$?
    echo $(($(date +%s) - started)) >"$out.secs"
    echo "$rc" >"$out.rc.tmp" && mv "$out.rc.tmp" "$out.rc"
    exit 0
fi

tmp=$(mktemp -d /tmp/lightning-run.XXXXXX) || exit 2
runner=""
trap '[ -n "$runner" ] && kill "$runner" 2>/dev/null; rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

for bin in "$BUILD"/tests/unit/test_* "$BUILD"/tests/integration/test_* \
           "$BUILD"/redis-compat/lightning-compat; do
    [ -f "$bin" ] && [ -x "$bin" ] || continue
    case "$bin" in *.o|*.d) continue ;; esac
    name=$(basename "$bin")
    if [ -n "$TESTS_FILTER" ]; then
        case "$name" in *"$TESTS_FILTER"*) ;; *) continue ;; esac
    fi
    echo "$bin"
done >"$tmp/list"

xargs -r -P "$JOBS" -n 1 sh "$self" --one "$tmp" <"$tmp/list" &
runner=$!

passed=0
failed=0
skipped=0
failures=""
skips=""

while read -r bin; do
    name=$(basename "$bin")
    # Unit and integration binaries may share a name.
    res="$tmp/$(basename "$(dirname "$bin")").$name"
    out="$res.out"
    # Reported in list order, as soon as each has finished.
    while [ ! -f "$res.rc" ]; do sleep 1; done
    rc=$(cat "$res.rc")
    secs=$(cat "$res.secs")
    p=$(grep -c '^ok ' "$out")
    f=$(grep -c '^not ok ' "$out")
    k=$(grep -c '^skip ' "$out")
    skipped=$((skipped + k))
    passed=$((passed + p))
    failed=$((failed + f))
    names=$(grep '^not ok ' "$out" | sed -e 's/^not ok //' -e 's/ ([0-9]* ms)$//' \
            -e "s|^|$name: |")
    [ -n "$names" ] && failures="$failures
$names"
    if [ "$k" -gt 0 ]; then
        skips="$skips
$(grep '^skip ' "$out" | sed -e "s|^skip |$name: |" -e 's/ ([0-9]* ms)$//')"
    fi
    why=""
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
            why="timed out after ${TIMEOUT}s"
        elif [ "$rc" -gt 128 ]; then
            why="killed by signal $((rc - 128))"
        else
            why="exit code $rc"
        fi
        failed=$((failed + 1))
        failures="$failures
$name ($why, no 'not ok' line)"
    fi
    if [ "$f" -gt 0 ] || [ -n "$why" ]; then
        echo "=== $name: FAILED ($p ok, $f not ok${why:+, $why}; ${secs}s) ==="
        cat "$out"
        echo "=== end of $name ==="
    else
        if [ "$k" -gt 0 ]; then echo "$name: $p ok, $k skipped (${secs}s)"
        else echo "$name: $p ok (${secs}s)"; fi
    fi
done <"$tmp/list"
wait "$runner"
runner=""

if [ -n "$failures" ]; then
    echo
    echo "Failures:"
    printf '%s\n' "$failures" | sed -e '/^$/d' -e 's/^/  /'
fi
if [ "$skipped" -gt 0 ]; then
    echo "Skipped:"
    printf '%s\n' "$skips" | sed -e '/^$/d' -e 's/^/  /'
    echo "$passed passed, $failed failed, $skipped skipped"
else
    echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
