#!/bin/sh
# Run every test of qemu-espt, each in both modes (espt=on and espt=off),
# and end with one line: "N passed, M failed" (skipped tests are counted
# on the line before it).
#
#   tests/run.sh [PATTERN]     only the tests whose name contains PATTERN
#
# Logs go to build/tests/.  A test exits 0 (pass), 77 (skip) or else (fail).
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
filter=${1:-}
logs=$top/build/tests
mkdir -p "$logs"
pass=0 failed=0 skip=0 failures=

# name | command (the mode is appended)
tests() {
    cat <<'LIST'
option-arm             tests/functional/option.sh arm
option-i386            tests/functional/option.sh i386
crash-arm              tests/functional/crash.sh arm
crash-i386             tests/functional/crash.sh i386
tcg-arm                tests/tcg/run.sh arm
tcg-i386               tests/tcg/run.sh i386
bare-arm               tests/functional/bare-arm.sh
bare-i386              tests/functional/bare-i386.sh
gdb-watch              tests/functional/gdb-watch.sh
boot-armmp             tests/functional/boot-workload.sh arm armmp 1
boot-armmp-lpae        tests/functional/boot-workload.sh arm armmp-lpae 1
boot-armmp-lpae-smp2   tests/functional/boot-workload.sh arm armmp-lpae 2
boot-686               tests/functional/boot-workload.sh i386 686 1
boot-686-pae           tests/functional/boot-workload.sh i386 686-pae 1
boot-686-pae-smp2      tests/functional/boot-workload.sh i386 686-pae 2
check-armmp            tests/functional/guest-check.sh arm armmp 1
check-armmp-lpae-smp2  tests/functional/guest-check.sh arm armmp-lpae 2
check-686              tests/functional/guest-check.sh i386 686 1
check-686-pae-smp2     tests/functional/guest-check.sh i386 686-pae 2
vma-limit-armmp        tests/functional/vma-limit.sh arm armmp
vma-limit-686          tests/functional/vma-limit.sh i386 686
rr-armmp               tests/functional/record-replay.sh arm armmp
rr-686                 tests/functional/record-replay.sh i386 686
migrate-armmp          tests/functional/migrate.sh arm armmp
migrate-686            tests/functional/migrate.sh i386 686
savevm-armmp           tests/functional/savevm.sh arm armmp
savevm-686             tests/functional/savevm.sh i386 686
stress-armmp-lpae-smp2 tests/functional/stress.sh arm armmp-lpae 2
stress-686-pae-smp2    tests/functional/stress.sh i386 686-pae 2
LIST
}

tests > "$logs/list"
while read -r name cmd; do
    case $name in *"$filter"*) ;; *) continue ;; esac
    for mode in off on; do
        t="$name [espt=$mode]"
        start=$(date +%s)
        rc=0
        # shellcheck disable=SC2086
        (cd "$top" && $cmd $mode) < /dev/null > "$logs/$name-$mode.out" 2>&1 ||
            rc=$?
        secs=$(( $(date +%s) - start ))
        case $rc in
        0) pass=$((pass + 1)); echo "PASS $t (${secs}s)" ;;
        77) skip=$((skip + 1)); echo "SKIP $t: $(tail -1 "$logs/$name-$mode.out")" ;;
        *) failed=$((failed + 1)); failures="$failures
  $t: build/tests/$name-$mode.out"
           echo "FAIL $t (${secs}s)"; sed 's/^/    /' "$logs/$name-$mode.out" | tail -15 ;;
        esac
    done
done < "$logs/list"

[ -z "$failures" ] || printf 'failures:%s\n' "$failures"
echo "$skip skipped"
echo "$pass passed, $failed failed"
[ "$failed" -eq 0 ]
