# Shared by the test scripts: sourced, not run.
# Exit codes: 0 pass, 1 fail, 77 skip.

top=$(cd "$(dirname "$0")/../.." && pwd)
qemu_bin() {
    echo "$top/build/qemu-build/qemu-system-$1"
}

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# espt_available ARCH: does this build run espt=on for ARCH?
espt_available() {
    echo quit | "$(qemu_bin "$1")" -M none -nodefaults -display none \
        -monitor stdio -accel tcg,espt=on > /dev/null 2>&1
}

# need_mode ARCH MODE: skip the espt=on variant where ESPT is not built yet.
need_mode() {
    if [ "$2" = on ] && ! espt_available "$1"; then
        echo "SKIP: espt=on is not implemented for $1 yet"
        exit 77
    fi
}
