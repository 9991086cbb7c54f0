#!/usr/bin/env bash
# Unpacks Debian's Courier IMAP (courier-imap, courier-base, courier-authlib,
# courier-authlib-userdb, courier-authdaemon, gamin's gam_server, which Courier's maildir
# watching needs to answer quickly, and the libraries they need that are not installed)
# into /opt/mailferry-courier for the test rig (mailferry.rig.courier).
#
# courier-imap conflicts with dovecot-imapd (installing one removes the other), so
# nothing is installed: the .deb files are fetched with `apt-get download` and
# extracted with `dpkg-deb -x`. Courier's authlib has compiled-in paths
# (/etc/courier/authdaemonrc, /etc/courier/userdb.dat, /run/courier/authdaemon/socket,
# /usr/lib/courier-authlib), so the rig starts each server in its own mount namespace
# (unshare) with that instance's directories bind-mounted there; this script creates
# the two empty mount points (/etc/courier, /usr/lib/courier-authlib) that must exist.
#
# Idempotent: once the tree is there (a stamp file records the versions unpacked) and
# every binary finds its libraries, nothing is looked up or downloaded. Expects
# `apt-get update` to have run (scripts/setup.sh does). Run as root (or with sudo).
# MAILFERRY_COURIER_ROOT overrides the directory (the rig reads the same variable).
set -euo pipefail
ROOT="${MAILFERRY_COURIER_ROOT:-/opt/mailferry-courier}"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
MAIN=(courier-imap courier-base courier-authlib courier-authlib-userdb courier-authdaemon gamin)

installed() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]; }
# Direct Depends/Pre-Depends of the given packages that are real library packages.
lib_deps() {
    apt-cache depends --no-recommends --no-suggests --no-conflicts --no-breaks \
        --no-replaces --no-enhances "$@" 2>/dev/null |
        sed -n 's/^ *|\{0,1\}\(Pre\)\{0,1\}Depends: \([^<][^ ]*\)$/\2/p' | grep '^lib' | sort -u
}
# Whether every ELF file of the tree finds its libraries (in the tree or on the system).
missing_libs() {
    local libpath="$ROOT/usr/lib:$ROOT/usr/lib/x86_64-linux-gnu:$ROOT/lib/x86_64-linux-gnu"
    find "$ROOT/usr" "$ROOT/lib" -type f \( -perm -u+x -o -name '*.so*' \) -print0 |
        xargs -0 env LD_LIBRARY_PATH="$libpath:$ROOT/usr/lib/courier-authlib" ldd 2>/dev/null |
        grep 'not found' | sort -u || true
}

# Whether the stamp lists every main package (a tree from an older list is redone).
complete() {
    local pkg
    [ -f "$stamp" ] || return 1
    for pkg in "${MAIN[@]}"; do grep -q "^$pkg=" "$stamp" || return 1; done
}

stamp="$ROOT/.mailferry-courier-packages"
if complete && [ -x "$ROOT/usr/bin/imapd" ] && [ -z "$(missing_libs)" ]; then
    $SUDO mkdir -p /etc/courier /usr/lib/courier-authlib
    exit 0
fi

# The main packages plus every library (transitively, through libraries) not installed.
packages=("${MAIN[@]}")
queue=("${MAIN[@]}")
seen=" ${MAIN[*]} "
for _ in 1 2 3 4 5 6; do
    [ "${#queue[@]}" -gt 0 ] || break
    next=()
    for lib in $(lib_deps "${queue[@]}"); do
        case "$seen" in *" $lib "*) continue ;; esac
        seen="$seen$lib "
        installed "$lib" && continue
        packages+=("$lib")
        next+=("$lib")
    done
    queue=("${next[@]+"${next[@]}"}")
done

# One line per package: name=candidate version (the stamp's content).
wanted="$(apt-cache policy "${packages[@]}" |
    awk '/^[^ ].*:$/ {pkg=substr($0, 1, length($0)-1)} /^ *Candidate:/ {print pkg "=" $2}')"
if [ "$(printf '%s\n' "$wanted" | grep -c -v '=(none)$')" != "${#packages[@]}" ]; then
    echo "setup-courier: no candidate for some of ${packages[*]} (apt-get update?)" >&2
    exit 1
fi

    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    chmod 0755 "$work"  # apt's _apt user downloads into it
    (cd "$work" && $SUDO apt-get download -qq "${packages[@]}" >/dev/null 2>&1) || {
        echo "setup-courier: apt-get download ${packages[*]} failed" >&2
        exit 1
    }
    $SUDO rm -rf "$ROOT.new"
    $SUDO mkdir -p "$ROOT.new"
    for deb in "$work"/*.deb; do
        $SUDO dpkg-deb -x "$deb" "$ROOT.new"
    done
printf '%s\n' "$wanted" | $SUDO tee "$ROOT.new/.mailferry-courier-packages" >/dev/null
$SUDO rm -rf "$ROOT"
$SUDO mv "$ROOT.new" "$ROOT"

missing="$(missing_libs)"
if [ -n "$missing" ]; then
    echo "setup-courier: libraries missing from $ROOT:" >&2
    echo "$missing" >&2
    exit 1
fi
$SUDO mkdir -p /etc/courier /usr/lib/courier-authlib
