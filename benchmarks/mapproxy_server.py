"""The reference of the "same picture as MapProxy" row: MapProxy 7 as an uncached WMS proxy under gunicorn.

    python -m benchmarks.mapproxy_server --upstream http://127.0.0.1:8081/ows --run-dir /tmp/mp --port 9004

One layer, ``world``, drawn by one GetMap of the backend's ``rgb,regions,cities`` (the picture the benchmark's
export draws), no cache, unpaletted images; served by gunicorn with two sync workers (the machine's cores) as MapProxy
recommends for production.  The process replaces itself with gunicorn, so stopping it stops MapProxy.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import yaml

from tests.backends.mapproxy import config as mapproxy_config

LAYERS = "rgb,regions,cities"  # bottom first, as the gateway's GetMap for the benchmark's service lists them
READY = "/service?SERVICE=WMS&REQUEST=GetCapabilities"


def config(upstream: str, transparent: bool = False) -> dict[str, object]:
    """MapProxy's configuration: the backend's picture as one uncached layer, asked in WMS 1.1.1 (MapServer's fast
    dialect for EPSG:4326, as the gateway asks it); opaque as the export rows' images, transparent as tiles."""
    return mapproxy_config(upstream, {"world": LAYERS}, transparent=transparent, source_version="1.1.1",
                           title="arcbridge benchmark reference")


def tiles_config(upstream: str, cache_dir: Path) -> dict[str, object]:
    """The same layer through a file cache on MapProxy's ``GLOBAL_WEBMERCATOR`` grid (Esri's Web Mercator levels),
    4 x 4 metatiles with 80 px buffer (as the gateway's default), served as WMTS too: the reference of the tile
    rows (benchmarks/tiles.py).  Transparent, as the gateway's ``png`` tiles are: both ask the backend for the same
    RGBA picture and store the same kind of tile (an opaque GetMap costs MapServer a third less)."""
    conf = config(upstream, transparent=True)
    services = conf["services"]
    assert isinstance(services, dict)
    services["wmts"] = {"restful": True, "kvp": False}
    conf["caches"] = {"world_cache": {"grids": ["GLOBAL_WEBMERCATOR"], "sources": ["src_world"], "meta_size": [4, 4],
                                      "meta_buffer": 80, "cache": {"type": "file", "directory": str(cache_dir)}}}
    conf["layers"] = [{"name": "world", "title": "world", "sources": ["world_cache"]}]
    return conf


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--upstream", required=True, help="the backend's WMS URL, e.g. http://127.0.0.1:8081/ows")
    parser.add_argument("--run-dir", type=Path, required=True, help="where the configuration goes")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--tiles", action="store_true", help="serve the layer through a file cache (WMTS too)")
    args = parser.parse_args()
    run: Path = args.run_dir.resolve()
    run.mkdir(parents=True, exist_ok=True)
    conf = run / "mapproxy.yaml"
    data = tiles_config(args.upstream, run / "cache") if args.tiles else config(args.upstream)
    conf.write_text(yaml.safe_dump(data, sort_keys=False))
    os.execv(sys.executable, [sys.executable, "-m", "gunicorn", "--workers", str(args.workers), "--bind",
                              f"127.0.0.1:{args.port}", "--chdir", str(run), "--log-level", "warning",
                              f"mapproxy.wsgiapp:make_wsgi_app('{conf}')"])


if __name__ == "__main__":
    main()
