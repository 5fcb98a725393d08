#!/bin/sh
# Assemble a benchmark guest's root file system from Debian 12's packages
# (apt-get download with dependencies, through mk/apt.sh, then dpkg -x),
# cached in build/bench/root-ARCH; then install the jobs and the inputs
# of SCALE into it and pack it as an uncompressed initramfs,
# build/bench/initrd-ARCH.cpio.  The same tree serves as the chroot of
# user mode and native runs.
#
#   tests/bench/rootfs.sh arm|i386 quick|full
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
arch=$1 scale=$2
case $arch in
arm) deb=armhf cc=arm-linux-gnueabihf-gcc ;;
i386) deb=i386 cc=i686-linux-gnu-gcc ;;
*) echo "rootfs.sh: ARCH must be arm or i386" >&2; exit 2 ;;
esac
b=$top/build/bench
r=$b/root-$arch
pkgs="dash coreutils tar gzip bzip2 xz-utils sed grep perl cpp-12 libc6-dev
      libgcc-12-dev gnugo stockfish x264 xsltproc sqlite3 glpk-utils
      libglpk-dev"

# shellcheck disable=SC2086
list=$(printf '%s ' $pkgs)
list=${list% }
if [ ! -f "$r/.done" ] || [ "$(cat "$r/.done")" != "$list" ]; then
    echo "rootfs.sh: fetching Debian 12 $deb packages"
    d=$b/debs-$deb
    mkdir -p "$d/partial"
    # shellcheck disable=SC2086
    "$top/mk/apt.sh" get install -d -y --no-install-recommends \
        -o APT::Architecture="$deb" -o Dir::Cache::archives="$d/" \
        $pkgs > "$b/apt-$deb.log" 2>&1 || {
        tail -5 "$b/apt-$deb.log" >&2
        echo "rootfs.sh: cannot download the $deb packages" \
             "(see build/bench/apt-$deb.log)" >&2
        exit 1
    }
    rm -rf "$r"
    mkdir -p "$r"
    for p in "$d"/*.deb; do
        dpkg-deb -x "$p" "$r"
    done
    find "$r" -name "*.a" -delete
    rm -rf "$r"/usr/share/doc/*/changelog* "$r"/usr/share/man \
        "$r"/usr/share/locale "$r"/usr/share/info
    mkdir -p "$r/bench/src" "$r/proc" "$r/sys" "$r/dev" "$r/tmp"
    cp -r "$r"/usr/share/doc/glpk-utils/examples/cplex \
        "$r"/usr/share/doc/glpk-utils/examples/oldapi \
        "$r"/usr/share/doc/glpk-utils/examples/tsp "$r/bench/src/"
    rm -rf "$r"/usr/share/doc
    ln -sf dash "$r/bin/sh"
    cp "$top/build/assets/busybox-$deb" "$r/bin/busybox"
    echo "$list" > "$r/.done"
fi

o=$b/osbench-$arch
src=$top/tests/bench/osbench.c
if [ ! -f "$o" ] || [ "$src" -nt "$o" ]; then
    "$cc" -O2 -static -Wall -Werror -o "$o.tmp" "$src" || {
        echo "rootfs.sh: cannot build $src with $cc" >&2; exit 1; }
    mv "$o.tmp" "$o"
fi
rm -rf "$r/bench/in"
python3 "$top/tests/bench/inputs.py" "$r/bench/in" "$scale"
for f in suite text.pl doc.xsl work.sql; do
    cp "$top/tests/bench/$f" "$r/bench/$f"
done
cp "$o" "$r/bench/osbench"
cp "$top/tests/bench/init" "$r/init"
chmod 755 "$r/init" "$r/bench/suite" "$r/bench/osbench"
(cd "$r" && find . ! -name .done | LC_ALL=C sort |
    cpio -o -H newc -R 0:0 --quiet) > "$b/initrd-$arch.cpio.tmp"
mv "$b/initrd-$arch.cpio.tmp" "$b/initrd-$arch.cpio"
