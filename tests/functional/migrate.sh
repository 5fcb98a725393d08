#!/bin/sh
# Live-migrate a guest in the middle of the workload to a file (slowly,
# so that the guest keeps running and writing during several passes),
# start a second QEMU from it, and check that the workload's results,
# printed partly before and partly after, are right.
#
#   tests/functional/migrate.sh ARCH FLAVOUR MODE
set -eu
. "$(dirname "$0")/../lib.sh"

arch=$1 flavour=$2 mode=$3
need_mode "$arch" "$mode"
d=$top/build/tests/migrate-$flavour-espt$mode
rm -rf "$d"
mkdir -p "$d"


ESPT_QEMU_ARGS="-monitor unix:$d/mon.sock,server=on,wait=off" \
    timeout 900 "$top/tests/guest/boot.sh" --arch "$arch" --kernel "$flavour" \
    --espt "$mode" --run workload < /dev/null > "$d/source.log" 2>&1 &
src=$!
i=0
until grep -q '^TIME generate' "$d/source.log" 2>/dev/null; do
    i=$((i + 1))
    [ $i -lt 600 ] || { kill $src; fail "the workload did not start"; }
    kill -0 $src 2>/dev/null || fail "the source died; see $d/source.log"
    sleep 0.5
done
# Two seconds slowly, while the guest writes what was sent; then fast
# enough to converge in a few more passes, well before the workload ends.
hmp "$d/mon.sock" "migrate_set_parameter max-bandwidth 8M" > /dev/null
hmp "$d/mon.sock" "migrate -d exec:cat>$d/state.bin" > /dev/null
sleep 2
hmp "$d/mon.sock" "migrate_set_parameter downtime-limit 2000" > /dev/null
hmp "$d/mon.sock" "migrate_set_parameter max-bandwidth 4G" > /dev/null
i=0
until hmp "$d/mon.sock" "info migrate" |
        grep -q 'Migration status: completed'; do
    i=$((i + 1))
    kill -0 $src 2>/dev/null ||
        fail "the source ended before migrating; see $d/source.log"
    [ $i -lt 120 ] || { kill $src; fail "migration did not complete"; }
    sleep 1
done
syncs=$(hmp "$d/mon.sock" "info migrate" | tr -d '\r' |
        sed -n 's/^dirty sync count: //p')
[ "${syncs:-0}" -ge 2 ] ||
    fail "one pass over memory (${syncs:-none}): the guest did not run on"
hmp "$d/mon.sock" quit > /dev/null || true
wait $src || true

ESPT_QEMU_ARGS="-incoming exec:cat<$d/state.bin" \
    timeout 900 "$top/tests/guest/boot.sh" --arch "$arch" --kernel "$flavour" \
    --espt "$mode" --run workload < /dev/null > "$d/dest.log" 2>&1 ||
    fail "the destination failed; see $d/dest.log"
cat "$d/source.log" "$d/dest.log" | tr -d '\r' > "$d/all.txt"
grep -q 'ESPT-GUEST: booted' "$d/dest.log" &&
    fail "the destination booted afresh instead of resuming; see $d"
grep -q 'ESPT-GUEST: workload exit 0' "$d/dest.log" ||
    fail "the workload did not finish on the destination; see $d"
rm -f "$d/state.bin"
grep '^RESULT ' "$d/all.txt" > "$d/got"
"$top/tests/guest/expected.py" > "$d/want"
diff -u "$d/want" "$d/got" || fail "wrong workload results after migration"
echo "ok: migrated in $syncs passes after" \
     "$(grep -c "^RESULT" "$d/source.log") results;" \
     "$(wc -l < "$d/got") results as expected"
