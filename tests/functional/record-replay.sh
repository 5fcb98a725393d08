#!/bin/sh
# Record a guest run with -icount rr=record, replay it, and check that the
# replay prints exactly what the recording did.
#
#   tests/functional/record-replay.sh ARCH FLAVOUR MODE
set -eu
. "$(dirname "$0")/../lib.sh"

arch=$1 flavour=$2 mode=$3
need_mode "$arch" "$mode"
d=$top/build/tests/rr-$flavour-espt$mode
mkdir -p "$d"
for rr in record replay; do
    ESPT_QEMU_ARGS="-icount shift=5,rr=$rr,rrfile=$d/replay.bin" \
        timeout 600 "$top/tests/guest/boot.sh" --arch "$arch" \
        --kernel "$flavour" --espt "$mode" -- 'uname -a; echo rr-done' \
        < /dev/null > "$d/$rr.log" 2>&1 || fail "$rr failed; see $d/$rr.log"
    grep -q '^rr-done' "$d/$rr.log" || fail "$rr did not run; see $d/$rr.log"
done
cmp -s "$d/record.log" "$d/replay.log" ||
    fail "the replay differs from the recording; see $d"
echo "ok: replay identical to the recording"
