#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and runs every check: ruff, mypy, the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
ruff check src tests bench
ruff format --check src tests bench
mypy
pytest -q "$@"
