#!/bin/sh
# Benchmarks: the test workload inside Debian's ARM kernel, espt=off and
# espt=on of this build, side by side: each repetition runs every mode
# once, in turn, so that a noisy machine weighs on all of them alike.
#
#   tests/bench/run.sh [REPS]        (make bench; make bench QUICK=1)
#
# Writes build/bench/results.csv (rep, mode, kernel, phase, seconds) and
# build/bench/counters.txt (-d espt per run), then docs/benchmarks.md.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
reps=${1:-3}
out=$top/build/bench
mkdir -p "$out"
csv=$out/results.csv
echo "rep,mode,kernel,phase,seconds" > "$csv"
: > "$out/counters.txt"

for rep in $(seq 1 "$reps"); do
    for kernel in armmp armmp-lpae; do
        for mode in off on; do
            echo "bench: rep $rep/$reps, $kernel, espt=$mode" >&2
            log=$out/run-$rep-$kernel-$mode.log
            s=$(date +%s.%N)
            ESPT_QEMU_ARGS="-d espt" timeout 1800 \
                "$top/tests/guest/boot.sh" --arch arm --kernel "$kernel" \
                --espt "$mode" --run workload < /dev/null > "$log" 2>&1 || {
                echo "bench: the run failed, see $log" >&2; exit 1; }
            e=$(date +%s.%N)
            tr -d '\r' < "$log" | grep '^RESULT' > "$log.got"
            "$top/tests/guest/expected.py" > "$log.want"
            cmp -s "$log.got" "$log.want" || {
                echo "bench: wrong results, see $log" >&2; exit 1; }
            tr -d '\r' < "$log" | awk -v r="$rep" -v m="$mode" -v k="$kernel" \
                '/^TIME / { print r "," m "," k "," $2 "," $3 }' >> "$csv"
            awk -v a="$s" -v b="$e" -v r="$rep" -v m="$mode" -v k="$kernel" \
                'BEGIN { printf "%s,%s,%s,total,%.2f\n", r, m, k, b - a }' >> "$csv"
            grep '^espt:' "$log" | sed "s/^/$rep $kernel: /" \
                >> "$out/counters.txt" || true
        done
    done
done
python3 "$top/tests/bench/report.py" "$csv" "$out/counters.txt" \
    > "$top/docs/benchmarks.md"
echo "bench: wrote docs/benchmarks.md" >&2
