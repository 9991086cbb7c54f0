#!/usr/bin/env bash
# Installs what bench/migrate.py needs besides scripts/setup.sh (Debian 12, as root or
# with sudo): the peer tools it compares against and GNU time for their peak RSS.
#   isync        -> mbsync
#   offlineimap3 -> offlineimap (Debian 12's Python 3 OfflineIMAP)
#   time         -> /usr/bin/time -v ("Maximum resident set size")
#   dovecot-core -> doveadm (dsync through imapc is built in)
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
    isync offlineimap3 time dovecot-core dovecot-imapd >/dev/null
for tool in mbsync offlineimap doveadm /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "missing after install: $tool" >&2; exit 1; }
done
echo "bench tools: $(mbsync --version), offlineimap $(offlineimap --version), $(doveadm -c /dev/null version 2>/dev/null || echo dovecot)"
