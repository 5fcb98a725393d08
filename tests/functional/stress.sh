#!/bin/sh
# stress-ng's vm, mmap, fork, mprotect and memfd stressors (Debian's
# package) inside the guest: every stressor must finish its operations
# with its own checks passing, and the guest kernel must stay quiet.
#
#   tests/functional/stress.sh ARCH FLAVOUR SMP MODE
set -eu
. "$(dirname "$0")/../lib.sh"

arch=$1 flavour=$2 smp=$3 mode=$4
need_mode "$arch" "$mode"
initrd=$top/build/assets/initrd-stress-$arch.gz
[ -f "$initrd" ] || fail "no $initrd; run tests/guest/assets.sh"
boot_guest "$arch" "$flavour" "$smp" "$mode" stress --initrd "$initrd"
grep '^STRESS ' "$log.txt" > "$log.got"
for s in vm mmap fork mprotect memfd; do
    echo "STRESS $s exit 0"
done > "$log.want"
diff -u "$log.want" "$log.got" || fail "a stressor failed; see $log"
echo "ok: $(wc -l < "$log.got") stressors passed"
