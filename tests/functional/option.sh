#!/bin/sh
# -accel tcg,espt=...: listed by help, on/off accepted, anything else
# refused with one line.  With MODE, checks that espt=MODE starts and
# quits cleanly (or, for espt=on before ESPT exists for ARCH, is refused
# with one clear line).
#
#   tests/functional/option.sh ARCH MODE
set -eu
. "$(dirname "$0")/../lib.sh"

arch=$1 mode=$2
q=$(qemu_bin "$arch")
err=$(mktemp)
trap 'rm -f "$err"' EXIT

"$q" -accel tcg,help 2>&1 | grep -q '^  espt=<bool>' ||
    fail "-accel tcg,help does not list espt"

rc=0
echo quit | "$q" -M none -nodefaults -display none -monitor stdio \
    -accel tcg,espt=maybe > /dev/null 2> "$err" || rc=$?
[ $rc -ne 0 ] || fail "espt=maybe was accepted"
[ "$(wc -l < "$err")" -eq 1 ] || fail "espt=maybe: not one line: $(cat "$err")"
grep -q "espt" "$err" || fail "espt=maybe: message does not name espt"

# espt-maps: a number, 0 or at least the minimum; espt-youth: milliseconds,
# a number.  Anything else is refused in one line that names the option.
for bad in espt-maps=10 espt-maps=lots espt-maps=-1 espt-youth=soon \
           espt-youth=-5; do
    rc=0
    echo quit | "$q" -M none -nodefaults -display none -monitor stdio \
        -accel tcg,espt="$mode",$bad > /dev/null 2> "$err" || rc=$?
    [ $rc -ne 0 ] || fail "$bad was accepted"
    [ "$(wc -l < "$err")" -eq 1 ] || fail "$bad: not one line: $(cat "$err")"
    grep -q "${bad%%=*}" "$err" || fail "$bad: message does not name ${bad%%=*}"
done

rc=0
echo quit | "$q" -M none -nodefaults -display none -monitor stdio \
    -accel tcg,espt="$mode" > /dev/null 2> "$err" || rc=$?
if [ "$mode" = on ] && [ $rc -ne 0 ]; then
    [ "$(wc -l < "$err")" -eq 1 ] ||
        fail "espt=on refused, but not in one line: $(cat "$err")"
    grep -q "espt=on is not implemented yet for $arch guests" "$err" ||
        fail "espt=on refused for the wrong reason: $(cat "$err")"
    echo "ok: espt=on refused in one line: $(cat "$err")"
    exit 0
fi
[ $rc -eq 0 ] || fail "espt=$mode: exit $rc: $(cat "$err")"
[ ! -s "$err" ] || fail "espt=$mode: unexpected messages: $(cat "$err")"

# The HMP command shows the counters, or says ESPT is off.
want="espt: off"
[ "$mode" = on ] && want="espt: faults 0 (on read-only pages 0) maps 0 "
printf 'info espt\nquit\n' | "$q" -M none -nodefaults -display none \
    -monitor stdio -accel tcg,espt="$mode" 2>&1 | grep -q "^$want" ||
    fail "info espt does not show '$want'"
echo "ok: espt=$mode starts and quits; info espt answers"
