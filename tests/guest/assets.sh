#!/bin/sh
# Fetch the guests' Debian packages with apt-get download (through
# mk/apt.sh's private configuration) and build the test initramfs images.
# Everything is cached under build/assets; a second run fetches nothing.
#
#   build/assets/<flavour>/vmlinuz    armmp, armmp-lpae (armhf); 686, 686-pae (i386)
#   build/assets/initrd-<arch>.gz     busybox-static, tests/guest/{init,workload}
#                                     and tests/guest/espt-check.c, built static
#   build/assets/initrd-stress-<arch>.gz  the same, plus stress-ng with the
#                                     libraries it needs and tests/guest/stress
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
a=$top/build/assets
mkdir -p "$a/debs"

# The kernel package the metapackage $1 depends on, e.g. linux-image-6.1.0-50-armmp
kernel_pkg() {
    "$top/mk/apt.sh" cache show "$1" 2>/dev/null |
        sed -n 's/^Depends: \(linux-image-[^ ,]*\).*/\1/p' | head -1
}

fetch() {
    # fetch PKG:ARCH -> path of the downloaded .deb
    (cd "$a/debs" && "$top/mk/apt.sh" get download "$1" > /dev/null 2>&1) || {
        echo "assets.sh: package $1 is not available from the archive" >&2
        exit 1
    }
    ls -t "$a/debs/${1%%:*}_"*"_${1##*:}.deb" | head -1
}

kernel() {
    # kernel FLAVOUR ARCH
    [ -f "$a/$1/vmlinuz" ] && return 0
    pkg=$(kernel_pkg "linux-image-$1:$2")
    [ -n "$pkg" ] || {
        echo "assets.sh: package linux-image-$1:$2 is not available" >&2
        exit 1
    }
    echo "assets.sh: fetching $pkg:$2"
    deb=$(fetch "$pkg:$2")
    rm -rf "$a/$1.tmp"
    mkdir -p "$a/$1.tmp"
    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$a/$1.tmp" --wildcards \
        './boot/vmlinuz-*'
    mkdir -p "$a/$1"
    mv "$a/$1.tmp"/boot/vmlinuz-* "$a/$1/vmlinuz"
    echo "$pkg $(dpkg-deb -f "$deb" Version)" > "$a/$1/version"
    rm -rf "$a/$1.tmp" "$deb"
}

# The guest check program, built static with Debian's cross compiler.
check_prog() {
    # check_prog DEBARCH COMPILER
    out=$a/espt-check-$1
    src=$top/tests/guest/espt-check.c
    [ -f "$out" ] && [ "$out" -nt "$src" ] && return 0
    "$2" -O2 -static -Wall -Werror -o "$out.tmp" "$src" || {
        echo "assets.sh: cannot build $src with $2" >&2; exit 1; }
    mv "$out.tmp" "$out"
}

initrd() {
    # initrd ARCH DEBARCH
    out=$a/initrd-$1.gz
    if [ -f "$out" ] && [ "$out" -nt "$top/tests/guest/init" ] &&
       [ "$out" -nt "$top/tests/guest/workload" ] &&
       [ "$out" -nt "$a/espt-check-$2" ]; then
        return 0
    fi
    bb=$a/busybox-$2
    if [ ! -f "$bb" ]; then
        echo "assets.sh: fetching busybox-static:$2"
        deb=$(fetch "busybox-static:$2")
        rm -rf "$a/bb.tmp"
        mkdir -p "$a/bb.tmp"
        dpkg-deb -x "$deb" "$a/bb.tmp"
        mv "$a/bb.tmp/bin/busybox" "$bb"
        rm -rf "$a/bb.tmp" "$deb"
    fi
    r=$a/root-$1
    rm -rf "$r"
    mkdir -p "$r/bin" "$r/dev"
    cp "$bb" "$r/bin/busybox"
    cp "$top/tests/guest/init" "$r/init"
    cp "$top/tests/guest/workload" "$r/workload"
    cp "$a/espt-check-$2" "$r/espt-check"
    chmod 755 "$r/init" "$r/workload" "$r/espt-check" "$r/bin/busybox"
    (cd "$r" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) |
        gzip -9 > "$out.tmp"
    mv "$out.tmp" "$out"
    rm -rf "$r"
}

# The packages PKG:DEBARCH needs at run time, itself included.
closure() {
    "$top/mk/apt.sh" cache depends --recurse --no-recommends --no-suggests \
        --no-conflicts --no-breaks --no-replaces --no-enhances "$1" \
        2>/dev/null | sed -n "s/^\([a-z0-9][^ <>]*:$2\)\$/\1/p" | sort -u
}

# initrd-stress-ARCH.gz: the test initramfs with stress-ng appended (the
# kernel unpacks concatenated archives in order).
stress_initrd() {
    # stress_initrd ARCH DEBARCH
    out=$a/initrd-stress-$1.gz
    if [ -f "$out" ] && [ "$out" -nt "$a/initrd-$1.gz" ] &&
       [ "$out" -nt "$top/tests/guest/stress" ]; then
        return 0
    fi
    r=$a/stress-$1
    if [ ! -x "$r/usr/bin/stress-ng" ]; then
        pkgs=$(closure "stress-ng:$2" "$2")
        [ -n "$pkgs" ] || {
            echo "assets.sh: package stress-ng:$2 is not available" >&2
            exit 1
        }
        echo "assets.sh: fetching stress-ng:$2 and" \
             "$(($(echo "$pkgs" | wc -l) - 1)) libraries"
        rm -rf "$a/debs/stress" "$r"
        mkdir -p "$a/debs/stress" "$r"
        # shellcheck disable=SC2086
        (cd "$a/debs/stress" &&
         "$top/mk/apt.sh" get download $pkgs > /dev/null 2>&1) || {
            echo "assets.sh: cannot download stress-ng:$2 and its" \
                 "libraries:" $pkgs >&2
            exit 1
        }
        for deb in "$a/debs/stress"/*.deb; do
            dpkg-deb -x "$deb" "$r"
        done
        rm -rf "$a/debs/stress" "$r/usr/share"
    fi
    cp "$top/tests/guest/stress" "$r/stress"
    chmod 755 "$r/stress"
    (cd "$r" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) |
        gzip -9 > "$out.tmp"
    cat "$a/initrd-$1.gz" "$out.tmp" > "$out"
    rm -f "$out.tmp"
}

kernel armmp armhf
kernel armmp-lpae armhf
kernel 686 i386
kernel 686-pae i386
check_prog armhf arm-linux-gnueabihf-gcc
check_prog i386 i686-linux-gnu-gcc
initrd arm armhf
initrd i386 i386
stress_initrd arm armhf
stress_initrd i386 i386
