#!/bin/sh
# Run QEMU's checkpatch.pl on every patch of the series and on every file
# this repository adds at a QEMU path.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cp=$top/build/qemu/scripts/checkpatch.pl
[ -x "$cp" ] || { echo "mk/checkpatch.sh: run ./configure first" >&2; exit 1; }
bad=0
for p in $(cat "$top/patches/series"); do
    "$cp" -q --root "$top/build/qemu" --patch "$top/patches/$p" || { echo "  in patches/$p"; bad=1; }
done
cd "$top"
for f in $(git ls-files accel hw include system target tcg util \
             'tests/bare/*.[ch]'); do
    "$cp" -q --root "$top/build/qemu" --file "$f" || { echo "  in $f"; bad=1; }
done
[ $bad -eq 0 ] && echo "mk/checkpatch.sh: clean"
exit $bad
