"""Static server for ``tests/clients/web`` (pages + node_modules) and helpers for its client pages.

Pages (all fill the viewport with the map, white background, no controls; see the comment atop each HTML file):

* ``leaflet-dynamic.html`` - Esri Leaflet ``dynamicMapLayer`` (MapServer ``export``)
* ``leaflet-image.html`` - Esri Leaflet ``imageMapLayer`` (ImageServer ``exportImage``)
* ``ol-imagearcgisrest.html`` - OpenLayers ``ImageArcGISRest`` (MapServer ``export`` / ImageServer ``exportImage``)
* ``arcgis-view.html`` - the ArcGIS Maps SDK for JavaScript: a ``MapView`` over a ``TileLayer`` or ``MapImageLayer``
  (bundled into ``arcgis/build/`` by ``scripts/install-arcgis-js.sh``)

Each page publishes ``window.__loaded``, ``window.__error`` / ``__errors``, ``window.__bounds`` (the view's actual
extent: ``xmin..ymax`` in the map CRS, ``west..north`` lon/lat, ``mercator`` {xmin..ymax} in EPSG:3857, ``width``,
``height`` in px), ``window.__loads``, ``window.__events`` and the live ``window.__map`` / ``__layer``.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import math
import subprocess
import threading
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Self
from urllib.parse import urlencode

import numpy as np
from aiohttp import web
from numpy.typing import NDArray

from .chromium import ChromiumError, Page

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
REPO_ROOT = WEB_DIR.parents[2]
INSTALL_SCRIPT = REPO_ROOT / "scripts" / "install-js-deps.sh"
VENDOR_FILES = (
    "node_modules/leaflet/dist/leaflet.js",
    "node_modules/leaflet/dist/leaflet.css",
    "node_modules/esri-leaflet/dist/esri-leaflet.js",
    "node_modules/ol/dist/ol.js",
    "node_modules/ol/ol.css",
)

EARTH_RADIUS = 6378137.0
HALF_WORLD = math.pi * EARTH_RADIUS  # EPSG:3857 x of the antimeridian

BBox = Sequence[float]


class MapLoadError(AssertionError):
    """The page reported ``window.__error`` while waiting for its map."""


def missing_vendor_files(root: Path = WEB_DIR) -> list[str]:
    """Vendored JS/CSS the pages need that are not installed."""
    return [name for name in VENDOR_FILES if not (root / name).is_file()]


def ensure_js_deps(timeout: float = 300.0) -> None:
    """Run ``scripts/install-js-deps.sh`` if the pages' node_modules are missing (it is a no-op when current)."""
    if not missing_vendor_files():
        return
    proc = subprocess.run(
        ["bash", str(INSTALL_SCRIPT)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    still_missing = missing_vendor_files()
    if proc.returncode != 0 or still_missing:
        raise RuntimeError(
            f"{INSTALL_SCRIPT} failed ({proc.returncode}); missing {still_missing}\n{proc.stdout}\n{proc.stderr}"
        )


# --------------------------------------------------------------------------------------------------------------
# static server
# --------------------------------------------------------------------------------------------------------------


def make_static_app(root: Path = WEB_DIR) -> web.Application:
    """aiohttp app serving ``root`` (no directory listings, no caching)."""

    async def no_store(request: web.Request, response: web.StreamResponse) -> None:
        response.headers["Cache-Control"] = "no-store"

    async def index(request: web.Request) -> web.Response:
        names = sorted(p.name for p in root.glob("*.html"))
        return web.Response(text="\n".join(names) + "\n")

    async def no_favicon(request: web.Request) -> web.Response:
        return web.Response(status=204)

    app = web.Application()
    app.on_response_prepare.append(no_store)
    app.router.add_get("/", index)
    app.router.add_get("/favicon.ico", no_favicon)
    app.router.add_static("/", root, show_index=False, follow_symlinks=False)
    return app


class WebPages:
    """URLs of the client pages on a running static server."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/") + "/"

    def __str__(self) -> str:
        return self.base_url

    def url(self, page: str, params: Mapping[str, Any] | None = None, **more: Any) -> str:
        """``base_url + page + ?query``; ``None`` values are dropped, sequences joined with commas."""
        query: dict[str, str] = {}
        for key, value in {**(params or {}), **more}.items():
            if value is None:
                continue
            if isinstance(value, bool):
                query[key] = "true" if value else "false"
            elif isinstance(value, list | tuple):
                query[key] = ",".join(_num(v) for v in value)
            else:
                query[key] = _num(value)
        return self.base_url + page + ("?" + urlencode(query) if query else "")

    def leaflet_dynamic(
        self,
        service: str,
        bbox: BBox | None = None,
        *,
        crs: int | str = 3857,
        lonlat: BBox | None = None,
        f: str | None = None,
        format: str | None = None,
        transparent: bool | None = None,
        layers: Sequence[int] | None = None,
        layer_defs: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> str:
        """Esri Leaflet ``dynamicMapLayer`` page (``f`` None: the client's default, ``json``)."""
        return self.url(
            "leaflet-dynamic.html",
            _extra(extra),
            service=service,
            bbox=bbox,
            lonlat=lonlat,
            crs=crs,
            f=f,
            format=format,
            transparent=transparent,
            layers=layers,
            layerDefs=layer_defs,
        )

    def leaflet_image(
        self,
        service: str,
        bbox: BBox | None = None,
        *,
        crs: int | str = 3857,
        lonlat: BBox | None = None,
        f: str | None = None,
        format: str | None = None,
        transparent: bool | None = None,
        rendering_rule: str | None = None,
        mosaic_rule: str | None = None,
        band_ids: Sequence[int] | None = None,
        no_data: float | None = None,
        pixel_type: str | None = None,
        interpolation: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> str:
        """Esri Leaflet ``imageMapLayer`` page (``f`` None: the client's default, ``image``)."""
        return self.url(
            "leaflet-image.html",
            _extra(extra),
            service=service,
            bbox=bbox,
            lonlat=lonlat,
            crs=crs,
            f=f,
            format=format,
            transparent=transparent,
            renderingRule=rendering_rule,
            mosaicRule=mosaic_rule,
            bandIds=band_ids,
            noData=no_data,
            pixelType=pixel_type,
            interpolation=interpolation,
        )

    def ol_imagearcgisrest(
        self,
        service: str,
        extent: BBox,
        *,
        crs: str = "EPSG:3857",
        ratio: float = 1,
        format: str | None = None,
        transparent: bool | None = None,
        layers: str | None = None,
        dpi: int | None = None,
        cross_origin: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> str:
        """OpenLayers ``ImageArcGISRest`` page."""
        return self.url(
            "ol-imagearcgisrest.html",
            _extra(extra),
            service=service,
            extent=extent,
            crs=crs,
            ratio=ratio,
            format=format,
            transparent=transparent,
            layers=layers,
            dpi=dpi,
            crossOrigin=cross_origin,
        )


def _num(value: Any) -> str:
    if isinstance(value, float):
        return repr(value)  # round-trips exactly
    return str(value)


def _extra(extra: Mapping[str, Any] | None) -> dict[str, Any]:
    return {f"p.{k}": v for k, v in (extra or {}).items()}


@contextlib.asynccontextmanager
async def serve_web(root: Path = WEB_DIR, host: str = "127.0.0.1") -> AsyncIterator[WebPages]:
    """Serve ``root`` on a free port in the running loop: ``async with serve_web() as pages: pages.base_url``."""
    runner = web.AppRunner(make_static_app(root), handle_signals=False, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, 0)
        await site.start()
        port = _bound_port(runner)
        yield WebPages(f"http://{host}:{port}/")
    finally:
        await runner.cleanup()


def _bound_port(runner: web.AppRunner) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple):
            return int(address[1])
    raise RuntimeError(f"static server has no TCP address: {runner.addresses}")


class StaticServerThread:
    """The static server on its own event loop in a daemon thread (for session-scoped fixtures)."""

    def __init__(self, root: Path = WEB_DIR, host: str = "127.0.0.1") -> None:
        self.root = root
        self.host = host
        self.pages: WebPages | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def start(self, timeout: float = 15.0) -> WebPages:
        """Start serving; return the pages' URLs."""
        self._thread = threading.Thread(target=self._run, name="web-pages", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError(f"static server did not start within {timeout}s")
        if self._error is not None or self.pages is None:
            raise RuntimeError(f"static server failed: {self._error!r}")
        return self.pages

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:
            self._error = exc
        finally:
            self._ready.set()
            loop.close()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        async with serve_web(self.root, self.host) as pages:
            self.pages = pages
            self._ready.set()
            await self._stop.wait()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving and join the thread."""
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout)
        self._thread = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --------------------------------------------------------------------------------------------------------------
# page-side helpers
# --------------------------------------------------------------------------------------------------------------


async def wait_map_loaded(page: Page, *, timeout: float = 30.0) -> dict[str, Any]:
    """Wait until the page's layer drew the current view (``window.__loaded``); fail fast on ``window.__error``.

    Returns the page state: ``{"loaded", "error", "errors", "loads", "bounds", "events"}``.
    """
    await page.wait_for("window.__loaded === true || (window.__errors && window.__errors.length > 0)", timeout=timeout)
    state = await map_state(page)
    if state["error"] is not None:
        raise MapLoadError(f"page reported: {state['errors']}\n{page.diagnostics()}")
    return state


async def map_state(page: Page) -> dict[str, Any]:
    """The page-published state (see module docstring)."""
    state = await page.evaluate(
        "({loaded: window.__loaded === true, error: window.__error ?? null, errors: window.__errors ?? [],"
        " loads: window.__loads ?? 0, bounds: window.__bounds ?? null, events: window.__events ?? []})"
    )
    if not isinstance(state, dict):
        raise ChromiumError(f"page has no harness state: {state!r}")
    return state


def png_to_rgba(png: bytes) -> NDArray[np.uint8]:
    """Decode a PNG to an ``(height, width, 4)`` uint8 RGBA array."""
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("RGBA"), dtype=np.uint8).copy()


def map_to_pixel(bounds: Mapping[str, Any], x: float, y: float) -> tuple[float, float]:
    """Map coordinates (the page's CRS) -> screenshot pixel (column, row) using the page's ``__bounds``."""
    col = (x - bounds["xmin"]) / (bounds["xmax"] - bounds["xmin"]) * bounds["width"]
    row = (bounds["ymax"] - y) / (bounds["ymax"] - bounds["ymin"]) * bounds["height"]
    return col, row


def leaflet_grid_bbox_3857(
    center: tuple[float, float], resolution: float, size: tuple[int, int]
) -> tuple[float, float, float, float]:
    """EPSG:3857 bbox of ``size`` px at ``resolution`` m/px near ``center``, snapped to Leaflet's pixel grid.

    Leaflet rounds its pixel origin to whole pixels, so an arbitrary bbox is drawn (and requested) shifted by up to
    half a pixel. A bbox whose corners lie on the grid of that resolution (counted from x = -20037508.34, y =
    +20037508.34) is shown - and sent to the server - exactly as given.
    """
    width, height = size
    cols = round((center[0] + HALF_WORLD) / resolution - width / 2)
    rows = round((HALF_WORLD - center[1]) / resolution - height / 2)
    xmin = -HALF_WORLD + cols * resolution
    ymax = HALF_WORLD - rows * resolution
    return xmin, ymax - height * resolution, xmin + width * resolution, ymax
