#!/bin/sh
# Run tests/bare/arm/mmu-test.c, a bare-metal ARMv7 program, on virt:
# translations, aborts with exact DFSR/DFAR/IFSR/IFAR, each TLB
# maintenance operation, ASID switches without flush, domains, LDRT/STRT,
# LDREX/STREX, self-modifying code, MMU off and on, MMIO through a page
# mapping, alignment checking on and off, one code page run at two
# virtual addresses.  Every check must pass; under espt=on, ESPT must
# have served it (host faults counted).
#
#   tests/functional/bare-arm.sh MODE
set -eu
. "$(dirname "$0")/../lib.sh"

mode=$1
need_mode arm "$mode"
d=$top/build/tests/bare-arm
mkdir -p "$d"
build_mmu_test "$d"

rc=0
timeout 120 "$(qemu_bin arm)" -M virt -cpu cortex-a15 -nographic \
    -no-reboot -kernel "$d/mmu-test.elf" -accel tcg,espt="$mode",espt-youth=0 \
    -d espt -D "$d/espt-$mode.log" < /dev/null > "$d/out-$mode.txt" 2>&1 ||
    rc=$?
[ $rc -ne 124 ] || fail "timed out; see $d/out-$mode.txt"
[ $rc -eq 0 ] || fail "QEMU exited $rc; see $d/out-$mode.txt"
check_bare bare-arm 36 "$d" "$mode"
