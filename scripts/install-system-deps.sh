#!/usr/bin/env bash
# Installs the Debian packages the tests and the demo need: real OGC backends (MapServer 8, QGIS Server 3.22),
# nginx + spawn-fcgi to run them as FastCGI pools, GDAL tools (the AGS client), Chromium (browser client), Redis.
# The gateway itself needs none of these.
set -euo pipefail
PKGS=(mapserver-bin cgi-mapserver qgis-server python3-qgis gdal-bin python3-gdal fonts-dejavu-core
      nginx-light spawn-fcgi chromium redis-server)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
