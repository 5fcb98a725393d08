# Shared by the test scripts: sourced, not run.
# Exit codes: 0 pass, 1 fail, 77 skip.

top=$(cd "$(dirname "$0")/../.." && pwd)
qemu_bin() {
    echo "$top/build/qemu-build/qemu-system-$1"
}

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# espt_available ARCH: does this build run espt=on for ARCH?
espt_available() {
    echo quit | "$(qemu_bin "$1")" -M none -nodefaults -display none \
        -monitor stdio -accel tcg,espt=on > /dev/null 2>&1
}

# need_mode ARCH MODE: skip the espt=on variant where ESPT is not built yet.
need_mode() {
    if [ "$2" = on ] && ! espt_available "$1"; then
        echo "SKIP: espt=on is not implemented for $1 yet"
        exit 77
    fi
}

# boot_guest ARCH FLAVOUR SMP MODE PROGRAM: boot one of Debian's kernels
# with the test initramfs, run /PROGRAM, and check the common part: no
# hang (a generous timeout), QEMU's exit status, no guest kernel error,
# the guest reached init with SMP cpus, PROGRAM exited 0, a clean power
# off.  The console log, without carriage returns, is in $log.txt.
boot_guest() {
    log=$top/build/tests/$5-$2-smp$3-espt$4.log
    mkdir -p "$(dirname "$log")"
    rc=0
    timeout 900 "$top/tests/guest/boot.sh" --arch "$1" --kernel "$2" \
        --smp "$3" --espt "$4" --run "$5" < /dev/null > "$log" 2>&1 || rc=$?
    tr -d '\r' < "$log" > "$log.txt"
    [ $rc -ne 124 ] || fail "timed out; see $log"
    [ $rc -eq 0 ] || fail "QEMU exited with $rc; see $log"
    if grep -E 'Kernel panic|Oops|BUG:|Unable to handle|segfault' "$log.txt"
    then
        fail "the guest kernel reported an error; see $log"
    fi
    grep -q "ESPT-GUEST: booted on .*, $3 cpus" "$log.txt" ||
        fail "the guest did not reach init with $3 cpus; see $log"
    grep -q "ESPT-GUEST: $5 exit 0" "$log.txt" ||
        fail "$5 did not finish successfully; see $log"
    grep -q 'reboot: Power down' "$log.txt" ||
        fail "the guest did not power off; see $log"
}
