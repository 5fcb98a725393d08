#!/bin/sh
# A host with few mappings to spare: with -accel tcg,espt-maps=N far
# below what the workload wants, ESPT evicts windows to stay within N
# mmaps and the workload still gets every result right.
#
#   tests/functional/vma-limit.sh ARCH FLAVOUR MODE
set -eu
. "$(dirname "$0")/../lib.sh"

arch=$1 flavour=$2 mode=$3 maps=1024
need_mode "$arch" "$mode"
log_tag=vma-limit
ESPT_QEMU_ARGS="-d espt" boot_guest "$arch" "$flavour" 1 "$mode" workload \
    --accel-opts ",espt-maps=$maps,espt-youth=0"
grep '^RESULT ' "$log.txt" > "$log.got"
"$top/tests/guest/expected.py" > "$log.want"
diff -u "$log.want" "$log.got" || fail "wrong workload results"
echo "ok: $(wc -l < "$log.got") results as expected"
[ "$mode" = on ] || exit 0

# counter NAME: the value after NAME on the -d espt summary line
counter() {
    grep '^espt: ' "$log.txt" | sed -n "s/.* $1 \([0-9]*\).*/\1/p" | tail -1
}
budget=$(counter budget) peak=$(counter runs-peak)
evictions=$(counter evictions) faults=$(counter faults)
[ -n "$budget" ] || fail "no ESPT counters in $log.txt"
[ "$budget" -eq $maps ] || fail "budget $budget, not espt-maps=$maps"
[ "$peak" -le $maps ] || fail "$peak mmaps at once, more than $maps"
[ "$evictions" -gt 0 ] || fail "no window was evicted under espt-maps=$maps"
echo "ok: at most $peak of $maps mmaps, $evictions evictions, $faults faults"
