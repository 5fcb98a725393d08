#!/bin/sh
# The prepared QEMU tree, build/qemu: a git repository whose first commit
# is the pinned base as fetched and whose next commits are patches/, one
# each; the files this repository adds at QEMU paths are linked into it.
#
#   mk/tree.sh prepare   create it, or re-create it when patches/ changed
#                        and the tree holds nothing patches/ lacks
#   mk/tree.sh link      link our files into it
#   mk/tree.sh export    write its commits back to patches/ (make patches)
#   mk/tree.sh check     say so when it holds work patches/ does not
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
tree=$top/build/qemu
stamp=$tree/.git/espt-series
. "$top/base/qemu.conf"

# The directories holding files we add at their QEMU paths.
qemu_dirs="accel hw include system target tcg util"

git_t() {
    git -C "$tree" -c user.name="${GIT_AUTHOR_NAME:-qemu-espt}" \
        -c user.email="${GIT_AUTHOR_EMAIL:-qemu-espt@localhost}" \
        -c core.autocrlf=false "$@"
}

series_hash() {
    # The series as patches/ holds it.
    (cd "$top/patches" && cat series $(cat series)) | sha256sum | cut -d' ' -f1
}

tree_hash() {
    # The series as the prepared tree's commits would write it.
    t=$(mktemp -d)
    git_t format-patch -q --zero-commit --no-signature -o "$t" \
        espt-base..HEAD
    (cd "$t" && ls | grep '\.patch$' > series || true
     cat series $(cat series)) | sha256sum | cut -d' ' -f1
    rm -rf "$t"
}

dirty() {
    [ -n "$(git_t status --porcelain --untracked-files=no)" ]
}

do_link() {
    cd "$top"
    for f in $(git ls-files $qemu_dirs 2>/dev/null; \
               find $qemu_dirs -type f 2>/dev/null) ; do
        [ -f "$f" ] || continue
        dst=$tree/$f
        [ -L "$dst" ] && continue
        if [ -e "$dst" ]; then
            echo "mk/tree.sh: $f exists in the QEMU base; our files" \
                 "must not shadow QEMU's" >&2
            exit 1
        fi
        mkdir -p "$(dirname "$dst")"
        ln -s "$(realpath --relative-to="$(dirname "$dst")" "$top/$f")" "$dst"
        echo "/$f" >> "$tree/.git/info/exclude"
    done
}

do_prepare() {
    if [ -d "$tree/.git" ]; then
        s=$(cat "$stamp" 2>/dev/null || echo none)
        [ "$s" = "$(series_hash)" ] && { do_link; return 0; }
        if dirty || [ "$(tree_hash)" != "$s" ]; then
            echo "mk/tree.sh: patches/ changed, and build/qemu holds work" \
                 "that patches/ does not: merge by hand (see" \
                 "docs/development.md)" >&2
            exit 1
        fi
        echo "mk/tree.sh: patches/ changed; preparing build/qemu again"
    fi
    "$top/base/fetch.sh"
    rm -rf "$tree.new"
    dpkg-source --no-check -x "$top/build/dl/"*.dsc "$tree.new" \
        > "$top/build/dl/unpack.log" 2>&1 ||
        { echo "mk/tree.sh: dpkg-source failed, see build/dl/unpack.log" >&2;
          exit 1; }
    rm -rf "$tree.new/.pc" "$top/build/"*.orig.tar.*
    git -C "$tree.new" init -q
    tree=$tree.new
    git_t add -A
    GIT_AUTHOR_DATE="2000-01-01T00:00:00Z" git_t commit -q \
        -m "base: QEMU $QEMU_UPSTREAM_VERSION (Debian $QEMU_SRC_VERSION)"
    git_t tag espt-base
    for p in $(cat "$top/patches/series"); do
        git_t am -q --keep-cr "$top/patches/$p" ||
            { echo "mk/tree.sh: patches/$p does not apply" >&2; exit 1; }
    done
    tree=${tree%.new}
    if [ -d "$tree" ]; then
        # Keep QEMU's build directory: only the sources are replaced.
        rm -rf "$tree.old"
        mv "$tree" "$tree.old"
    fi
    mv "$tree.new" "$tree"
    rm -rf "$tree.old"
    series_hash > "$stamp"
    do_link
}

do_export() {
    if dirty; then
        echo "mk/tree.sh: build/qemu has uncommitted changes; commit them" \
             "there first" >&2
        exit 1
    fi
    t=$(mktemp -d)
    git_t format-patch -q --zero-commit --no-signature -o "$t" \
        espt-base..HEAD
    (cd "$t" && ls | grep '\.patch$' > series || true)
    rm -f "$top"/patches/*.patch "$top/patches/series"
    cp "$t"/* "$top/patches/"
    rm -rf "$t"
    series_hash > "$stamp"
    echo "mk/tree.sh: patches/ now holds $(wc -l < "$top/patches/series")" \
         "patches"
}

do_check() {
    [ -d "$tree/.git" ] || return 0
    if dirty; then
        echo "mk/tree.sh: WARNING: build/qemu has uncommitted changes to" \
             "QEMU files that patches/ does not hold: commit them there," \
             "then 'make patches'" >&2
    elif [ "$(tree_hash)" != "$(cat "$stamp" 2>/dev/null)" ]; then
        echo "mk/tree.sh: WARNING: build/qemu has commits that patches/" \
             "does not hold: run 'make patches'" >&2
    fi
}

case ${1:-} in
prepare) do_prepare ;;
link) do_link ;;
export) do_export ;;
check) do_check ;;
*) echo "usage: mk/tree.sh prepare|link|export|check" >&2; exit 2 ;;
esac
