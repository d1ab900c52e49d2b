"""Real clients of a tiled MapServer: Esri Leaflet ``tiledMapLayer`` and OpenLayers XYZ in Chromium, and GDAL opening
the service from its ``tileInfo``; each picture is checked against the backend's own GetMap of the same extent."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import rasterio

from tests.backends.servers import FastCgiBackend
from tests.clients.harness.chromium import Chromium
from tests.clients.harness.pages import WebPages, leaflet_grid_bbox_3857, png_to_rgba, wait_map_loaded
from tests.gateway import Gateway, fetch
from tests.needs import unavailable
from tests.pixels import mismatch_fraction, rgba

pytestmark = pytest.mark.client

WIDTH, HEIGHT = 400, 300
ZOOM = 5
RESOLUTION = 156543.03392800014 / 2**ZOOM
GDAL_TRANSLATE = shutil.which("gdal_translate") or "/usr/bin/gdal_translate"
SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's, where python3-qgis installs the QGIS bindings
QGIS_SCRIPT = Path(__file__).with_name("qgis_tiles.py")


@pytest.fixture(scope="module")
def tiled(mapserver: FastCgiBackend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    workdir = tmp_path_factory.mktemp("tiled-clients")
    config = {"services": {"t/World": {"type": "MapServer", "layers": ["regions", "rgb"],
                                       "backend": {"url": mapserver.url, "flavor": "mapserver"},
                                       "tiles": {"grid": "webmercator", "levels": [0, 12]}}}}
    with Gateway(config, workdir) as gateway:
        yield gateway


def backend_picture(backend: FastCgiBackend, bbox: tuple[float, ...], width: int, height: int,
                    layers: str = "rgb,regions") -> np.ndarray:
    reply = fetch(backend.url, {"SERVICE": "WMS", "VERSION": "1.1.1", "REQUEST": "GetMap", "LAYERS": layers,
                                "STYLES": "," * layers.count(","), "SRS": "EPSG:3857",
                                "BBOX": ",".join(repr(v) for v in bbox),
                                "WIDTH": str(width), "HEIGHT": str(height), "FORMAT": "image/png",
                                "MAP_RESOLUTION": "96"})
    assert reply.status == 200 and reply.content_type == "image/png"
    return rgba(reply.body)


def view_bbox() -> tuple[float, float, float, float]:
    # Snapped to the level's pixel grid: the client then draws whole tile pixels, as the backend's picture has them.
    return leaflet_grid_bbox_3857((1_200_000.0, 5_800_000.0), RESOLUTION, (WIDTH, HEIGHT))


async def test_esri_leaflet_tiled_map_layer(chromium: Chromium, web_pages: WebPages, tiled: Gateway,
                                            mapserver: FastCgiBackend) -> None:
    bbox = view_bbox()
    url = web_pages.url("leaflet-tiled.html", service=tiled.services_url("t/World"), bbox=bbox, zoom=ZOOM)
    page = await chromium.new_page(WIDTH, HEIGHT)
    await page.goto(url)
    state = await wait_map_loaded(page, timeout=60)
    tiles = [r for r in page.requests if f"/MapServer/tile/{ZOOM}/" in r.path]
    assert tiles and all(t.status == 200 for t in tiles), page.diagnostics()
    assert state["bounds"]["zoom"] == ZOOM
    shown = state["bounds"]["mercator"]
    assert shown["xmin"] == pytest.approx(bbox[0], abs=RESOLUTION) and shown["ymax"] == pytest.approx(bbox[3],
                                                                                                       abs=RESOLUTION)
    screenshot = png_to_rgba(await page.screenshot())
    expected = backend_picture(mapserver, (shown["xmin"], shown["ymin"], shown["xmax"], shown["ymax"]), WIDTH,
                               HEIGHT)
    assert mismatch_fraction(screenshot, expected, tol=3) < 0.01, page.diagnostics()
    assert page.exceptions == []


async def test_openlayers_xyz(chromium: Chromium, web_pages: WebPages, tiled: Gateway,
                              mapserver: FastCgiBackend) -> None:
    bbox = view_bbox()
    url = web_pages.url("ol-xyz.html", service=tiled.services_url("t/World"), extent=bbox, zoom=ZOOM)
    page = await chromium.new_page(WIDTH, HEIGHT)
    await page.goto(url)
    state = await wait_map_loaded(page, timeout=60)
    tiles = [r for r in page.requests if f"/MapServer/tile/{ZOOM}/" in r.path]
    assert tiles and all(t.status == 200 for t in tiles), page.diagnostics()
    shown = state["bounds"]
    assert shown["resolution"] == pytest.approx(RESOLUTION)
    screenshot = png_to_rgba(await page.screenshot())
    expected = backend_picture(mapserver, (shown["xmin"], shown["ymin"], shown["xmax"], shown["ymax"]), WIDTH,
                               HEIGHT)
    assert mismatch_fraction(screenshot, expected, tol=3) < 0.01, page.diagnostics()
    assert page.exceptions == []


def test_gdal_opens_the_tiled_service_and_reads_pixels(tiled: Gateway, mapserver: FastCgiBackend,
                                                       tmp_path: Path) -> None:
    source = tiled.services_url("t/World") + "?f=json"
    out = tmp_path / "out.tif"
    # A window of whole level-ZOOM tiles, read at that level's resolution: GDAL fetches /tile and mosaics.
    span = 256 * RESOLUTION
    x0, y1 = -20037508.342787 + 17 * span, 20037508.342787 - 11 * span
    window = (x0, y1 - 2 * span, x0 + 2 * span, y1)
    env = {"GDAL_HTTP_TIMEOUT": "60", "CPL_DEBUG": "OFF", "PATH": "/usr/bin:/bin"}
    # Run in tmp_path: GDAL keeps the tiles of an ArcGIS JSON source in ./gdalwmscache.
    info = subprocess.run(["gdalinfo", source], capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    assert info.returncode == 0, info.stderr
    # GDAL opens an ArcGIS service only from its tileInfo (level 0 one tile wide): the lods become its overviews.
    assert "Size is" in info.stdout and "Overviews" in info.stdout
    subprocess.run([GDAL_TRANSLATE, "-q", "-projwin", repr(window[0]), repr(window[3]), repr(window[2]),
                    repr(window[1]), "-outsize", "512", "512", source, str(out)], check=True, timeout=120, env=env,
                   cwd=tmp_path)
    with rasterio.open(out) as dataset:
        bands = dataset.read()
    assert bands.shape[0] >= 3
    picture = np.dstack([*bands[:3], np.full(bands.shape[1:], 255, dtype=np.uint8)])
    expected = backend_picture(mapserver, window, 512, 512)
    assert mismatch_fraction(picture, expected, tol=3) < 0.01


def test_qgis_arcgis_provider_draws_the_tiles(tiled: Gateway, mapserver: FastCgiBackend, tmp_path: Path) -> None:
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import qgis.core"], capture_output=True, timeout=60)
    if probe.returncode != 0:
        unavailable("the QGIS Python bindings are not installed (apt-get install python3-qgis)")
    level = 6  # a level no other test of this module asks for: its tiles in memory can only be QGIS's
    resolution = 156543.03392800014 / 2**level
    span = 256 * resolution
    x0, y1 = -20037508.342787 + 34 * span, 20037508.342787 - 22 * span
    bbox = (x0, y1 - 2 * span, x0 + 2 * span, y1)
    out = tmp_path / "qgis.png"
    run = subprocess.run([SYSTEM_PYTHON, str(QGIS_SCRIPT), tiled.services_url("t/World"),
                          ",".join(repr(v) for v in bbox), "512", "512", str(out)],
                         capture_output=True, text=True, timeout=180)
    assert run.returncode == 0 and run.stdout.startswith("size"), (run.stdout, run.stderr[-2000:])
    picture = rgba(out.read_bytes())
    expected = backend_picture(mapserver, bbox, 512, 512)
    assert mismatch_fraction(picture, expected, tol=3) < 0.01
    # QGIS fetched the tiles (not an export): the four tiles of the view are now in the gateway's memory tier.
    for row in (22, 23):
        for col in (34, 35):
            reply = fetch(f"{tiled.services_url('t/World')}/tile/{level}/{row}/{col}")
            assert reply.headers["X-Arcbridge-Cache"] == "hit", (row, col)
