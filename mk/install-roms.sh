#!/bin/sh
# Let the binaries in the build directory find their firmware without -L.
# Run from the build tree, QEMU looks for every firmware directory inside
# qemu-bundle: link the ones --firmwarepath names (Debian's seabios and
# ipxe-qemu) there, and put the option ROMs the build made (such as
# linuxboot_dma.bin, for -kernel on pc) beside the other data files.
set -eu
b=$(cd "$1" && pwd)
bundle=$b/qemu-bundle
for d in $("$b/qemu-system-i386" -L help); do
    sys=${d#"$bundle"}
    [ "$sys" != "$d" ] && [ ! -e "$d" ] && [ -d "$sys" ] || continue
    mkdir -p "$(dirname "$d")"
    ln -s "$sys" "$d"
done
d=$(find "$bundle" -path '*/share/qemu' -type d | head -1)
[ -n "$d" ] || { echo "mk/install-roms.sh: no qemu-bundle in $b" >&2; exit 1; }
for r in "$b"/pc-bios/optionrom/*.bin; do
    cmp -s "$r" "$d/${r##*/}" || cp "$r" "$d/"
done
