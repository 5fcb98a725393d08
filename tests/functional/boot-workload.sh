#!/bin/sh
# Boot one of Debian's kernels with the test initramfs, run the workload,
# and check it: every RESULT line as tests/guest/expected.py predicts, no
# panic or oops, a clean power-off, and no hang (generous timeout).
#
#   tests/functional/boot-workload.sh ARCH FLAVOUR SMP MODE
set -eu
. "$(dirname "$0")/../lib.sh"

need_mode "$1" "$4"
ESPT_QEMU_ARGS="-d espt" boot_guest "$1" "$2" "$3" "$4" workload
grep '^RESULT ' "$log.txt" > "$log.got"
"$top/tests/guest/expected.py" > "$log.want"
diff -u "$log.want" "$log.got" || fail "wrong workload results"
echo "ok: $(wc -l < "$log.got") results as expected"
[ "$4" = on ] || exit 0

# New address spaces run without ESPT until they have run espt-youth ms;
# the workload's long phases grow up and get windows.
young=$(sed -n 's/^espt: .* young-regimes \([0-9]*\) .*/\1/p' "$log.txt")
grown=$(sed -n 's/^espt: .* grown-regimes \([0-9]*\).*/\1/p' "$log.txt")
[ "${young:-0}" -gt 0 ] || fail "no regime began young; see $log.txt"
[ "${grown:-0}" -gt 0 ] || fail "no young regime grew up; see $log.txt"
faults=$(sed -n 's/^espt: faults \([0-9]*\) .*/\1/p' "$log.txt")
[ "${faults:-0}" -gt 0 ] || fail "ESPT served no access; see $log.txt"
echo "ok: $young regimes began young, $grown grew up; $faults host faults"
