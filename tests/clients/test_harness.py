"""Self-tests of the browser-client harness against a fake ArcGIS server (no gateway involved).

The fake server answers MapServer/ImageServer metadata and export/exportImage with a generated PNG of the
requested size: four coloured quadrants plus a black marker rectangle placed at fixed *map* coordinates computed
from the requested bbox. A screenshot then shows whether the client requested, placed and scaled the image right.
"""

from __future__ import annotations

import io
import itertools
import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
import pytest_asyncio
from aiohttp import web
from numpy.typing import NDArray
from PIL import Image

from tests.clients.harness.chromium import Chromium, JavaScriptError, Page, PageCrashed, WaitTimeout
from tests.clients.harness.pages import (
    MapLoadError,
    WebPages,
    leaflet_grid_bbox_3857,
    map_state,
    map_to_pixel,
    png_to_rgba,
    wait_map_loaded,
)

pytestmark = pytest.mark.client


WIDTH, HEIGHT = 400, 300
RED, GREEN, BLUE, YELLOW, BLACK = (255, 0, 0), (0, 160, 0), (0, 0, 255), (255, 255, 0), (0, 0, 0)
QUADRANTS = {"tl": RED, "tr": GREEN, "bl": BLUE, "br": YELLOW}


# ---------------------------------------------------------------------------------------------------------------
# fake ArcGIS server
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class FakeArcGIS:
    base_url: str = ""
    marker: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)  # map coords, the CRS of the request
    fail_exports: bool = False
    cors: bool = True
    seen: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    outputs: dict[str, bytes] = field(default_factory=dict)

    @property
    def mapserver(self) -> str:
        return self.base_url + "arcgis/rest/services/Test/MapServer"

    @property
    def imageserver(self) -> str:
        return self.base_url + "arcgis/rest/services/Test/ImageServer"


def quadrant_png(width: int, height: int, bbox: tuple[float, ...], marker: tuple[float, ...]) -> bytes:
    img = np.zeros((height, width, 3), dtype=np.uint8)
    img[: height // 2, : width // 2] = RED
    img[: height // 2, width // 2 :] = GREEN
    img[height // 2 :, : width // 2] = BLUE
    img[height // 2 :, width // 2 :] = YELLOW
    xmin, ymin, xmax, ymax = bbox
    c0 = round((marker[0] - xmin) / (xmax - xmin) * width)
    c1 = round((marker[2] - xmin) / (xmax - xmin) * width)
    r0 = round((ymax - marker[3]) / (ymax - ymin) * height)
    r1 = round((ymax - marker[1]) / (ymax - ymin) * height)
    img[max(r0, 0) : max(r1, 0), max(c0, 0) : max(c1, 0)] = BLACK
    out = io.BytesIO()
    Image.fromarray(img, "RGB").save(out, "PNG")
    return out.getvalue()


def make_fake_app(state: FakeArcGIS) -> web.Application:
    counter = itertools.count(1)

    def cors(response: web.StreamResponse) -> web.StreamResponse:
        if state.cors:
            response.headers["Access-Control-Allow-Origin"] = "*"
        return response

    def service_json(kind: str) -> dict[str, Any]:
        sr = {"wkid": 102100, "latestWkid": 3857}
        extent = {"xmin": -2e7, "ymin": -2e7, "xmax": 2e7, "ymax": 2e7, "spatialReference": sr}
        common = {"currentVersion": 10.81, "spatialReference": sr, "fullExtent": extent, "initialExtent": extent}
        if kind == "MapServer":
            return {
                **common,
                "mapName": "Test",
                "layers": [{"id": 0, "name": "quadrants"}],
                "tables": [],
                "singleFusedMapCache": False,
                "capabilities": "Map",
                "supportedImageFormatTypes": "PNG32,PNG,JPG",
            }
        return {
            **common,
            "name": "Test",
            "extent": extent,
            "bandCount": 3,
            "pixelType": "U8",
            "capabilities": "Image",
            "pixelSizeX": 10,
            "pixelSizeY": 10,
        }

    async def handler(request: web.Request) -> web.StreamResponse:
        query = dict(request.query)
        if request.method == "POST":
            query.update({k: str(v) for k, v in (await request.post()).items()})
        path = request.path
        state.seen.append((request.method, path, query))
        if path.startswith("/output/"):
            data = state.outputs.get(path.rsplit("/", 1)[-1])
            if data is None:
                raise web.HTTPNotFound()
            return cors(web.Response(body=data, content_type="image/png"))
        parts = path.rstrip("/").split("/")
        if parts[-1] in ("MapServer", "ImageServer"):
            return cors(web.json_response(service_json(parts[-1])))
        if parts[-1] in ("export", "exportImage"):
            fmt = query.get("f", "html")
            if state.fail_exports:
                if fmt == "json":
                    return cors(web.json_response({"error": {"code": 500, "message": "export broke", "details": []}}))
                return cors(web.Response(status=500, text="export broke"))
            width, height = (int(float(v)) for v in query["size"].split(","))
            x0, y0, x1, y1 = (float(v) for v in query["bbox"].split(","))
            bbox = (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))  # Esri Leaflet sends xmin,ymax,xmax,ymin
            png = quadrant_png(width, height, bbox, state.marker)
            if fmt == "json":
                name = f"out{next(counter)}.png"
                state.outputs[name] = png
                sr = {"wkid": int(query.get("imageSR") or query.get("bboxSR") or 3857)}
                return cors(
                    web.json_response(
                        {
                            "href": state.base_url + "output/" + name,
                            "width": width,
                            "height": height,
                            "extent": dict(zip(("xmin", "ymin", "xmax", "ymax"), bbox, strict=True))
                            | {"spatialReference": sr},
                            "scale": 0,
                        }
                    )
                )
            return cors(web.Response(body=png, content_type="image/png"))
        raise web.HTTPNotFound()

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    return app


@pytest_asyncio.fixture
async def fake_arcgis() -> AsyncIterator[FakeArcGIS]:
    state = FakeArcGIS()
    runner = web.AppRunner(make_fake_app(state), handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = next(a[1] for a in runner.addresses if isinstance(a, tuple))
    state.base_url = f"http://127.0.0.1:{port}/"
    try:
        yield state
    finally:
        await runner.cleanup()


# ---------------------------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------------------------


def grid_view_3857() -> tuple[float, float, float, float]:
    return leaflet_grid_bbox_3857((1_113_194.9, 6_800_125.5), 76.437028, (WIDTH, HEIGHT))


def marker_for(bbox: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """A marker in the top-right quadrant: 40..100 px right of and 30..80 px above the centre."""
    rx = (bbox[2] - bbox[0]) / WIDTH
    ry = (bbox[3] - bbox[1]) / HEIGHT
    cx, cy = (bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2
    return cx + 40 * rx, cy + 30 * ry, cx + 100 * rx, cy + 80 * ry


def colour_at(pixels: NDArray[np.uint8], col: float, row: float) -> tuple[int, int, int]:
    r, g, b, _ = pixels[int(row), int(col)]
    return int(r), int(g), int(b)


def assert_quadrants_and_marker(
    png: bytes, bounds: dict[str, Any], marker: tuple[float, float, float, float], diagnostics: str
) -> None:
    pixels = png_to_rgba(png)
    assert pixels.shape == (HEIGHT, WIDTH, 4), diagnostics
    inset = 10
    probes = {
        "tl": (inset, inset),
        "tr": (WIDTH - inset, inset),
        "bl": (inset, HEIGHT - inset),
        "br": (WIDTH - inset, HEIGHT - inset),
        # just either side of the centre lines
        "tl_c": (WIDTH / 2 - 3, HEIGHT / 2 - 3),
        "br_c": (WIDTH / 2 + 3, HEIGHT / 2 + 3),
    }
    for name, (col, row) in probes.items():
        want = QUADRANTS[name[:2]]
        got = colour_at(pixels, min(col, WIDTH - 1), min(row, HEIGHT - 1))
        assert got == want, f"{name} at ({col},{row}): {got} != {want}\n{diagnostics}"
    # the marker, placed by map coordinates: where the page's own view says it must be
    c0, r0 = map_to_pixel(bounds, marker[0], marker[3])
    c1, r1 = map_to_pixel(bounds, marker[2], marker[1])
    assert (round(c0), round(r0), round(c1), round(r1)) == (
        WIDTH // 2 + 40,
        HEIGHT // 2 - 80,
        WIDTH // 2 + 100,
        HEIGHT // 2 - 30,
    ), (c0, r0, c1, r1)
    assert colour_at(pixels, (c0 + c1) / 2, (r0 + r1) / 2) == BLACK, diagnostics
    assert colour_at(pixels, c0 + 1, r0 + 1) == BLACK, diagnostics
    assert colour_at(pixels, c1 - 2, r1 - 2) == BLACK, diagnostics
    assert colour_at(pixels, c0 - 2, (r0 + r1) / 2) == GREEN, diagnostics
    assert colour_at(pixels, c1 + 1, (r0 + r1) / 2) == GREEN, diagnostics
    assert colour_at(pixels, (c0 + c1) / 2, r0 - 2) == GREEN, diagnostics
    assert colour_at(pixels, (c0 + c1) / 2, r1 + 1) == GREEN, diagnostics


def assert_pixel_exact(png: bytes, bbox: tuple[float, ...], marker: tuple[float, ...]) -> None:
    """The screenshot is exactly the served image (no resampling, no colour management, no offset)."""
    served = png_to_rgba(quadrant_png(WIDTH, HEIGHT, bbox, marker))
    shot = png_to_rgba(png)
    differing = int(np.count_nonzero(np.any(shot != served, axis=2)))
    assert differing == 0, f"{differing} pixels differ from the served image"


def assert_bbox_close(got: str, want: tuple[float, ...] | list[float], tol: float) -> None:
    """Compare as envelopes: Esri Leaflet sends "xmin,ymax,xmax,ymin" (see test_leaflet_dynamic_map_layer)."""
    x0, y0, x1, y1 = (float(v) for v in got.split(","))
    values = [min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)]
    assert max(abs(a - b) for a, b in zip(values, want, strict=True)) <= tol, (values, want)


def view_bbox(bounds: dict[str, Any]) -> list[float]:
    return [bounds["xmin"], bounds["ymin"], bounds["xmax"], bounds["ymax"]]


async def open_map(browser: Chromium, url: str) -> tuple[Page, dict[str, Any]]:
    page = await browser.new_page(WIDTH, HEIGHT)
    await page.goto(url)
    state = await wait_map_loaded(page, timeout=30)
    return page, state


# ---------------------------------------------------------------------------------------------------------------
# the browser itself
# ---------------------------------------------------------------------------------------------------------------


async def test_page_basics(chromium: Chromium) -> None:
    page = await chromium.new_page(320, 200)
    await page.goto(
        "data:text/html,<body style='margin:0;background:rgb(10,20,30)'>"
        "<script>console.log('hello', 42); console.warn('careful');"
        "setTimeout(() => { window.ready = 'yes'; throw new Error('boom'); }, 50);</script></body>"
    )
    assert await page.evaluate("[innerWidth, innerHeight, devicePixelRatio]") == [320, 200, 1]
    assert await page.wait_for("window.ready", timeout=10) == "yes"
    assert await page.evaluate("Promise.resolve({a: 1})") == {"a": 1}
    assert await page.evaluate("undefined") is None
    with pytest.raises(JavaScriptError, match="nope"):
        await page.evaluate("(() => { throw new Error('nope'); })()")
    await page.wait_for("true")  # let the exception event arrive
    assert any(m.text == "hello 42" and m.type == "log" for m in page.console_messages), page.diagnostics()
    assert any(m.text == "careful" and m.type == "warning" for m in page.console_messages), page.diagnostics()
    await page.wait_for("window.ready")
    png = await page.screenshot()
    pixels = png_to_rgba(png)
    assert pixels.shape == (200, 320, 4)
    assert {tuple(int(v) for v in p) for p in pixels.reshape(-1, 4)} == {(10, 20, 30, 255)}
    for _ in range(100):
        if page.exceptions:
            break
        await page.evaluate("new Promise(r => setTimeout(r, 10))")
    assert page.exceptions and "boom" in page.exceptions[0]


async def test_wait_for_times_out_with_diagnostics(chromium: Chromium) -> None:
    page = await chromium.new_page(100, 100)
    await page.goto("data:text/html,<script>console.error('it went wrong')</script>")
    with pytest.raises(WaitTimeout) as info:
        await page.wait_for("window.never", timeout=0.3)
    assert "window.never" in str(info.value)
    assert "it went wrong" in str(info.value)
    with pytest.raises(WaitTimeout, match="TypeError"):  # throwing expressions count as "not yet"
        await page.wait_for("window.nothing.here", timeout=0.3)


async def test_crashed_page_fails_fast(chromium: Chromium) -> None:
    page = await chromium.new_page(100, 100)
    await page.goto("data:text/html,<p>x</p>")
    with pytest.raises(PageCrashed):
        await page.send("Page.crash", timeout=10)
    with pytest.raises(PageCrashed):
        await page.wait_for("true", timeout=10)
    other = await chromium.new_page(100, 100)  # the browser is fine
    await other.goto("data:text/html,ok")
    assert await other.evaluate("document.body.textContent") == "ok"


async def test_pages_are_isolated_and_closed(chromium: Chromium, web_pages: WebPages) -> None:
    first = await chromium.new_page(200, 100)
    second = await chromium.new_page(300, 150)
    await first.goto(web_pages.base_url + "harness.css")
    await second.goto(web_pages.base_url)
    assert "leaflet-dynamic.html" in (await second.evaluate("document.body.innerText"))
    assert first.context_id != second.context_id
    assert [(r.path, r.status) for r in first.requests if r.path != "/favicon.ico"] == [("/harness.css", 200)]
    assert second.requests[0].url == web_pages.base_url
    await first.close()
    assert first not in chromium.pages
    assert await second.evaluate("innerWidth") == 300


# ---------------------------------------------------------------------------------------------------------------
# the clients
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("f", [None, "image"])
async def test_leaflet_dynamic_map_layer(
    chromium: Chromium, web_pages: WebPages, fake_arcgis: FakeArcGIS, f: str | None
) -> None:
    bbox = grid_view_3857()
    fake_arcgis.marker = marker_for(bbox)
    page, state = await open_map(chromium, web_pages.leaflet_dynamic(fake_arcgis.mapserver, bbox, f=f))
    bounds = state["bounds"]
    assert (bounds["width"], bounds["height"]) == (WIDTH, HEIGHT)
    assert_bbox_close(",".join(map(str, view_bbox(bounds))), bbox, tol=1e-3)  # grid-snapped: exact up to float noise

    exports = await page.wait_for_request("/MapServer/export")
    assert len(exports) == 1, page.diagnostics()
    params = exports[0].params
    assert params["f"] == (f or "json")
    assert params["size"] == f"{WIDTH},{HEIGHT}"
    assert (params["bboxSR"], params["imageSR"]) == ("3857", "3857")
    assert (params["format"], params["transparent"], params["dpi"]) == ("png32", "true", "96")
    assert_bbox_close(params["bbox"], bbox, tol=1e-3)
    # Esri Leaflet 3 sends the bbox as xmin,ymax,xmax,ymin (Leaflet "bottom-left" of projected bounds)
    x0, y0, x1, y1 = (float(v) for v in params["bbox"].split(","))
    assert x0 < x1 and y0 > y1
    assert exports[0].status == 200
    if f is None:  # f=json: the image comes from "href"
        assert exports[0].resource_type == "XHR"
        assert [r.status for r in await page.wait_for_request("/output/out1.png")] == [200]
    else:
        assert exports[0].resource_type == "Image"
    # Esri Leaflet also fetches the service metadata (URL with a trailing slash)
    (metadata,) = await page.wait_for_request("/MapServer/")
    assert metadata.params == {"f": "json"}

    png = await page.screenshot()
    assert_quadrants_and_marker(png, bounds, fake_arcgis.marker, page.diagnostics())
    assert_pixel_exact(png, bbox, fake_arcgis.marker)
    assert page.exceptions == []


async def test_leaflet_dynamic_unaligned_bbox_and_lonlat(
    chromium: Chromium, web_pages: WebPages, fake_arcgis: FakeArcGIS
) -> None:
    """An arbitrary bbox is drawn shifted by < 1 px (Leaflet rounds its pixel origin); __bounds says where."""
    bbox = (1_000_003.3, 6_000_007.7, 1_000_003.3 + 40_000.0, 6_000_007.7 + 30_000.0)
    page, state = await open_map(chromium, web_pages.leaflet_dynamic(fake_arcgis.mapserver, bbox, f="image"))
    bounds = state["bounds"]
    res = 100.0
    assert abs(bounds["xmax"] - bounds["xmin"] - WIDTH * res) < 1e-6
    assert_bbox_close(",".join(map(str, view_bbox(bounds))), bbox, tol=res)
    (export,) = await page.wait_for_request("/MapServer/export")
    assert_bbox_close(export.params["bbox"], view_bbox(bounds), tol=1e-3)

    lonlat = (bounds["west"], bounds["south"], bounds["east"], bounds["north"])
    _, state2 = await open_map(chromium, web_pages.leaflet_dynamic(fake_arcgis.mapserver, lonlat=lonlat))
    assert_bbox_close(",".join(map(str, view_bbox(state2["bounds"]))), view_bbox(bounds), tol=res)


async def test_leaflet_dynamic_epsg4326(chromium: Chromium, web_pages: WebPages, fake_arcgis: FakeArcGIS) -> None:
    bbox = (5.0, 45.0, 9.0, 48.0)  # 0.01 deg/px at 400x300
    fake_arcgis.marker = marker_for(bbox)
    page, state = await open_map(chromium, web_pages.leaflet_dynamic(fake_arcgis.mapserver, bbox, crs=4326))
    (export,) = await page.wait_for_request("/MapServer/export")
    assert (export.params["bboxSR"], export.params["imageSR"]) == ("4326", "4326")
    bounds = state["bounds"]
    assert_bbox_close(export.params["bbox"], view_bbox(bounds), tol=1e-9)
    assert_bbox_close(export.params["bbox"], bbox, tol=0.01)
    assert state["bounds"]["crs"] == "EPSG:4326"
    # the marker is drawn by the server relative to the requested bbox: screenshot places it via __bounds
    pixels = png_to_rgba(await page.screenshot())
    c0, r0 = map_to_pixel(bounds, fake_arcgis.marker[0], fake_arcgis.marker[3])
    c1, r1 = map_to_pixel(bounds, fake_arcgis.marker[2], fake_arcgis.marker[1])
    assert colour_at(pixels, (c0 + c1) / 2, (r0 + r1) / 2) == BLACK
    assert colour_at(pixels, 10, 10) == RED


async def test_leaflet_image_map_layer(chromium: Chromium, web_pages: WebPages, fake_arcgis: FakeArcGIS) -> None:
    bbox = grid_view_3857()
    fake_arcgis.marker = marker_for(bbox)
    url = web_pages.leaflet_image(
        fake_arcgis.imageserver, bbox, format="png", rendering_rule='{"rasterFunction":"None"}', band_ids=[2, 1, 0]
    )
    page, state = await open_map(chromium, url)
    (export,) = await page.wait_for_request("/ImageServer/exportImage")
    params = export.params
    assert params["f"] == "image"
    assert params["size"] == f"{WIDTH},{HEIGHT}"
    assert (params["bboxSR"], params["imageSR"], params["format"]) == ("3857", "3857", "png")
    assert json.loads(params["renderingRule"]) == {"rasterFunction": "None"}
    assert params["bandIds"] == "2,1,0"
    assert_bbox_close(params["bbox"], bbox, tol=1e-3)
    assert_quadrants_and_marker(await page.screenshot(), state["bounds"], fake_arcgis.marker, page.diagnostics())


@pytest.mark.parametrize("crs", ["EPSG:3857", "EPSG:4326"])
async def test_openlayers_image_arcgis_rest(
    chromium: Chromium, web_pages: WebPages, fake_arcgis: FakeArcGIS, crs: str
) -> None:
    extent = grid_view_3857() if crs == "EPSG:3857" else (5.0, 45.0, 9.0, 48.0)
    fake_arcgis.marker = marker_for(extent)
    page, state = await open_map(chromium, web_pages.ol_imagearcgisrest(fake_arcgis.mapserver, extent, crs=crs))
    bounds = state["bounds"]
    assert (bounds["width"], bounds["height"]) == (WIDTH, HEIGHT)
    assert_bbox_close(",".join(map(str, view_bbox(bounds))), extent, tol=1e-6)

    exports = await page.wait_for_request("/MapServer/export")
    assert len(exports) == 1, page.diagnostics()
    params = exports[0].params
    srid = crs.split(":")[1]
    assert params["f"] == "image"
    assert params["size"] == f"{WIDTH},{HEIGHT}"
    assert (params["bboxSR"], params["imageSR"]) == (srid, srid)
    assert (params["format"], params["transparent"], params["dpi"]) == ("png32", "true", "90")
    assert_bbox_close(params["bbox"], extent, tol=1e-6)
    assert exports[0].resource_type == "Image"
    # OL fetches no service metadata
    assert [r.path for r in page.requests if "/arcgis/" in r.url] == ["/arcgis/rest/services/Test/MapServer/export"]
    png = await page.screenshot()
    assert_quadrants_and_marker(png, bounds, fake_arcgis.marker, page.diagnostics())
    assert_pixel_exact(png, extent, fake_arcgis.marker)


async def test_extra_request_params_and_layers(
    chromium: Chromium, web_pages: WebPages, fake_arcgis: FakeArcGIS
) -> None:
    bbox = grid_view_3857()
    page, _ = await open_map(
        chromium, web_pages.leaflet_dynamic(fake_arcgis.mapserver, bbox, layers=[0, 2], extra={"time": "1,2"})
    )
    (export,) = await page.wait_for_request("/MapServer/export")
    assert (export.params["layers"], export.params["time"]) == ("show:0,2", "1,2")
    page, _ = await open_map(
        chromium, web_pages.ol_imagearcgisrest(fake_arcgis.mapserver, bbox, layers="show:1", extra={"dpi": 120})
    )
    (export,) = await page.wait_for_request("/MapServer/export")
    assert (export.params["layers"], export.params["dpi"]) == ("show:1", "120")


@pytest.mark.parametrize("client", ["leaflet-json", "leaflet-image", "ol"])
async def test_export_errors_are_reported(
    chromium: Chromium, web_pages: WebPages, fake_arcgis: FakeArcGIS, client: str
) -> None:
    fake_arcgis.fail_exports = True
    bbox = grid_view_3857()
    if client == "ol":
        url = web_pages.ol_imagearcgisrest(fake_arcgis.mapserver, bbox)
    else:
        url = web_pages.leaflet_dynamic(fake_arcgis.mapserver, bbox, f=client.split("-")[1])
    page = await chromium.new_page(WIDTH, HEIGHT)
    await page.goto(url)
    with pytest.raises(MapLoadError, match=r"requesterror 500: export broke|image failed to load|imageloaderror"):
        await wait_map_loaded(page, timeout=30)
    state = await map_state(page)
    assert state["loaded"] is False
    (export,) = await page.wait_for_request("/MapServer/export")
    assert export.status == (200 if client == "leaflet-json" else 500)


async def test_missing_cors_is_diagnosed(chromium: Chromium, web_pages: WebPages, fake_arcgis: FakeArcGIS) -> None:
    """Esri Leaflet loads cross-origin with CORS (XHR and <img crossorigin>): without the header it fails."""
    fake_arcgis.cors = False
    page = await chromium.new_page(WIDTH, HEIGHT)
    await page.goto(web_pages.leaflet_dynamic(fake_arcgis.mapserver, grid_view_3857(), f="image"))
    with pytest.raises(MapLoadError):  # the metadata XHR fails too: whichever error comes first
        await wait_map_loaded(page, timeout=30)
    await page.wait_for("window.__errors.some(e => e.includes('image failed to load'))", timeout=30)
    (export,) = await page.wait_for_request("/MapServer/export")
    assert export.error is not None and "MissingAllowOriginHeader" in export.error
    assert any("blocked by CORS policy" in m.text for m in page.console_messages), page.diagnostics()


async def test_page_setup_errors_are_reported(chromium: Chromium, web_pages: WebPages) -> None:
    page = await chromium.new_page(WIDTH, HEIGHT)
    await page.goto(web_pages.url("leaflet-dynamic.html", bbox=[0, 0, 1, 1]))
    with pytest.raises(MapLoadError, match='missing query parameter "service"'):
        await wait_map_loaded(page, timeout=10)
    await page.goto(
        web_pages.url(
            "ol-imagearcgisrest.html", service="http://127.0.0.1:9/x/MapServer", crs="EPSG:2056", extent=[0, 0, 1, 1]
        )
    )
    with pytest.raises(MapLoadError, match="does not know EPSG:2056"):
        await wait_map_loaded(page, timeout=10)


async def test_standalone_chromium_launch_and_shutdown() -> None:
    async with Chromium() as browser:
        process = browser.process
        assert process.alive and process.pid is not None
        page = await browser.new_page(64, 48)
        await page.goto("about:blank")
        assert png_to_rgba(await page.screenshot()).shape == (48, 64, 4)
        pid = process.pid
    assert not process.alive
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)
