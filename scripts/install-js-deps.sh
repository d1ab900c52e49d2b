#!/usr/bin/env bash
# Installs the JS clients the browser tests drive (tests/clients/web: leaflet, esri-leaflet, ol) from
# package-lock.json with `npm ci`, and the ArcGIS Maps SDK (install-arcgis-js.sh). Idempotent: does nothing when
# node_modules already matches the lock file.
set -euo pipefail
WEB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../tests/clients/web" && pwd)"
cd "$WEB_DIR"

if ! command -v npm >/dev/null 2>&1; then
  echo "install-js-deps: npm not found (apt-get install nodejs npm, or use node >= 18)" >&2
  exit 1
fi
# The ArcGIS Maps SDK for JavaScript has its own folder and lock (tests/clients/web/arcgis): npm ci, then a bundle.
bash "$WEB_DIR/../../../scripts/install-arcgis-js.sh"

STAMP=node_modules/.arcbridge-lock.sha256
want="$(sha256sum package.json package-lock.json | sha256sum | cut -d' ' -f1)"
required=(node_modules/leaflet/dist/leaflet.js node_modules/esri-leaflet/dist/esri-leaflet.js
          node_modules/ol/dist/ol.js node_modules/ol/ol.css)

current=1
[ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] || current=0
for f in "${required[@]}"; do [ -f "$f" ] || current=0; done
if [ "$current" = 1 ]; then
  exit 0
fi

echo "install-js-deps: npm ci in $WEB_DIR" >&2
npm ci --no-audit --no-fund --loglevel=error
for f in "${required[@]}"; do
  [ -f "$f" ] || { echo "install-js-deps: $f missing after npm ci" >&2; exit 1; }
done
echo "$want" > "$STAMP"
