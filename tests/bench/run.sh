#!/bin/sh
# Benchmarks: a SPEC-CINT-like suite of Debian 12's programs, and OS-heavy
# jobs, in ARM and i386 guests, every mode side by side (tests/bench/run.py
# says which), then docs/benchmarks.md and docs/benchmarks.png.
#
#   tests/bench/run.sh quick|full [REPS]     (make bench QUICK=1; make bench)
#
# Needs root: the user mode and native runs use chroot, mount and
# binfmt_misc.  Results: build/bench/results.csv, copied to
# docs/benchmarks.csv.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
scale=${1:-full}
reps=${2:-3}
case $scale in
quick) jobs="perlbench bzip2 gcc sjeng sqlite3 forkexec pagefault pipe tar
             memloop" ;;
full) jobs="perlbench bzip2 xz gcc gobmk sjeng h264ref xalancbmk sqlite3 mcf
            forkexec pagefault pipe tar memloop" ;;
*) echo "run.sh: the scale is quick or full" >&2; exit 2 ;;
esac
[ "$(id -u)" = 0 ] || {
    echo "run.sh: the benchmarks need root (chroot, mount, binfmt_misc)" >&2
    exit 1
}
"$top/mk/bench-deps.sh"
out=$top/build/bench
mkdir -p "$out"
for arch in arm i386; do
    "$top/tests/bench/rootfs.sh" "$arch" "$scale"
done
s=$(date +%s)
# shellcheck disable=SC2086
/usr/bin/python3 "$top/tests/bench/run.py" "$out" "$reps" $jobs || {
    echo "run.sh: the benchmarks failed; nothing reported" >&2; exit 1; }
e=$(date +%s)
/usr/bin/python3 "$top/tests/bench/report.py" "$out/results.csv" \
    "$scale" "$reps" "$((e - s))" "$top/docs/benchmarks.png" \
    > "$top/docs/benchmarks.md.tmp"
mv "$top/docs/benchmarks.md.tmp" "$top/docs/benchmarks.md"
cp "$out/results.csv" "$top/docs/benchmarks.csv"
echo "run.sh: $((e - s)) s; wrote docs/benchmarks.md, docs/benchmarks.png" \
     "and docs/benchmarks.csv" >&2
