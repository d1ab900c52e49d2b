#!/usr/bin/env bash
# Installs the ArcGIS Maps SDK for JavaScript (@arcgis/core) and esbuild into tests/clients/web/arcgis from its own
# package-lock.json (`npm ci`, ~1 min, 400 MB: kept apart from the other pages' node_modules), then bundles
# arcgis.js into build/ (ES modules split in chunks; the SDK's workers, styles and translations stay in
# node_modules/@arcgis/core/assets, where the pages point esriConfig.assetsPath: nothing comes from js.arcgis.com).
# Idempotent: does nothing when node_modules matches the lock file and build/ matches the lock file and arcgis.js.
set -euo pipefail
DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../tests/clients/web/arcgis" && pwd)"
cd "$DIR"

if ! command -v npm >/dev/null 2>&1; then
  echo "install-arcgis-js: npm not found (apt-get install nodejs npm, or use node >= 18)" >&2
  exit 1
fi

STAMP=node_modules/.arcbridge-lock.sha256
want="$(sha256sum package.json package-lock.json | sha256sum | cut -d' ' -f1)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$want" ] || [ ! -f node_modules/@arcgis/core/config.js ] \
   || [ ! -x node_modules/.bin/esbuild ]; then
  echo "install-arcgis-js: npm ci in $DIR" >&2
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$STAMP"
fi

BUILD_STAMP=build/.arcbridge-build.sha256
built="$(sha256sum package-lock.json arcgis.js | sha256sum | cut -d' ' -f1)"
if [ -f build/arcgis.js ] && [ -f "$BUILD_STAMP" ] && [ "$(cat "$BUILD_STAMP")" = "$built" ]; then
  exit 0
fi
echo "install-arcgis-js: bundling arcgis.js into $DIR/build" >&2
rm -rf build.tmp
node_modules/.bin/esbuild arcgis.js --bundle --format=esm --splitting --minify --outdir=build.tmp --log-level=warning
echo "$built" > build.tmp/.arcbridge-build.sha256
rm -rf build
mv build.tmp build
