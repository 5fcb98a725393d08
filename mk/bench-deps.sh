#!/bin/sh
# Install, where missing, the host packages the benchmarks need: Debian's
# own QEMU (system and user mode) to compare with, cpio for the guests'
# root filesystems, and matplotlib for the chart.  Called by tests/bench/run.sh, not by make
# check or ./configure.
set -eu

pkgs="qemu-system-arm qemu-system-x86 qemu-user-static python3-matplotlib
      cpio"

installed() {
    [ "$(dpkg-query -W -f '${db:Status-Status}' "$1" 2>/dev/null)" = installed ]
}

missing=
for p in $pkgs; do
    installed "$p" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

[ "$(id -u)" = 0 ] || {
    echo "mk/bench-deps.sh: need root to install$missing" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
echo "mk/bench-deps.sh: installing$missing"
# One index failing during a mirror sync must not stop us: the install
# below fails, by name, only if a package is really missing.
apt-get -q update > /dev/null 2>&1 ||
    echo "mk/bench-deps.sh: apt-get update reported errors; going on" >&2
log=${TMPDIR:-/tmp}/espt-bench-deps.log
# shellcheck disable=SC2086
if ! apt-get -q -y install --no-install-recommends $missing > "$log" 2>&1
then
    for p in $missing; do
        apt-cache show "$p" > /dev/null 2>&1 ||
            echo "mk/bench-deps.sh: package $p is not available from apt" >&2
    done
    tail -5 "$log" >&2
    echo "mk/bench-deps.sh: installing$missing failed" >&2
    exit 1
fi
