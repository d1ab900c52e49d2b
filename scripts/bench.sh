#!/usr/bin/env bash
# Runs the benchmarks (benchmarks/run.py) side by side against the real MapServer backend and writes the table to
# benchmarks/results-latest.md (the committed benchmarks/results.md only with --write). Installs what they need first: the Debian packages of the backend (as scripts/test.sh),
# wrk (the HTTP load generator), the venv with the test tools (MapProxy among them), py-spy (profiles, `--profile`)
# and gunicorn (serves MapProxy).
#   bash scripts/bench.sh                 # the full run (~5 min on 2 cores)
#   bash scripts/bench.sh --quick         # a smoke run
#   bash scripts/bench.sh --only 1,4      # some measurements; --profile adds py-spy profiles
#   bash scripts/bench.sh --write         # replace the committed benchmarks/results.md (else results-latest.md)
set -euo pipefail
cd "$(dirname "$0")/.."
for arg in "$@"; do
  if [ "$arg" = "-h" ] || [ "$arg" = "--help" ]; then
    # help without installing anything: the header above, then the options of benchmarks/run.py
    sed -n '2,/^set -euo/p' scripts/bench.sh | sed '$d' | sed 's/^# \{0,1\}//'
    echo
    echo "Options (passed to python -m benchmarks.run):"
    echo "  --quick            few requests and short runs: a smoke run (written to benchmarks/results-quick.md)"
    echo "  --only N,M         some measurements (1-14; 10 also gives 11) and/or 'profile'"
    echo "  --profile          also profile the gateway with py-spy"
    echo "  --keep             keep the temporary directory (logs, data)"
    echo "  --output FILE      where to write the table (default benchmarks/results-latest.md)"
    echo "  --write            replace the committed benchmarks/results.md"
    exit 0
  fi
done
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
