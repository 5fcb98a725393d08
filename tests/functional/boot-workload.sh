#!/bin/sh
# Boot one of Debian's kernels with the test initramfs, run the workload,
# and check it: every RESULT line as tests/guest/expected.py predicts, no
# panic or oops, a clean power-off, and no hang (generous timeout).
#
#   tests/functional/boot-workload.sh ARCH FLAVOUR SMP MODE
set -eu
. "$(dirname "$0")/../lib.sh"

need_mode "$1" "$4"
boot_guest "$1" "$2" "$3" "$4" workload
grep '^RESULT ' "$log.txt" > "$log.got"
"$top/tests/guest/expected.py" > "$log.want"
diff -u "$log.want" "$log.got" || fail "wrong workload results"
echo "ok: $(wc -l < "$log.got") results as expected"
