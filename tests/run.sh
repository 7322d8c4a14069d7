#!/bin/sh
# Runs every test binary of a build and sums up the results.
#
#   BUILD=build sh tests/run.sh          (make test does this)
#   TESTS_FILTER=concurrency sh tests/run.sh   only binaries whose name
#                                               contains the filter
#   TEST_ONLY=name   passed through: runs only tests whose name contains it
#
# Each binary prints "ok <name>" / "not ok <name>" / "skip <name>: <why>"
# lines (tests/testlib.c); a test skips when something it needs (redis-server,
# redis-cli, a CPU feature) is missing, and is never counted as passed then.
# A binary that crashes, times out or exits non-zero without printing any
# "not ok" line counts as one failure named after the binary. The last line
# is exactly "N passed, M failed", followed by ", K skipped" when K > 0; the
# exit status is non-zero if M > 0 or nothing passed.

BUILD=${BUILD:-build}
TIMEOUT=${TEST_TIMEOUT:-300}
export BUILD

cd "$(dirname "$0")/.." || exit 2

tmp=$(mktemp -d /tmp/lightning-run.XXXXXX) || exit 2
trap 'rm -rf "$tmp"' EXIT INT TERM

passed=0
failed=0
skipped=0
failures=""

for bin in "$BUILD"/tests/unit/test_* "$BUILD"/tests/integration/test_* \
           "$BUILD"/redis-compat/lightning-compat; do
    [ -f "$bin" ] && [ -x "$bin" ] || continue
    case "$bin" in *.o|*.d) continue ;; esac
    name=$(basename "$bin")
    if [ -n "$TESTS_FILTER" ]; then
        case "$name" in *"$TESTS_FILTER"*) ;; *) continue ;; esac
    fi
    out="$tmp/$name.out"
    started=$(date +%s)
    timeout -k 10 "$TIMEOUT" "$bin" >"$out" 2>&1
    rc=$?
    secs=$(($(date +%s) - started))
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
done

if [ -n "$failures" ]; then
    echo
    echo "Failures:"
    printf '%s\n' "$failures" | sed -e '/^$/d' -e 's/^/  /'
fi
if [ "$skipped" -gt 0 ]; then
    echo "Skipped:"
    grep -H '^skip ' "$tmp"/*.out |
        sed -e 's|^.*/\([^/]*\)\.out:skip |  \1: |' -e 's/ ([0-9]* ms)$//'
    echo "$passed passed, $failed failed, $skipped skipped"
else
    echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
