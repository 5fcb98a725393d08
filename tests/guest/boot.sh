#!/bin/sh
# Boot a test guest: one of Debian's kernels with the busybox initramfs.
#
#   tests/guest/boot.sh --arch arm|i386 --kernel FLAVOUR [--espt on|off]
#       [--smp N] [--mem MB] [--run workload] [--qemu BINARY]
#       [--accel-opts ,OPT=VAL...] [--initrd FILE] [-- COMMAND...]
#
# With --run, the guest runs /workload and powers off; with COMMAND, it
# runs COMMAND at its shell prompt and powers off; with neither, the
# console is an interactive shell.  The serial console is stdout.
# --initrd replaces build/assets/initrd-ARCH.gz; --accel-opts is appended
# to -accel tcg,espt=MODE.  ESPT_QEMU_ARGS, if set, is appended to QEMU's
# command line.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
arch= kernel= espt=off smp=1 mem=512 run= qemu= aopts= initrd=
while [ $# -gt 0 ]; do
    case $1 in
    --arch) arch=$2; shift 2 ;;
    --kernel) kernel=$2; shift 2 ;;
    --espt) espt=$2; shift 2 ;;
    --smp) smp=$2; shift 2 ;;
    --mem) mem=$2; shift 2 ;;
    --run) run=$2; shift 2 ;;
    --qemu) qemu=$2; shift 2 ;;
    --accel-opts) aopts=$2; shift 2 ;;
    --initrd) initrd=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "boot.sh: unknown option $1" >&2; exit 2 ;;
    esac
done

a=$top/build/assets
case $arch in
arm)
    set -- -M virt -cpu cortex-a15 -append "console=ttyAMA0 quiet \
espt.run=$run espt.cmd=$(printf '%s' "$*" | base64 -w0)" ;;
i386)
    set -- -M pc -append "console=ttyS0 quiet \
espt.run=$run espt.cmd=$(printf '%s' "$*" | base64 -w0)" ;;
*)
    echo "boot.sh: --arch must be arm or i386" >&2; exit 2 ;;
esac
[ -f "$a/$kernel/vmlinuz" ] || {
    echo "boot.sh: no kernel $kernel; run tests/guest/assets.sh" >&2; exit 2; }
: "${qemu:=$top/build/qemu-build/qemu-system-$arch}"
: "${initrd:=$a/initrd-$arch.gz}"

# shellcheck disable=SC2086
exec "$qemu" "$@" -m "$mem" -smp "$smp" -nographic -no-reboot \
    -kernel "$a/$kernel/vmlinuz" -initrd "$initrd" \
    -accel tcg,espt="$espt$aopts" ${ESPT_QEMU_ARGS:-}
