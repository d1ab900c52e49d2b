"""The ArcGIS Maps SDK for JavaScript (``@arcgis/core``, bundled locally by scripts/install-js-deps.sh) as a real
client in headless Chromium (WebGL2 on SwiftShader): a MapView over a ``TileLayer`` of a tiled MapServer, and over a
``MapImageLayer`` of a dynamic one with sublayer visibility; each drawn canvas is compared with the backend's own
GetMap of the view's extent."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.backends.dataspec import REGION_COLOURS
from tests.backends.mapproxy import MapProxyBackend
from tests.backends.servers import FastCgiBackend
from tests.clients.harness.chromium import Chromium, Page
from tests.clients.harness.pages import (
    HALF_WORLD,
    REPO_ROOT,
    WebPages,
    leaflet_grid_bbox_3857,
    map_state,
    png_to_rgba,
    wait_map_loaded,
)
from tests.clients.test_tiles_clients import backend_picture
from tests.gateway import Gateway, fetch
from tests.needs import unavailable
from tests.pixels import mismatch_fraction

pytestmark = pytest.mark.client

WIDTH, HEIGHT = 400, 300
ZOOM = 3  # a level the other tile tests do not ask for; its view spans several 10° cells and region edges
SCALE = 156543.03392800014 / 2**ZOOM * 96 * 39.37  # Esri's scale of that level (tileInfo's lods, MapView's scale)
CENTER = (1_200_000.0, 3_800_000.0)
INSTALL_SCRIPT = REPO_ROOT / "scripts" / "install-arcgis-js.sh"


@pytest.fixture(scope="module", autouse=True)
def arcgis_bundle() -> None:
    """The SDK installed and bundled (scripts/install-js-deps.sh does it; a no-op when current, else ~1 min)."""
    if shutil.which("npm") is None:
        unavailable("npm is not installed (apt-get install nodejs npm): the ArcGIS Maps SDK cannot be bundled")
    run = subprocess.run(["bash", str(INSTALL_SCRIPT)], capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.fixture(scope="module")
def gateway(mapserver: FastCgiBackend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    workdir = tmp_path_factory.mktemp("arcgis-js")
    backend = {"url": mapserver.url, "flavor": "mapserver"}
    config = {"services": {
        "t/World": {"type": "MapServer", "layers": ["regions", "rgb"], "backend": backend,
                    "tiles": {"grid": "webmercator", "levels": [0, 12]}},
        "d/World": {"type": "MapServer", "layers": ["regions", "rgb"], "backend": backend},
    }}
    with Gateway(config, workdir) as gw:
        yield gw


@pytest.fixture(scope="module")
def wmts_gateway(mapserver: FastCgiBackend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """A tiled service whose tiles are MapProxy's WMTS tiles (of MapServer's ``rgb``), passed through."""
    if (why := MapProxyBackend.unavailable()) is not None:
        unavailable(why)
    with MapProxyBackend(mapserver.url, tmp_path_factory.mktemp("arcgis-js-mapproxy"), wmts=True) as mapproxy:
        backend = {"url": mapproxy.url, "flavor": "generic"}
        config = {"services": {"w/World": {"type": "MapServer", "backend": backend, "layers": ["rgb"],
                                           "tiles": {"grid": "webmercator", "wmts": {"layer": "rgb"}}}}}
        with Gateway(config, tmp_path_factory.mktemp("arcgis-js-wmts")) as gw:
            yield gw


def resolution(level: int) -> float:
    return 156543.03392800014 / 2**level


def view_center(level: int) -> tuple[float, float]:
    # On the level's pixel grid (the view has an even size): the view's pixels are then whole tile pixels.
    bbox = leaflet_grid_bbox_3857(CENTER, resolution(level), (WIDTH, HEIGHT))
    return (bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2


def tiles_covering(bounds: dict[str, Any], level: int) -> set[tuple[int, int]]:
    """(row, col) of the tiles of ``level`` the view's extent touches."""
    span = 256 * resolution(level)
    cols = range(math.floor((bounds["xmin"] + HALF_WORLD) / span), math.ceil((bounds["xmax"] + HALF_WORLD) / span))
    rows = range(math.floor((HALF_WORLD - bounds["ymax"]) / span), math.ceil((HALF_WORLD - bounds["ymin"]) / span))
    return {(row, col) for row in rows for col in cols}


async def open_view(chromium: Chromium, url: str) -> tuple[Page, dict[str, Any]]:
    """Open a page and wait until its MapView stopped updating; every request it made was local and answered."""
    page = await chromium.new_page(WIDTH, HEIGHT)
    await page.goto(url)
    state = await wait_map_loaded(page, timeout=90)
    # Nothing from js.arcgis.com or any other host (esriConfig.assetsPath is local; CI has no internet either).
    local = ("http://127.0.0.1:", "blob:http://127.0.0.1:", "data:")
    assert [r.url for r in page.requests if not r.url.startswith(local)] == []
    # Lazily loaded chunks of the bundle may still be on their way; nothing failed or was refused.
    failed = [str(r) for r in page.requests if r.error is not None or (r.status or 200) != 200]
    assert failed == [], page.diagnostics()
    return page, state


TILED_CASES = [  # the gateway fixture, its service, the MapServer layers its tiles show
    ("gateway", "t/World", "rgb,regions"),  # tiles cut from metatiles drawn by MapServer
    ("wmts_gateway", "w/World", "rgb"),  # tiles passed through from MapProxy's WMTS
]


@pytest.mark.parametrize(("fixture", "name", "wms_layers"), TILED_CASES)
async def test_tile_layer_reads_tile_info_fetches_tiles_and_draws_them(
        chromium: Chromium, web_pages: WebPages, mapserver: FastCgiBackend, request: pytest.FixtureRequest,
        fixture: str, name: str, wms_layers: str) -> None:
    tiled = Tiled(request.getfixturevalue(fixture).services_url(name), mapserver, wms_layers)
    service = tiled.url
    url = web_pages.url("arcgis-view.html", service=service, center=view_center(ZOOM), zoom=ZOOM)
    page, state = await open_view(chromium, url)
    # The SDK accepted the root JSON: the layer loaded, its tileInfo is the service's, the view took its LODs.
    layer = await page.evaluate(
        "({status: __layer.loadStatus, error: __layer.loadError && __layer.loadError.message,"
        " lods: __layer.tileInfo.lods.map(l => [l.level, l.resolution, l.scale]),"
        " wkid: __layer.tileInfo.spatialReference.wkid, viewLods: __view.constraints.effectiveLODs.length})")
    assert layer["status"] == "loaded" and layer["error"] is None, page.diagnostics()
    published = fetch(service, {"f": "json"}).json()["tileInfo"]
    assert layer["lods"] == [[lod["level"], lod["resolution"], lod["scale"]] for lod in published["lods"]]
    assert layer["wkid"] == 102100 and layer["viewLods"] == len(published["lods"])
    assert [r.status for r in page.requests if r.path.endswith(f"/{name}/MapServer")] == [200]
    await check_tiles_drawn(page, tiled, ZOOM, state["bounds"])
    # Zoomed in one level (as a user would, without animation): the tiles of the next level, drawn as well.
    x, y = view_center(ZOOM + 1)
    target = {"center": {"x": x, "y": y, "spatialReference": {"wkid": 102100}}, "zoom": ZOOM + 1}
    zoomed = await page.evaluate(
        f"__view.goTo({json.dumps(target)}, {{animate: false}})"
        ".then(() => arcgis.reactiveUtils.whenOnce(() => !__view.updating && __view.stationary))"
        ".then(() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r))))"
        ".then(() => ({xmin: __view.extent.xmin, ymin: __view.extent.ymin, xmax: __view.extent.xmax,"
        " ymax: __view.extent.ymax, zoom: __view.zoom, resolution: __view.resolution,"
        " wkid: __view.spatialReference.wkid, width: __view.width, height: __view.height}))", timeout=60)
    await check_tiles_drawn(page, tiled, ZOOM + 1, zoomed)
    assert page.exceptions == [] and (await map_state(page))["errors"] == []


@dataclass
class Tiled:
    """A tiled service under test: its URL, and the MapServer layers its tiles show."""

    url: str
    mapserver: FastCgiBackend
    wms_layers: str


async def check_tiles_drawn(page: Page, tiled: Tiled, level: int, shown: dict[str, Any]) -> None:
    """The view shows ``level``: the SDK read its tilemap, fetched its tiles, and the canvas shows their content."""
    assert shown["zoom"] == level and shown["wkid"] == 102100
    assert shown["resolution"] == pytest.approx(resolution(level))
    assert (shown["width"], shown["height"]) == (WIDTH, HEIGHT)
    # It read the tilemap (the service's capabilities say Tilemap) before asking for tiles of that level.
    path = urlsplit(tiled.url).path
    tilemaps = [i for i, r in enumerate(page.requests) if r.path.startswith(f"{path}/tilemap/{level}/")]
    assert [page.requests[i].status for i in tilemaps] == [200], page.diagnostics()
    # It fetched …/tile/{level}/{row}/{col}: every tile of the view (and a ring around it it prefetches), all 200.
    prefix = f"{path}/tile/{level}/"
    tiles = [r for r in page.requests if prefix in r.path]
    assert tiles and page.requests.index(tiles[0]) > tilemaps[0]
    assert tiles and all(r.status == 200 and r.mime_type == "image/png" for r in tiles), page.diagnostics()
    fetched = {tuple(int(v) for v in r.path.rsplit(prefix, 1)[1].split("/")) for r in tiles}
    needed = tiles_covering(shown, level)
    assert needed <= fetched, (needed, fetched)
    rows, cols = {r for r, _ in needed}, {c for _, c in needed}
    assert all(min(rows) - 1 <= r <= max(rows) + 1 and min(cols) - 1 <= c <= max(cols) + 1 for r, c in fetched)
    # The gateway answered them: they are now in its memory tier.
    for row, col in sorted(needed):
        assert fetch(f"{tiled.url}/tile/{level}/{row}/{col}").headers["X-Arcbridge-Cache"] == "hit", (row, col)
    # The canvas shows the tiles' content: the backend's own picture of the view's extent.
    screenshot = png_to_rgba(await page.screenshot())
    expected = backend_picture(tiled.mapserver, (shown["xmin"], shown["ymin"], shown["xmax"], shown["ymax"]),
                               WIDTH, HEIGHT, layers=tiled.wms_layers)
    assert mismatch_fraction(screenshot, expected, tol=3) < 0.01, page.diagnostics()


MAP_IMAGE_CASES = [  # service, sublayers shown (None: the service's), their definitionExpression, WMS layers drawn
    ("d/World", None, None, "rgb,regions"),
    ("d/World", [0], None, "regions"),
    ("d/World", [1], None, "rgb"),
    # a tiled service (supportsDynamicLayers): the sublayer's definition goes through export as layerDefs
    ("t/World", [0], "category = 'A'", "regions"),
]


@pytest.mark.parametrize(("name", "sublayers", "definition", "wms_layers"), MAP_IMAGE_CASES)
async def test_map_image_layer_exports_the_visible_sublayers(
        chromium: Chromium, web_pages: WebPages, gateway: Gateway, mapserver: FastCgiBackend, name: str,
        sublayers: list[int] | None, definition: str | None, wms_layers: str) -> None:
    service = gateway.services_url(name)
    url = web_pages.url("arcgis-view.html", service=service, layer="image", center=view_center(ZOOM), scale=SCALE,
                        sublayers=sublayers, definition=definition)
    page, state = await open_view(chromium, url)
    shown = state["bounds"]
    assert shown["wkid"] == 102100 and shown["scale"] == pytest.approx(SCALE)
    assert [r.status for r in page.requests if r.path.endswith(f"/{name}/MapServer")] == [200]
    exports = [r for r in page.requests if r.path.endswith(f"/{name}/MapServer/export")]
    assert len(exports) == 1 and exports[0].status == 200 and exports[0].mime_type == "image/png", page.diagnostics()
    query = {key: values[0] for key, values in parse_qs(urlsplit(exports[0].url).query).items()}
    assert query["layers"] == "show:" + ",".join(str(i) for i in (sublayers or [0, 1]))
    assert (json.loads(query["layerDefs"]) if "layerDefs" in query else None) == (
        None if definition is None else {"0": definition})
    assert [float(v) for v in query["bbox"].split(",")] == pytest.approx(
        [shown["xmin"], shown["ymin"], shown["xmax"], shown["ymax"]], abs=resolution(ZOOM) / 100)
    assert (query["size"], query["bboxSR"], query["f"]) == (f"{WIDTH},{HEIGHT}", "102100", "image")
    screenshot = png_to_rgba(await page.screenshot())
    expected = backend_picture(mapserver, (shown["xmin"], shown["ymin"], shown["xmax"], shown["ymax"]), WIDTH,
                               HEIGHT, layers=wms_layers)
    if definition is not None:  # category = 'A': the region of category B in view is not drawn (white background)
        category_b = (expected[..., :3] == REGION_COLOURS["B"]).all(axis=-1)
        assert category_b.mean() > 0.02
        expected[category_b] = 255
    assert mismatch_fraction(screenshot, expected, tol=3) < 0.01, page.diagnostics()
    assert page.exceptions == [] and state["errors"] == []
