#!/bin/sh
# Put the option ROMs the build made (linuxboot_dma.bin, for -kernel on
# pc) where the binaries in the build directory look for firmware, beside
# what --firmwarepath finds in Debian's seabios and ipxe-qemu packages.
set -eu
b=$1
d=$(find "$b/qemu-bundle" -type d -path '*/share/qemu' | head -1)
[ -n "$d" ] || { echo "mk/install-roms.sh: no qemu-bundle in $b" >&2; exit 1; }
for r in "$b"/pc-bios/optionrom/*.bin; do
    cmp -s "$r" "$d/${r##*/}" || cp "$r" "$d/"
done
