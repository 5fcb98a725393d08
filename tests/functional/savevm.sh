#!/bin/sh
# savevm and loadvm on a qcow2 disk image, in the middle of the workload:
# stop the guest, savevm, let it go on for a while, stop it and loadvm in
# the same QEMU (the guest's memory and page tables change under it), and
# then start a second QEMU with -loadvm.  Both continuations must print
# the rest of the workload's results exactly.
#
#   tests/functional/savevm.sh ARCH FLAVOUR MODE
set -eu
. "$(dirname "$0")/../lib.sh"

arch=$1 flavour=$2 mode=$3
need_mode "$arch" "$mode"
d=$top/build/tests/savevm-$flavour-espt$mode
rm -rf "$d"
mkdir -p "$d"
qemu-img create -q -f qcow2 "$d/disk.qcow2" 64M ||
    fail "cannot create a qcow2 image with qemu-img"
disk="-drive if=none,id=vmstate,format=qcow2,file=$d/disk.qcow2"
mon=$d/mon.sock

# wait_for FILE PATTERN PID: until FILE holds a line matching PATTERN
wait_for() {
    i=0
    until tr -d '\r' < "$1" | grep -q "$2"; do
        i=$((i + 1))
        [ $i -lt 1200 ] || { kill "$3"; fail "no '$2' in $1"; }
        kill -0 "$3" 2>/dev/null || fail "QEMU died; see $1"
        sleep 0.5
    done
}

# stopped_at FILE: the console so far, once a stopped guest has drained it
stopped_at() {
    sleep 1
    tr -d '\r' < "$1"
}

ESPT_QEMU_ARGS="$disk -monitor unix:$mon,server=on,wait=off" \
    timeout 900 "$top/tests/guest/boot.sh" --arch "$arch" --kernel "$flavour" \
    --espt "$mode" --run workload < /dev/null > "$d/first.log" 2>&1 &
q=$!
wait_for "$d/first.log" '^TIME generate' $q
hmp "$mon" stop > /dev/null
stopped_at "$d/first.log" > "$d/before.txt"
hmp "$mon" "savevm mid" > /dev/null
i=0
until hmp "$mon" "info snapshots" | grep -q ' mid '; do
    i=$((i + 1))
    [ $i -lt 120 ] || { kill $q; fail "savevm did not finish"; }
    sleep 1
done
hmp "$mon" cont > /dev/null
# Run on until the sort phase is done, then go back to the snapshot.
wait_for "$d/first.log" '^TIME sort' $q
hmp "$mon" stop > /dev/null
n=$(stopped_at "$d/first.log" | wc -c)
hmp "$mon" "loadvm mid" > /dev/null
hmp "$mon" cont > /dev/null
wait $q || fail "the first QEMU exited $?; see $d/first.log"
tr -d '\r' < "$d/first.log" | tail -c +$((n + 1)) > "$d/after-loadvm.txt"

ESPT_QEMU_ARGS="$disk -loadvm mid" \
    timeout 900 "$top/tests/guest/boot.sh" --arch "$arch" --kernel "$flavour" \
    --espt "$mode" --run workload < /dev/null > "$d/second.log" 2>&1 ||
    fail "the second QEMU failed; see $d/second.log"
tr -d '\r' < "$d/second.log" > "$d/resumed.txt"
grep -q 'ESPT-GUEST: booted' "$d/resumed.txt" &&
    fail "-loadvm booted afresh instead of resuming; see $d/second.log"

"$top/tests/guest/expected.py" > "$d/want"
for run in after-loadvm resumed; do
    grep -q 'ESPT-GUEST: workload exit 0' "$d/$run.txt" ||
        fail "the workload did not finish after $run; see $d"
    cat "$d/before.txt" "$d/$run.txt" | grep '^RESULT ' > "$d/$run.got"
    diff -u "$d/want" "$d/$run.got" || fail "wrong results ($run)"
done
echo "ok: snapshot after $(grep -c '^RESULT' "$d/before.txt") results;" \
     "loadvm and -loadvm both finished with every result right"
