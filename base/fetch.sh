#!/bin/sh
# Fetch the pinned QEMU source package into build/dl and check it against
# base/SHA256SUMS.  Files already there and matching are not fetched again.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/base/qemu.conf"
dl=$top/build/dl
mkdir -p "$dl"
cd "$dl"

if sha256sum --quiet -c "$top/base/SHA256SUMS" > /dev/null 2>&1; then
    exit 0
fi

echo "base/fetch.sh: fetching $QEMU_SRC_PACKAGE $QEMU_SRC_VERSION"
"$top/mk/apt.sh" update
if ! "$top/mk/apt.sh" get source --download-only \
        "$QEMU_SRC_PACKAGE=$QEMU_SRC_VERSION" > "$dl/fetch.log" 2>&1; then
    served=$("$top/mk/apt.sh" cache showsrc "$QEMU_SRC_PACKAGE" 2>/dev/null |
             sed -n 's/^Version: //p' | sort -u | tr '\n' ' ')
    echo "base/fetch.sh: the archive no longer serves $QEMU_SRC_PACKAGE" \
         "$QEMU_SRC_VERSION; it serves: ${served:-nothing}" >&2
    echo "base/fetch.sh: to move the pin, edit base/qemu.conf and" \
         "base/SHA256SUMS, then rebase patches/ (see docs/development.md)" >&2
    exit 1
fi
if ! sha256sum --quiet -c "$top/base/SHA256SUMS"; then
    echo "base/fetch.sh: checksum mismatch for the QEMU base in build/dl" >&2
    exit 1
fi
