# qemu-espt: build, test and run.  ./configure first.
#
#   make            build qemu-system-arm and qemu-system-i386
#   make run        boot Debian's ARM kernel with a busybox shell that runs
#                   CMD (default: uname -a) and powers off
#   make check      run every test; the last line is "N passed, M failed"
#   make patches    write build/qemu's commits back to patches/
#   make bench      a SPEC-CINT-like suite of Debian programs in ARM and i386
#                   guests, every mode (espt=on/off, Debian's QEMU, user
#                   mode, native) side by side, about an hour (QUICK=1: a
#                   subset, a few minutes); needs root; results in
#                   docs/benchmarks.md
#   make checkpatch run QEMU's checkpatch.pl on patches/ and our files

SHELL := /bin/sh
# Let ccache share objects between checkouts in different directories.
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := 1
B := build/qemu-build
BINS := $(B)/qemu-system-arm $(B)/qemu-system-i386
ESPT ?= on
CMD ?= uname -a

.PHONY: all build run check bench patches checkpatch assets

all: build

build: $(B)/build.ninja
	@mk/tree.sh prepare
	@mk/tree.sh check
	ninja -C $(B) qemu-system-arm qemu-system-i386
	$(MAKE) -s -C $(B)/pc-bios/optionrom
	@mk/install-roms.sh $(B)

$(B)/build.ninja:
	@echo "make: run ./configure first" >&2; exit 1

assets:
	tests/guest/assets.sh

run: build assets
	tests/guest/boot.sh --arch arm --kernel armmp --espt $(ESPT) -- $(CMD)

check: build assets
	tests/run.sh

bench: build assets
	tests/bench/run.sh $(if $(QUICK),quick 1,full 3)

patches:
	mk/tree.sh export

checkpatch:
	mk/checkpatch.sh
