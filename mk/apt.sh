#!/bin/sh
# Run apt-get or apt-cache against qemu-espt's private apt configuration.
#
#   mk/apt.sh update
#   mk/apt.sh get ARGS...      (apt-get ARGS...)
#   mk/apt.sh cache ARGS...    (apt-cache ARGS...)
#
# The configuration lives under build/apt and never touches the machine's
# own sources: Debian 13 sources (the QEMU base), Debian 12 backports for
# amd64 (meson), and Debian 12 for armhf and i386 (guest kernels and
# userland).  The archive addresses are the ones this machine's apt
# already uses for Debian 12, unless DEBIAN_MIRROR / DEBIAN_SECURITY_MIRROR
# say otherwise.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
dir=$top/build/apt
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

mirror_of() {
    # The URI the host's apt uses for suite/component $1, e.g. bookworm/main
    apt-cache policy 2>/dev/null | awk -v s="$1" '$3 == s { print $2; exit }'
}

setup() {
    mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial" \
             "$dir/sources.list.d"
    if [ -z "${DEBIAN_MIRROR:-}" ] && [ -z "$(mirror_of bookworm/main)" ] &&
       [ "$(id -u)" = 0 ]; then
        # The host's lists are empty on a new machine: fill them.
        apt-get -q update > /dev/null 2>&1 || true
    fi
    main=${DEBIAN_MIRROR:-$(mirror_of bookworm/main)}
    sec=${DEBIAN_SECURITY_MIRROR:-$(mirror_of bookworm-security/main)}
    if [ -z "$main" ]; then
        echo "mk/apt.sh: cannot find the Debian archive in this machine's apt" \
             "sources; run 'apt-get update' or set DEBIAN_MIRROR" >&2
        exit 1
    fi
    k="signed-by=$keyring"
    {
        echo "deb-src [$k] $main trixie main"
        echo "deb [arch=amd64 $k] $main bookworm-backports main"
        echo "deb [arch=armhf,i386 $k] $main bookworm main"
        echo "deb [arch=armhf,i386 $k] $main bookworm-updates main"
        if [ -n "$sec" ]; then
            echo "deb-src [$k] $sec trixie-security main"
            echo "deb [arch=armhf,i386 $k] $sec bookworm-security main"
        fi
    } > "$dir/sources.list.new"
    mv "$dir/sources.list.new" "$dir/sources.list"
}

opts() {
    echo "-o Dir::Etc::sourcelist=$dir/sources.list" \
         "-o Dir::Etc::sourceparts=$dir/sources.list.d" \
         "-o Dir::State::Lists=$dir/lists" \
         "-o Dir::Cache=$dir/cache" \
         "-o Dir::State::status=/dev/null" \
         "-o APT::Architectures::=amd64" \
         "-o APT::Architectures::=armhf" \
         "-o APT::Architectures::=i386" \
         "-o APT::Sandbox::User=root"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
update)
    setup
    # A mirror may be mid-sync: one index failing leaves the others usable,
    # so go on and let the look-ups that need a package fail by name.
    # shellcheck disable=SC2046
    if ! apt-get -q $(opts) update > "$dir/update.log" 2>&1; then
        echo "mk/apt.sh: some package indexes failed to update" \
             "(see build/apt/update.log); going on with the rest" >&2
    fi
    touch "$dir/updated"
    ;;
get)
    [ -f "$dir/updated" ] || "$0" update
    # shellcheck disable=SC2046
    exec apt-get -q $(opts) "$@"
    ;;
cache)
    [ -f "$dir/updated" ] || "$0" update
    # shellcheck disable=SC2046
    exec apt-cache $(opts) "$@"
    ;;
*)
    echo "usage: mk/apt.sh update | get ARGS... | cache ARGS..." >&2
    exit 2
    ;;
esac
