#!/bin/sh
# Boot one of Debian's kernels with the test initramfs, run the workload,
# and check it: every RESULT line as tests/guest/expected.py predicts, no
# panic or oops, a clean power-off, and no hang (generous timeout).
#
#   tests/functional/boot-workload.sh ARCH FLAVOUR SMP MODE
set -eu
. "$(dirname "$0")/../lib.sh"

arch=$1 flavour=$2 smp=$3 mode=$4
need_mode "$arch" "$mode"

n=120000 forks=300
log=$top/build/tests/boot-$flavour-smp$smp-espt$mode.log
mkdir -p "$(dirname "$log")"
rc=0
timeout 900 "$top/tests/guest/boot.sh" --arch "$arch" --kernel "$flavour" \
    --smp "$smp" --espt "$mode" --run workload < /dev/null > "$log" 2>&1 ||
    rc=$?
tr -d '\r' < "$log" > "$log.txt"
[ $rc -ne 124 ] || fail "timed out; see $log"
[ $rc -eq 0 ] || fail "QEMU exited with $rc; see $log"
if grep -E 'Kernel panic|Oops|BUG:|Unable to handle|segfault' "$log.txt"; then
    fail "the guest kernel reported an error; see $log"
fi
grep -q "ESPT-GUEST: booted on .*, $smp cpus" "$log.txt" ||
    fail "the guest did not reach init with $smp cpus; see $log"
grep -q 'ESPT-GUEST: workload exit 0' "$log.txt" ||
    fail "the workload did not finish; see $log"
grep -q 'reboot: Power down' "$log.txt" ||
    fail "the guest did not power off; see $log"
grep '^RESULT ' "$log.txt" > "$log.got"
"$top/tests/guest/expected.py" "$n" "$forks" > "$log.want"
diff -u "$log.want" "$log.got" || fail "wrong workload results"
echo "ok: $(wc -l < "$log.got") results as expected"
