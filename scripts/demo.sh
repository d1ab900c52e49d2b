#!/usr/bin/env bash
# Sets up arcbridge and runs it on the bundled demo: a MapServer 8 backend (nginx + FastCGI) serving generated demo
# data on 127.0.0.1:8081, and the gateway on http://127.0.0.1:8080/arcgis/rest/services. Ctrl-C stops both.
#   DEMO_PORT=9080 DEMO_BACKEND_PORT=9081 bash scripts/demo.sh    # other ports
set -euo pipefail
cd "$(dirname "$0")/.."
port="${DEMO_PORT:-8080}"
backend_port="${DEMO_BACKEND_PORT:-8081}"
for p in "$port" "$backend_port"; do
  # one clear line (before installing anything) rather than a failure deep in nginx or the gateway
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    echo "demo: port $p is already in use; choose others with DEMO_PORT=… (gateway) DEMO_BACKEND_PORT=… (backend)" >&2
    exit 2
  fi
done
bash scripts/install-system-deps.sh
bash scripts/setup-venv.sh
mkdir -p .demo
# config/demo.yaml names the default backend port: the demo serves a copy naming the one in use
sed "s#127.0.0.1:8081/#127.0.0.1:${backend_port}/#" config/demo.yaml > .demo/demo.yaml
.venv/bin/python -m tests.backends.serve --backend mapserver --data-dir .demo/data --port "$backend_port" &
backend=$!
trap 'kill $backend 2>/dev/null; wait $backend 2>/dev/null' EXIT INT TERM
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:${backend_port}/ows?SERVICE=WMS&REQUEST=GetCapabilities" >/dev/null 2>&1 && break
  sleep 0.2
done
.venv/bin/arcbridge serve --config .demo/demo.yaml --port "$port"
