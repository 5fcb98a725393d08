#!/bin/sh
# A host SIGSEGV that is not an ESPT fault is the crash it is: QEMU dies
# of it, as stock QEMU does, and under espt=on says first where it was
# (host pc, guest pc, host backtrace) in a bounded report.  Sent twice to
# a running guest: to the vCPU thread (tgkill) and to the process (kill).
#
#   tests/functional/crash.sh ARCH MODE
set -eu
. "$(dirname "$0")/../lib.sh"

arch=$1 mode=$2
need_mode "$arch" "$mode"
q=$(qemu_bin "$arch")
case $arch in
arm) machine="-M virt -cpu cortex-a15" ;;
*) machine="-M pc" ;;
esac
err=$(mktemp)
trap 'rm -f "$err"' EXIT

for target in vcpu process; do
    rc=0
    # shellcheck disable=SC2086
    python3 - "$target" "$q" $machine -nodefaults -display none \
        -name crash,debug-threads=on -accel tcg,espt="$mode" \
        2> "$err" <<'EOF' || rc=$?
import ctypes, os, signal, subprocess, sys, time

target, argv = sys.argv[1], sys.argv[2:]
p = subprocess.Popen(argv, stdin=subprocess.DEVNULL)
time.sleep(2)
if p.poll() is not None:
    sys.exit("QEMU exited early with %d" % p.returncode)
if target == "process":
    os.kill(p.pid, signal.SIGSEGV)
else:
    tid = None
    for t in os.listdir("/proc/%d/task" % p.pid):
        with open("/proc/%d/task/%s/comm" % (p.pid, t)) as f:
            if f.read().startswith("CPU 0/TCG"):
                tid = int(t)
    if tid is None:
        p.kill()
        sys.exit("no vCPU thread named CPU 0/TCG")
    libc = ctypes.CDLL(None, use_errno=True)
    SYS_tgkill = 234
    if libc.syscall(SYS_tgkill, p.pid, tid, signal.SIGSEGV) != 0:
        p.kill()
        sys.exit("tgkill failed")
try:
    rc = p.wait(timeout=20)
except subprocess.TimeoutExpired:
    p.kill()
    sys.exit("QEMU was still running 20 s after SIGSEGV")
if rc != -signal.SIGSEGV:
    sys.exit("QEMU ended with %d, not by SIGSEGV" % rc)
EOF
    [ $rc -eq 0 ] || fail "$target: $(cat "$err")"
    [ -z "${CRASH_SHOW:-}" ] || cat "$err"
    if [ "$mode" = on ]; then
        grep -q "^qemu: host signal 11 sent by process [0-9]* at pc 0x[0-9a-f]*: not an ESPT fault$" "$err" ||
            fail "$target: no crash report: $(cat "$err")"
        [ "$(grep -c "not an ESPT fault" "$err")" -eq 1 ] ||
            fail "$target: the report repeats: $(head -20 "$err")"
        [ "$(wc -l < "$err")" -le 70 ] ||
            fail "$target: the report runs on: $(head -20 "$err")"
        if [ $target = vcpu ]; then
            grep -q "^qemu: guest pc 0x[0-9a-f]* (vCPU 0)$" "$err" ||
                fail "vcpu: the report lacks the guest pc: $(cat "$err")"
        fi
    fi
    echo "ok: SIGSEGV to the $target: QEMU died of it"
done
