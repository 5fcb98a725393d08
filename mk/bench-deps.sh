#!/bin/sh
# Install, where missing, the host packages the benchmarks need: Debian's
# own QEMU (system and user mode) to compare with, cpio for the guests'
# root filesystems, and matplotlib for the chart.  Called by
# tests/bench/run.sh, not by make check or ./configure.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
exec "$top/mk/deps.sh" qemu-system-arm qemu-system-x86 qemu-user-static \
    python3-matplotlib cpio
