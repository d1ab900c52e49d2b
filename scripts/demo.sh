#!/usr/bin/env bash
# Sets up arcbridge and runs it on the bundled demo: a MapServer 8 backend (nginx + FastCGI) serving generated demo
# data on 127.0.0.1:8081, and the gateway on http://127.0.0.1:8080/arcgis/rest/services. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh
bash scripts/setup-venv.sh
mkdir -p .demo
.venv/bin/python -m tests.backends.serve --backend mapserver --data-dir .demo/data --port "${DEMO_BACKEND_PORT:-8081}" &
backend=$!
trap 'kill $backend 2>/dev/null; wait $backend 2>/dev/null' EXIT INT TERM
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:${DEMO_BACKEND_PORT:-8081}/ows?SERVICE=WMS&REQUEST=GetCapabilities" >/dev/null 2>&1 && break
  sleep 0.2
done
.venv/bin/arcbridge serve --config config/demo.yaml --port "${DEMO_PORT:-8080}"
