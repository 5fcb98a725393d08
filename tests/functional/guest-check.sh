#!/bin/sh
# Boot one of Debian's kernels and run tests/guest/espt-check.c in it:
# self-modifying code, aliases, mprotect with exact fault addresses,
# cross-page faults, remapping, copy-on-write, more address spaces than
# ESPT keeps windows for, floating-point compare flags, and on arm one
# address run as ARM and as Thumb code, the Q flag, NEON's lengthening
# instructions and the FPSCR of VFP compares.  Every check must pass.
#
#   tests/functional/guest-check.sh ARCH FLAVOUR SMP MODE
set -eu
. "$(dirname "$0")/../lib.sh"

need_mode "$1" "$4"
boot_guest "$1" "$2" "$3" "$4" espt-check --accel-opts ",espt-youth=0"
grep '^CHECK .* FAIL' "$log.txt" && fail "a guest check failed"
# Four checks more on arm: arm-thumb-same-pc, arm-q-flag, arm-neon-long
# and arm-vfp-compare.
case $1 in arm) n=13 ;; *) n=9 ;; esac
grep -q "^ESPT-CHECK: $n passed, 0 failed" "$log.txt" ||
    fail "the guest checks did not all run; see $log"
echo "ok: $(grep -c '^CHECK .* ok' "$log.txt") guest checks passed"
