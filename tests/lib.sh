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

# boot_guest ARCH FLAVOUR SMP MODE PROGRAM [BOOT.SH OPTIONS]: boot one of
# Debian's kernels with the test initramfs, run /PROGRAM, and check the
# common part: no hang (a generous timeout), QEMU's exit status, no guest
# kernel error, the guest reached init with SMP cpus, PROGRAM exited 0, a
# clean power off.  The console log, without carriage returns, is in
# $log.txt; $log_tag, if set, names the log instead of PROGRAM.
boot_guest() {
    log=$top/build/tests/${log_tag:-$5}-$2-smp$3-espt$4.log
    mkdir -p "$(dirname "$log")"
    a=$1 k=$2 n=$3 m=$4 p=$5
    shift 5
    rc=0
    timeout 900 "$top/tests/guest/boot.sh" --arch "$a" --kernel "$k" \
        --smp "$n" --espt "$m" --run "$p" "$@" < /dev/null > "$log" 2>&1 ||
        rc=$?
    set -- "$a" "$k" "$n" "$m" "$p"
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

# hmp SOCKET COMMAND: one HMP command on a monitor's unix socket
# (-monitor unix:SOCKET,server=on,wait=off); prints what the monitor says.
hmp() {
    python3 - "$1" "$2" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(5)
time.sleep(0.2)
try:
    s.recv(65536)
except socket.timeout:
    pass
s.sendall(sys.argv[2].encode() + b"\n")
time.sleep(0.5)
out = b""
try:
    out = s.recv(65536)
except socket.timeout:
    pass
sys.stdout.write(out.decode(errors="replace"))
PY
}

# check_bare NAME N DIR MODE: the output of a bare-metal MMU test
# (DIR/out-MODE.txt, its -d espt log DIR/espt-MODE.log) has no failed
# check, exactly N passed ones and NAME's summary; under espt=on, ESPT
# served host faults, MMIO ones among them.
check_bare() {
    out=$3/out-$4.txt
    grep '^FAIL ' "$out" && fail "a check failed"
    ok=$(grep -c '^ok ' "$out" || true)
    [ "$ok" -eq "$2" ] || fail "$ok checks passed, not $2; see $out"
    grep -q "^$1: $(printf '0x%08x' "$2") passed, 0x00000000 failed" \
        "$out" || fail "no summary; see $out"
    if [ "$4" = on ]; then
        faults=$(sed -n 's/^espt: faults \([0-9]*\) .*/\1/p' \
                 "$3/espt-$4.log")
        [ "${faults:-0}" -gt 0 ] ||
            fail "ESPT served nothing; see $3/espt-$4.log"
        # The test reaches MMIO through a page mapping.
        mmio=$(sed -n 's/^espt: .* mmio-faults \([0-9]*\) .*/\1/p' \
               "$3/espt-$4.log")
        [ "${mmio:-0}" -gt 0 ] ||
            fail "no host fault counted as MMIO; see $3/espt-$4.log"
        echo "ok: $ok checks passed; ESPT: $faults host faults redirected," \
             "$mmio of them to MMIO"
    else
        echo "ok: $ok checks passed"
    fi
}

# build_mmu_test DIR: tests/bare/arm/mmu-test.c, the bare-metal ARMv7 MMU
# test, built (with debug information, for gdb) as DIR/mmu-test.elf.
build_mmu_test() {
    arm-none-eabi-gcc -mcpu=cortex-a15 -marm -O2 -g -ffreestanding \
        -nostdlib -Wall -Wextra -Werror -T "$top/tests/bare/arm/link.ld" \
        "$top/tests/bare/arm/start.S" "$top/tests/bare/arm/mmu-test.c" \
        -o "$1/mmu-test.elf" || fail "cannot build the bare-metal test"
}

# build_mmu_test_i386 DIR: tests/bare/i386/mmu-test.c, the bare-metal
# IA-32 MMU test, a Multiboot kernel built (with debug information, for
# gdb) as DIR/mmu-test.elf.
build_mmu_test_i386() {
    i686-linux-gnu-gcc -m32 -march=i686 -O2 -g -ffreestanding -nostdlib \
        -static -fno-pie -no-pie -fno-stack-protector -fcf-protection=none \
        -mgeneral-regs-only -fno-tree-loop-distribute-patterns \
        -Wall -Wextra -Werror -Wl,--build-id=none \
        -Wl,--no-warn-rwx-segments -T "$top/tests/bare/i386/link.ld" \
        "$top/tests/bare/i386/start.S" "$top/tests/bare/i386/mmu-test.c" \
        -o "$1/mmu-test.elf" || fail "cannot build the bare-metal i386 test"
}
