#!/bin/sh
# Installs every Debian package the build, the tests and the benchmarks need.
# Idempotent and fast when everything is already there: it asks dpkg first and
# only runs apt-get for what is missing.
set -e

PKGS="build-essential pkg-config liburing-dev libjemalloc-dev libzstd-dev liblz4-dev \
libhiredis-dev redis-server redis-sentinel redis-tools clang tmux liblmdb-dev librocksdb-dev python3-redis \
prometheus prometheus-redis-exporter liblua5.1-0-dev lua-cjson lua-bitop \
libssl-dev openssl curl"

missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
        || missing="$missing $p"
done
# BullMQ for tests/integration/test_script.c (pinned; installed into a cache
# directory, never into the repository). Optional: without node/npm or the
# registry the BullMQ test is reported skipped.
BULLMQ_VERSION=5.47.3
BULLMQ_DIR="${LIGHTNING_DEPS_CACHE:-$HOME/.cache/lightning-deps}/bullmq"
if command -v npm >/dev/null 2>&1 &&
   ! grep -q "\"version\": \"$BULLMQ_VERSION\"" "$BULLMQ_DIR/node_modules/bullmq/package.json" 2>/dev/null; then
    echo "deps: installing bullmq@$BULLMQ_VERSION into $BULLMQ_DIR"
    mkdir -p "$BULLMQ_DIR"
    [ -f "$BULLMQ_DIR/package.json" ] ||
        echo '{"name":"lightning-test-deps","private":true}' > "$BULLMQ_DIR/package.json"
    (cd "$BULLMQ_DIR" && npm install --no-audit --no-fund --silent "bullmq@$BULLMQ_VERSION") ||
        echo "deps: bullmq not installed (its test will be skipped)"
fi

[ -z "$missing" ] && exit 0

echo "deps: installing$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# The redis-server, prometheus and prometheus-redis-exporter packages would
# start system services (6379, 9090, 9121); tests start
# their own servers on free ports, so keep the packaged one from running.
if [ -d /usr/sbin ] && [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get install -y -qq --no-install-recommends $missing
