#!/bin/sh
# Installs every Debian package the build, the tests and the benchmarks need.
# Idempotent and fast when everything is already there: it asks dpkg first and
# only runs apt-get for what is missing.
set -e

PKGS="build-essential pkg-config liburing-dev libjemalloc-dev libzstd-dev liblz4-dev \
libhiredis-dev redis-server redis-sentinel redis-tools clang tmux liblmdb-dev librocksdb-dev python3-redis"

missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
        || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "deps: installing$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# The redis-server package would start a system service on 6379; tests start
# their own servers on free ports, so keep the packaged one from running.
if [ -d /usr/sbin ] && [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get install -y -qq --no-install-recommends $missing
