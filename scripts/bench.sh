#!/usr/bin/env bash
# Runs the benchmarks (benchmarks/run.py) side by side against the real MapServer backend and writes the table to
# benchmarks/results.md. Installs what they need first: the Debian packages of the backend (as scripts/test.sh),
# wrk (the HTTP load generator), the venv with the test tools (MapProxy among them), py-spy (profiles, `--profile`)
# and gunicorn (serves MapProxy).
#   bash scripts/bench.sh                 # the full run (~5 min on 2 cores)
#   bash scripts/bench.sh --quick         # a smoke run
#   bash scripts/bench.sh --only 1,4      # some measurements; --profile adds py-spy profiles
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh
if ! command -v wrk >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends wrk
fi
bash scripts/setup-venv.sh test
[ -x .venv/bin/py-spy ] || .venv/bin/python -m pip install -q --disable-pip-version-check py-spy
# gunicorn serves MapProxy, the reference of the "same picture as MapProxy" row
[ -x .venv/bin/gunicorn ] || .venv/bin/python -m pip install -q --disable-pip-version-check gunicorn
exec .venv/bin/python -m benchmarks.run "$@"
