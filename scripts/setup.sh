#!/usr/bin/env bash
# Installs what mailferry, its tests and its demo need on Debian 12, as root
# (or with sudo): Dovecot for the real-server rig, a virtualenv with the package.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
    dovecot-imapd python3 python3-venv python3-pip ca-certificates >/dev/null
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'
