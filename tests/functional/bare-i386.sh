#!/bin/sh
# Run tests/bare/i386/mmu-test.c, a bare-metal IA-32 program (a Multiboot
# kernel), on pc: 2-level paging with 4 KiB and 4 MiB pages, PAE with
# 4 KiB and 2 MiB pages and NX, page faults with exact CR2, error code
# and EIP (not present, user, read-only with WP on and off, NX, reserved
# bits, SMEP, SMAP), accessed and dirty bits, INVLPG, CR3 switches with
# global pages (data and code), page tables written while their address
# space is not current, 64 address spaces, self-modifying code on a page
# of data, MMIO through a page mapping, and one address run as 16-bit
# and as 32-bit code.  Every check must pass; under
# espt=on, ESPT must have served it (host faults counted).
#
#   tests/functional/bare-i386.sh MODE
set -eu
. "$(dirname "$0")/../lib.sh"

mode=$1
need_mode i386 "$mode"
d=$top/build/tests/bare-i386
mkdir -p "$d"
build_mmu_test_i386 "$d"

# The program ends by writing 0 (every check passed) or 1 to
# isa-debug-exit, which makes QEMU exit with 1 or 3; 0 means that the
# guest reset (a triple fault, with -no-reboot) before it got there.
rc=0
timeout 120 "$(qemu_bin i386)" -M pc -cpu max -nographic -no-reboot \
    -device isa-debug-exit,iobase=0xf4,iosize=4 \
    -kernel "$d/mmu-test.elf" -accel tcg,espt="$mode",espt-youth=0 \
    -d espt -D "$d/espt-$mode.log" < /dev/null > "$d/out-$mode.txt" 2>&1 ||
    rc=$?
[ $rc -ne 124 ] || fail "timed out; see $d/out-$mode.txt"
grep '^FAIL ' "$d/out-$mode.txt" && fail "a check failed"
[ $rc -eq 1 ] || fail "QEMU exited $rc, not 1; see $d/out-$mode.txt"
check_bare bare-i386 84 "$d" "$mode"
