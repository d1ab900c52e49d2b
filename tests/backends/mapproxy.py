"""MapProxy 7 (from PyPI) as a plain WMS 1.1.1/1.3.0 server in front of the test MapServer: a backend that is neither
MapServer nor QGIS, for the ``generic`` flavour.

    with MapProxyBackend(mapserver.url, run_dir) as mp:
        mp.url   # http://127.0.0.1:PORT/service

Uncached (every layer's source is the MapServer WMS), unpaletted PNG (no colour quantisation), served by werkzeug's
threaded server in its own process group.  Its capabilities list the layers top first — regions, cities, rgb — as a
MapProxy configuration reads like a table of contents.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

import yaml

from tests.backends.servers import free_port

LAYERS = ("regions", "cities", "rgb")  # top first
_SERVE = ("import sys; from mapproxy.wsgiapp import make_wsgi_app; from werkzeug.serving import run_simple; "
          "run_simple('127.0.0.1', int(sys.argv[2]), make_wsgi_app(sys.argv[1]), threaded=True)")


def config(upstream: str, layers: Mapping[str, str] | None = None, *, transparent: bool = True,
           source_version: str = "1.3.0", title: str = "arcbridge test MapProxy",
           legends: bool = False) -> dict[str, object]:
    """A MapProxy configuration over ``upstream``, uncached: each published layer (by default one per test layer) is
    drawn by one GetMap of its upstream ``LAYERS`` (``layers`` maps the published names to them).  With ``legends``
    each layer also answers GetLegendGraphic (its upstream's, advertised as its LegendURL)."""
    srs = ["EPSG:4326", "EPSG:3857"]
    layers = {name: name for name in LAYERS} if layers is None else layers
    wms_opts: dict[str, object] = {"version": source_version, **({"legendgraphic": True} if legends else {})}
    return {
        "services": {"wms": {"versions": ["1.1.1", "1.3.0"], "srs": srs, "image_formats": ["image/png", "image/jpeg"],
                             "md": {"title": title, "abstract": "generic WMS"}}},
        "layers": [{"name": name, "title": name, "sources": [f"src_{name}"]} for name in layers],
        "sources": {f"src_{name}": {"type": "wms", "supported_srs": srs, "wms_opts": wms_opts,
                                    "req": {"url": upstream, "layers": upstream_layers, "transparent": transparent}}
                    for name, upstream_layers in layers.items()},
        "globals": {"image": {"paletted": False, "resampling_method": "nearest"}},
    }


def wmts_config(upstream: str) -> dict[str, object]:
    """The same MapProxy also serving WMTS (KVP and RESTful): each layer drawn through a cache on MapProxy's
    ``GLOBAL_WEBMERCATOR`` grid (Esri's Web Mercator levels, top-left origin), 4 x 4 metatiles with 80 px buffer."""
    conf = config(upstream)
    services = conf["services"]
    assert isinstance(services, dict)
    services.update({"wmts": {"restful": True, "kvp": True}})
    conf["caches"] = {f"cache_{name}": {"grids": ["GLOBAL_WEBMERCATOR"], "sources": [f"src_{name}"],
                                        "meta_size": [4, 4], "meta_buffer": 80} for name in LAYERS}
    conf["layers"] = [{"name": name, "title": name, "sources": [f"cache_{name}"]} for name in LAYERS]
    return conf


class MapProxyBackend:
    """A running MapProxy over ``upstream`` (the MapServer WMS URL)."""

    def __init__(self, upstream: str, run_dir: Path, legends: bool = False, wmts: bool = False) -> None:
        self.upstream = upstream
        self.legends = legends
        self.wmts = wmts
        self.run_dir = run_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/service"
        self.proc: subprocess.Popen[bytes] | None = None

    @classmethod
    def unavailable(cls) -> str | None:
        """Why MapProxy cannot run here (None: it can)."""
        if importlib.util.find_spec("mapproxy") is None:
            return "MapProxy is not installed (pip install '.[test]')"
        return None

    def start(self, timeout: float = 30.0) -> MapProxyBackend:
        """Write the configuration, start the server and wait for its capabilities."""
        conf = self.run_dir / "mapproxy.yaml"
        settings = wmts_config(self.upstream) if self.wmts else config(self.upstream, legends=self.legends)
        conf.write_text(yaml.safe_dump(settings, sort_keys=False))
        with (self.run_dir / "mapproxy.log").open("wb") as log:
            self.proc = subprocess.Popen([sys.executable, "-c", _SERVE, str(conf), str(self.port)],
                                         cwd=self.run_dir, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"MapProxy exited: {self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}?SERVICE=WMS&REQUEST=GetCapabilities", timeout=2) as reply:
                    if reply.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"MapProxy did not start: {self.log()}")

    def stop(self) -> None:
        """Stop the server's process group."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)

    def log(self) -> str:
        """What the server printed."""
        path = self.run_dir / "mapproxy.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def __enter__(self) -> MapProxyBackend:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
