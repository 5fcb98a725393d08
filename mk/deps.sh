#!/bin/sh
# Install the Debian packages qemu-espt needs to build and test, where
# they are missing: the QEMU build dependencies for arm and i386 targets,
# the firmware QEMU loads, the cross compilers of the guest test programs,
# and meson 1.5 or later (from Debian 12's backports) for the QEMU base.
#
#   mk/deps.sh            what the build and the tests need
#   mk/deps.sh PKG...     those packages instead (mk/bench-deps.sh), no meson
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)

pkgs="build-essential ccache git ninja-build pkg-config python3-venv
      libglib2.0-dev libpixman-1-dev zlib1g-dev libfdt-dev flex bison
      dpkg-dev cpio xz-utils seabios ipxe-qemu gdb-multiarch qemu-utils
      gcc-arm-none-eabi gcc-arm-linux-gnueabihf gcc-i686-linux-gnu
      libc6-dev-armhf-cross libc6-dev-i386-cross"
meson_min=1.5
if [ $# -gt 0 ]; then
    pkgs=$*
    meson_min=
fi

installed() {
    [ "$(dpkg-query -W -f '${db:Status-Status}' "$1" 2>/dev/null)" = installed ]
}

as_root() {
    if [ "$(id -u)" = 0 ]; then
        "$@"
    elif command -v sudo > /dev/null; then
        sudo "$@"
    else
        echo "mk/deps.sh: need root to run: $*" >&2
        exit 1
    fi
}

missing=
for p in $pkgs; do
    installed "$p" || missing="$missing $p"
done

meson_ok() {
    [ -n "$meson_min" ] || return 0
    v=$(dpkg-query -W -f '${Version}' meson 2>/dev/null) || return 1
    dpkg --compare-versions "$v" ge "$meson_min"
}

[ -z "$missing" ] && meson_ok && exit 0

export DEBIAN_FRONTEND=noninteractive
if [ -n "$missing" ]; then
    echo "mk/deps.sh: installing$missing"
    # One index failing during a mirror sync must not stop us: the
    # install below fails, by name, only if a package is really missing.
    as_root apt-get -q update > /dev/null 2>&1 ||
        echo "mk/deps.sh: apt-get update reported errors; going on" >&2
    # shellcheck disable=SC2086
    if ! as_root apt-get -q -y install --no-install-recommends $missing \
            > "${TMPDIR:-/tmp}/espt-deps.log" 2>&1; then
        for p in $missing; do
            apt-cache show "$p" > /dev/null 2>&1 ||
                echo "mk/deps.sh: package $p is not available from apt" >&2
        done
        tail -5 "${TMPDIR:-/tmp}/espt-deps.log" >&2
        echo "mk/deps.sh: installing$missing failed" >&2
        exit 1
    fi
fi

if ! meson_ok; then
    echo "mk/deps.sh: installing meson >= $meson_min from bookworm-backports"
    d=$top/build/apt/debs
    mkdir -p "$d"
    rm -f "$d"/meson_*.deb
    (cd "$d" && "$top/mk/apt.sh" get download meson/bookworm-backports) ||
        { echo "mk/deps.sh: package meson (bookworm-backports) is not" \
               "available" >&2; exit 1; }
    as_root apt-get -q -y install "$d"/meson_*.deb > /dev/null
    meson_ok || { echo "mk/deps.sh: meson >= $meson_min is missing" >&2;
                  exit 1; }
fi
