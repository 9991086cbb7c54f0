#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and runs the demo on real servers started here.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m mailferry.rig demo "$@"
