#!/bin/sh
# gdbstub under both modes: gdb-multiarch stops tests/bare/arm/mmu-test.c
# at a breakpoint once the MMU is on and its data pages are in use, sets
# a write watchpoint on a counter, then a read watchpoint, and lets the
# program finish.  Every stop must come with the values gdb expects, and
# gdb's whole transcript must not depend on the mode.
#
#   tests/functional/gdb-watch.sh MODE
set -eu
. "$(dirname "$0")/../lib.sh"

mode=$1
need_mode arm "$mode"
d=$top/build/tests/gdb-watch
mkdir -p "$d"
build_mmu_test "$d"

port=$(python3 -c 'import socket; s = socket.socket(); \
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
timeout 120 "$(qemu_bin arm)" -M virt -cpu cortex-a15 -nographic \
    -no-reboot -kernel "$d/mmu-test.elf" -accel tcg,espt="$mode" \
    -S -gdb tcp:127.0.0.1:"$port" -d espt -D "$d/espt-$mode.log" \
    < /dev/null > "$d/out-$mode.txt" 2>&1 &
qemu=$!
# Wait until the gdbstub listens.  QEMU's gdbstub takes one client at a
# time and forgets one that has closed, so this probe does not disturb
# gdb's connection.
python3 - "$port" <<'PY' || { kill $qemu; fail "the gdbstub did not listen"; }
import socket, sys, time
for _ in range(200):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1]))).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
PY
cat > "$d/cmds" <<CMDS
set pagination off
set confirm off
target remote 127.0.0.1:$port
break check
ignore 1 4
continue
print nb_ok
delete
watch nb_ok
continue
continue
delete
rwatch dabt_fsr
continue
delete
continue
CMDS
rc=0
timeout 100 gdb-multiarch -q -batch -x "$d/cmds" "$d/mmu-test.elf" \
    > "$d/gdb-$mode.txt" 2>&1 || rc=$?
qrc=0
wait $qemu || qrc=$?
[ $qrc -eq 0 ] || fail "QEMU exited $qrc; see $d/out-$mode.txt"
[ $rc -eq 0 ] || fail "gdb exited $rc; see $d/gdb-$mode.txt"
sed -e 's/ at [^ ]*mmu-test.c:/ at mmu-test.c:/' -e '/start.S/d' \
    -e '/^_start /d' "$d/gdb-$mode.txt" > "$d/gdb-$mode.got"

# The counter is written once per check, so each write stop is one more;
# the read stop is the abort handler's status, read after an abort.
n=$(sed -n 's/^\$1 = \([0-9]*\)$/\1/p' "$d/gdb-$mode.got")
[ -n "$n" ] || fail "the breakpoint did not stop; see $d/gdb-$mode.txt"
printf 'Old value = %s\nNew value = %s\nOld value = %s\nNew value = %s\n' \
    "$n" $((n + 1)) $((n + 1)) $((n + 2)) > "$d/want"
grep -E '^(Old|New) value' "$d/gdb-$mode.got" | diff -u "$d/want" - ||
    fail "the write watchpoint did not stop as it should"
grep -q '^Hardware read watchpoint 3: dabt_fsr' "$d/gdb-$mode.got" &&
    grep -q '^Value = ' "$d/gdb-$mode.got" ||
    fail "the read watchpoint did not stop; see $d/gdb-$mode.txt"
grep -q 'exited normally' "$d/gdb-$mode.got" ||
    fail "the program did not finish under gdb; see $d/gdb-$mode.txt"
grep -q '^bare-arm: 0x00000024 passed, 0x00000000 failed' \
    "$d/out-$mode.txt" || fail "the program's checks failed under gdb"
if [ "$mode" = on ]; then
    other=$d/gdb-off.got
else
    other=$d/gdb-on.got
fi
# Compare with the other mode's transcript if it comes from this program.
md5sum < "$d/mmu-test.elf" > "$d/gdb-$mode.elf.md5"
if [ -f "$other" ] && cmp -s "$d/gdb-$mode.elf.md5" "${other%.got}.elf.md5"
then
    diff -u "$other" "$d/gdb-$mode.got" ||
        fail "gdb saw something else with espt=$mode"
fi
if [ "$mode" = on ]; then
    faults=$(sed -n 's/^espt: faults \([0-9]*\) .*/\1/p' "$d/espt-on.log")
    [ "${faults:-0}" -gt 0 ] || fail "ESPT served nothing; see $d/espt-on.log"
fi
echo "ok: breakpoint, write and read watchpoints stopped as expected"
