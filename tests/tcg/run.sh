#!/bin/sh
# QEMU's own system-mode TCG tests (tests/tcg/ARCH, tests/tcg/multiarch
# system tests such as memory) for one target, run with espt=MODE.
#
#   tests/tcg/run.sh ARCH MODE
set -eu
. "$(dirname "$0")/../lib.sh"

arch=$1 mode=$2
need_mode "$arch" "$mode"
b=$top/build/qemu-build
log=$top/build/tests/tcg-$arch-espt$mode.log
mkdir -p "$(dirname "$log")"

# The tests call $(QEMU) with their own options: a wrapper adds ours.
# (run-test.py tells system mode by "system" in the binary name)
w=$top/build/tests/qemu-system-$arch-espt$mode
cat > "$w" <<WRAP
#!/bin/sh
exec $(qemu_bin "$arch") -accel tcg,espt=$mode "\$@"
WRAP
chmod +x "$w"

rc=0
ninja -C "$b" test-plugins > "$log" 2>&1 || fail "cannot build the test plugins"
make -C "$b" -j2 "run-tcg-tests-$arch-softmmu" QEMU="$w" V=1 \
    >> "$log" 2>&1 || rc=$?
ran=$(grep -c -- "$w " "$log" || true)
if [ $rc -ne 0 ]; then
    grep -E 'FAIL|Error|error:|timed out' "$log" | tail -10 >&2
    fail "QEMU's tcg tests for $arch failed; see $log"
fi
echo "ok: $ran runs; see $log"
