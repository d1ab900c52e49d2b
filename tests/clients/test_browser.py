"""Real browser clients (Esri Leaflet, OpenLayers) in headless Chromium draw through the gateway."""

from __future__ import annotations

from typing import Any

import pytest

from tests.backends import dataspec as ds
from tests.backends.servers import FastCgiBackend
from tests.clients.harness.chromium import Chromium, Page
from tests.clients.harness.pages import WebPages, leaflet_grid_bbox_3857, png_to_rgba, wait_map_loaded
from tests.gateway import Gateway, fetch
from tests.pixels import mismatch_fraction, rgba

pytestmark = pytest.mark.client

WIDTH, HEIGHT = 400, 300


async def open_map(browser: Chromium, url: str) -> tuple[Page, dict[str, Any]]:
    page = await browser.new_page(WIDTH, HEIGHT)
    await page.goto(url)
    state = await wait_map_loaded(page, timeout=60)
    return page, state


def backend_render(backend: FastCgiBackend, bbox: tuple[float, ...], dpi: int) -> Any:
    reply = fetch(backend.url, {"SERVICE": "WMS", "VERSION": "1.1.1", "REQUEST": "GetMap",
                                "LAYERS": "rgb,regions,cities", "STYLES": ",,", "SRS": "EPSG:3857",
                                "BBOX": ",".join(repr(v) for v in bbox), "WIDTH": str(WIDTH),
                                "HEIGHT": str(HEIGHT), "FORMAT": "image/png", "MAP_RESOLUTION": str(dpi)})
    assert reply.status == 200 and reply.content_type == "image/png"
    return rgba(reply.body)


@pytest.mark.parametrize("f", [None, "image"])
async def test_esri_leaflet_dynamic_map_layer(chromium: Chromium, web_pages: WebPages, gateway: Gateway,
                                              mapserver: FastCgiBackend, f: str | None) -> None:
    bbox = leaflet_grid_bbox_3857((1_500_000.0, 6_500_000.0), 9783.939620502551, (WIDTH, HEIGHT))
    page, state = await open_map(chromium, web_pages.leaflet_dynamic(gateway.services_url("ms/World"), bbox, f=f))
    (export,) = page.requests_to("/MapServer/export")
    assert export.status == 200, page.diagnostics()
    assert export.params["bboxSR"] == "3857" and export.params["size"] == f"{WIDTH},{HEIGHT}"
    if f is None:
        (image,) = page.requests_to(".png")
        assert "/arcgis/rest/directories/arcgisoutput/" in image.url and image.status == 200
    screenshot = png_to_rgba(await page.screenshot())
    expected = backend_render(mapserver, bbox, 96)
    assert mismatch_fraction(screenshot, expected, tol=3) < 0.01, page.diagnostics()
    assert page.exceptions == []
    assert state["bounds"]["width"] == WIDTH


async def test_openlayers_image_arcgis_rest(chromium: Chromium, web_pages: WebPages, gateway: Gateway,
                                            mapserver: FastCgiBackend) -> None:
    res = 9783.939620502551
    x0, y0 = -2_000_000.0, 4_000_000.0
    extent = (x0, y0, x0 + WIDTH * res, y0 + HEIGHT * res)
    page, _ = await open_map(chromium, web_pages.ol_imagearcgisrest(gateway.services_url("qgis/World"), extent))
    (export,) = page.requests_to("/MapServer/export")
    assert export.status == 200, page.diagnostics()
    assert export.params["dpi"] == "90" and export.params["f"] == "image"
    screenshot = png_to_rgba(await page.screenshot())
    # QGIS draws the same data as MapServer; cell edges may differ by a pixel after resampling
    expected = backend_render(mapserver, extent, 90)
    assert mismatch_fraction(screenshot, expected, tol=10) < 0.05, page.diagnostics()
    from pyproj import Transformer

    x, y = Transformer.from_crs(4326, 3857, always_xy=True).transform(-3.0, 44.0)  # inside Cote d'Or
    col = int((x - extent[0]) / res)
    row = int((extent[3] - y) / res)
    assert tuple(int(v) for v in screenshot[row, col, :3]) == ds.REGION_COLOURS["B"]
