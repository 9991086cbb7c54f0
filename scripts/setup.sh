#!/usr/bin/env bash
# Installs what mailferry, its tests and its demo need on Debian 12, as root
# (or with sudo): Dovecot for the real-server rig, PostgreSQL for the state
# tests (trust auth on loopback), and a virtualenv with the package.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
    dovecot-imapd python3 python3-venv python3-pip ca-certificates util-linux iproute2 \
    >/dev/null
bash scripts/setup-courier.sh  # Courier IMAP unpacked for the rig (conflicts with Dovecot)
# headless Chromium and its driver for the web console's browser test (tests/web)
$SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
if [ "${MAILFERRY_SKIP_POSTGRES:-}" != 1 ]; then
    bash scripts/setup-postgres.sh
fi
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'
# Byte-compile now: an editable install leaves it to the first import, and where
# PYTHONDONTWRITEBYTECODE is set (as on our CI machines) every `mailferry` process,
# the tests' many CLI runs included, would otherwise compile ~100 modules (~0.3 s).
.venv/bin/python -m compileall -q src
