#!/usr/bin/env bash
# Installs everything the tests need (Debian packages, the venv, the JS clients) and runs lint, types and tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh
bash scripts/setup-venv.sh test
bash scripts/install-js-deps.sh
echo "== ruff"; .venv/bin/ruff check .
echo "== mypy"; .venv/bin/mypy
echo "== pytest"; .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
