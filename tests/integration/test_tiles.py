"""Tiled MapServer through the real gateway: tileInfo, /tile drawn by metatiles from MapServer and QGIS, validators,
404s, one GetMap per cold metatile however many ask, and the persistent store across a restart."""

from __future__ import annotations

import io
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from tests.backends import dataspec as ds
from tests.backends.servers import FastCgiBackend
from tests.gateway import ROOT, Gateway, fetch
from tests.pixels import mismatch_fraction, rgba

pytestmark = pytest.mark.backend

ORIGIN = -20037508.342787
LEVEL0 = 156543.03392800014
# Esri's standard Web Mercator scales (ArcGIS Online basemaps' tileInfo, PROTOCOLS.md §4.1), levels 0-23.
ESRI_SCALES = [591657527.591555, 295828763.795777, 147914381.897889, 73957190.948944, 36978595.474472,
               18489297.737236, 9244648.868618, 4622324.434309, 2311162.217155, 1155581.108577, 577790.554289,
               288895.277144, 144447.638572, 72223.819286, 36111.909643, 18055.954822, 9027.977411, 4513.988705,
               2256.994353, 1128.497176, 564.248588, 282.124294, 141.062147, 70.531074]


def tiled_config(mapserver: FastCgiBackend, qgis: FastCgiBackend, store: Path) -> dict[str, Any]:
    def svc(url: str, flavor: str, layers: list[str], tiles: dict[str, Any]) -> dict[str, Any]:
        return {"type": "MapServer", "backend": {"url": url, "flavor": flavor}, "layers": layers, "tiles": tiles}

    web = {"grid": "webmercator"}
    return {"services": {
        "t/World": svc(mapserver.url, "mapserver", ["regions", "rgb"], web),
        "t/Raster": svc(mapserver.url, "mapserver", ["rgb"], {**web, "levels": [0, 12]}),
        "t/Temperature": svc(mapserver.url, "mapserver", ["temperature"], web),
        "t/Cities": svc(mapserver.url, "mapserver", ["cities"], web),
        "t/Qgis": svc(qgis.url, "qgis", ["rgb"], web),
        "t/Stored": svc(mapserver.url, "mapserver", ["rgb"],
                        {**web, "store": {"path": str(store), "maxBytes": "64MB"}}),
    }}


@pytest.fixture(scope="module")
def tiled(mapserver: FastCgiBackend, qgis: FastCgiBackend, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[Gateway]:
    workdir = tmp_path_factory.mktemp("tiled")
    with Gateway(tiled_config(mapserver, qgis, workdir / "store"), workdir) as gw:
        yield gw


def backend_requests(gateway: Gateway) -> int:
    return int(fetch(gateway.url + "/arcbridge/stats").json()["cache"]["backendRequests"])


def tile_url(gateway: Gateway, service: str, level: int, row: int, col: int) -> str:
    return f"{gateway.services_url(service)}/tile/{level}/{row}/{col}"


def tile_bbox(level: int, row: int, col: int, across: int = 1, down: int = 1) -> tuple[float, ...]:
    span = 256 * LEVEL0 / 2**level
    x0, y1 = ORIGIN + col * span, -ORIGIN - row * span
    return x0, y1 - down * span, x0 + across * span, y1


def backend_getmap(backend: FastCgiBackend, layers: str, bbox: tuple[float, ...], width: int, height: int) -> bytes:
    """The backend's own picture of an extent, asked directly (the reference the tiles are checked against)."""
    dpi = {"MAP_RESOLUTION": "96"} if backend.kind == "mapserver" else {"DPI": "96"}
    reply = fetch(backend.url, {"SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetMap", "LAYERS": layers,
                                "STYLES": "", "CRS": "EPSG:3857", "BBOX": ",".join(repr(v) for v in bbox),
                                "WIDTH": str(width), "HEIGHT": str(height), "FORMAT": "image/png",
                                "TRANSPARENT": "TRUE", **dpi})
    assert reply.status == 200 and reply.content_type == "image/png", reply.body[:300]
    return reply.body


def off_by_more_than(image: np.ndarray, expected: np.ndarray, pixels: int, tol: int = 8) -> float:
    """The share of pixels of ``image`` that match no pixel of ``expected`` within ``pixels`` of their place: QGIS
    reprojects rasters with an approximate transform whose error depends on the picture's size, so a cell edge may
    fall a row or two apart in a metatile and in a single tile's picture; nothing else may differ."""
    height, width = expected.shape[:2]
    r = pixels
    padded = np.pad(expected.astype(int), ((r, r), (r, r), (0, 0)), mode="edge")
    ok = np.zeros((height, width), dtype=bool)
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            shifted = padded[r + dy:r + dy + height, r + dx:r + dx + width]
            ok |= (np.abs(image.astype(int) - shifted) <= tol).all(axis=2)
    return float((~ok).mean())


def test_root_announces_the_esri_web_mercator_cache(tiled: Gateway) -> None:
    data = fetch(tiled.services_url("t/World"), {"f": "json"}).json()
    assert data["singleFusedMapCache"] is True and data["supportsDynamicLayers"] is True
    assert data["spatialReference"] == {"wkid": 102100, "latestWkid": 3857}
    assert data["fullExtent"]["spatialReference"]["wkid"] == 102100
    assert "Tilemap" in data["capabilities"].split(",") and "Map" in data["capabilities"].split(",")
    info = data["tileInfo"]
    assert (info["rows"], info["cols"], info["dpi"], info["format"]) == (256, 256, 96, "PNG32")
    assert info["origin"] == {"x": ORIGIN, "y": -ORIGIN}
    assert info["spatialReference"] == {"wkid": 102100, "latestWkid": 3857}
    assert [lod["level"] for lod in info["lods"]] == list(range(24))
    assert [lod["scale"] for lod in info["lods"]] == ESRI_SCALES
    assert info["lods"][0]["resolution"] == LEVEL0
    assert info["lods"][19]["resolution"] == pytest.approx(0.29858214173889186, rel=1e-15)
    assert (data["minScale"], data["maxScale"], data["minLOD"], data["maxLOD"]) == (ESRI_SCALES[0], ESRI_SCALES[23],
                                                                                    0, 23)
    limited = fetch(tiled.services_url("t/Raster"), {"f": "json"}).json()
    assert len(limited["tileInfo"]["lods"]) == 13 and limited["maxScale"] == ESRI_SCALES[12]


@pytest.mark.parametrize(("service", "layers"), [("t/Raster", "rgb"), ("t/Qgis", "rgb"), ("t/World", "regions,rgb")])
def test_tile_pixels_equal_the_backends_own_getmap(tiled: Gateway, mapserver: FastCgiBackend,
                                                   qgis: FastCgiBackend, service: str, layers: str) -> None:
    backend = qgis if service == "t/Qgis" else mapserver
    layer_list = ",".join(reversed(layers.split(",")))  # the GetMap draws the bottom layer first
    for level, row, col in [(2, 1, 1), (4, 5, 9), (5, 11, 17)]:
        reply = fetch(tile_url(tiled, service, level, row, col))
        assert reply.status == 200 and reply.content_type == "image/png"
        tile = rgba(reply.body)
        assert tile.shape == (256, 256, 4)
        expected = rgba(backend_getmap(backend, layer_list, tile_bbox(level, row, col), 256, 256))
        if service == "t/Qgis":
            assert mismatch_fraction(tile, expected, tol=8) < 0.05
            assert off_by_more_than(tile, expected, 2) == 0, (service, level, row, col)
        else:  # MapServer draws the same pixels in a metatile as in the tile's own picture
            assert mismatch_fraction(tile, expected, tol=8) < 0.001, (service, level, row, col)


def test_no_seams_between_tiles_of_different_metatiles(tiled: Gateway, mapserver: FastCgiBackend) -> None:
    # Columns 3 and 4 of level 4 lie in two metatiles (columns 0-3 and 4-7): their shared edge must join up as the
    # backend draws the two tiles' extent in one picture.
    level, row = 4, 6
    left = rgba(fetch(tile_url(tiled, "t/World", level, row, 3)).body)
    right = rgba(fetch(tile_url(tiled, "t/World", level, row, 4)).body)
    joined = np.concatenate([left, right], axis=1)
    whole = rgba(backend_getmap(mapserver, "rgb,regions", tile_bbox(level, row, 3, across=2), 512, 256))
    assert mismatch_fraction(joined, whole, tol=8) < 0.01
    edge = slice(250, 262)  # the columns either side of the seam
    assert mismatch_fraction(joined[:, edge], whole[:, edge], tol=8) < 0.02


def test_tile_colours_are_the_datas(tiled: Gateway) -> None:
    # Level 3 tile (3, 4): its centre pixel lies in a known 10-degree cell of the rgb raster.
    level, row, col = 3, 3, 4
    x0, y0, x1, y1 = tile_bbox(level, row, col)
    tile = rgba(fetch(tile_url(tiled, "t/Raster", level, row, col)).body)
    from pyproj import Transformer

    lon, lat = Transformer.from_crs(3857, 4326, always_xy=True).transform((x0 + x1) / 2, (y0 + y1) / 2)
    assert tuple(tile[128, 128, :3]) == tuple(ds.rgb_colour_at(lon, lat)[:3])


def test_validators_and_cache_control(tiled: Gateway) -> None:
    url = tile_url(tiled, "t/Raster", 3, 2, 2)
    first = fetch(url)
    second = fetch(url)
    assert first.status == second.status == 200 and second.body == first.body
    assert second.headers["X-Arcbridge-Cache"] == "hit" and second.headers["ETag"] == first.headers["ETag"]
    assert first.headers["Cache-Control"] == "public, max-age=300" and "Last-Modified" in first.headers
    assert fetch(url, headers={"If-None-Match": first.headers["ETag"]}).status == 304
    assert fetch(url, headers={"If-Modified-Since": first.headers["Last-Modified"]}).status == 304


def test_out_of_range_and_blank_tiles_are_404(tiled: Gateway) -> None:
    assert fetch(tile_url(tiled, "t/Raster", 13, 0, 0)).status == 404  # beyond the configured levels
    assert fetch(tile_url(tiled, "t/World", 24, 0, 0)).status == 404  # beyond the grid's levels
    assert fetch(tile_url(tiled, "t/World", 2, 4, 0)).status == 404  # level 2 has rows 0-3
    assert fetch(tile_url(tiled, "t/World", 2, 0, 4)).status == 404
    assert fetch(tile_url(tiled, "t/World", 2, -1, 0)).status == 404
    assert fetch(f"{tiled.services_url('t/World')}/tile/2/a/0").status == 404
    assert fetch(tile_url(tiled, "t/World", 0, 0, 0)).status == 200  # level 0 is one tile
    assert fetch(tile_url(tiled, "t/World", 2, 3, 3)).status == 200  # the last tile of level 2
    # The temperature raster covers lon 0-40, lat 30-60 (dataspec): a tile far from it is outside the data, a tile
    # over it is not.
    assert ds.TEMPERATURE_EXTENT == (0.0, 30.0, 40.0, 60.0)
    assert fetch(tile_url(tiled, "t/Temperature", 3, 7, 0)).status == 404
    assert fetch(tile_url(tiled, "t/Temperature", 3, 2, 4)).status == 200
    # A tile of the cities layer (within its extent, lon -100..60) with no city is blank: a tile with blank-tile,
    # or 404 with blankTile=false.
    blank = fetch(tile_url(tiled, "t/Cities", 6, 30, 23))
    assert blank.status == 200 and blank.headers.get("blank-tile") == "true"
    assert not rgba(blank.body)[..., 3].any()
    assert fetch(tile_url(tiled, "t/Cities", 6, 30, 23) + "?blankTile=false").status == 404


def test_tilemap(tiled: Gateway) -> None:
    data = fetch(f"{tiled.services_url('t/World')}/tilemap/2/0/0/8/8", {"f": "json"}).json()
    assert data["valid"] is True and data["location"] == {"left": 0, "top": 0, "width": 8, "height": 8}
    flags = np.array(data["data"]).reshape(8, 8)
    assert flags[:4, :4].all() and not flags[4:, :].any() and not flags[:, 4:].any()
    empty = fetch(f"{tiled.services_url('t/World')}/tilemap/2/4/4/8/8", {"f": "json"})
    assert empty.status == 422 and empty.json()["error"]["code"] == 422  # ArcGIS: no tile in the window


def test_100_requests_for_one_cold_metatile_make_one_getmap(tiled: Gateway) -> None:
    fetch(tiled.services_url("t/Raster"), {"f": "json"})  # capabilities in hand
    level, row0, col0 = 7, 40, 64  # a metatile nothing else asks for
    urls = [tile_url(tiled, "t/Raster", level, row0 + i // 4, col0 + i % 4) for i in range(16)]
    before = backend_requests(tiled)
    with ThreadPoolExecutor(max_workers=100) as pool:
        replies = list(pool.map(lambda i: fetch(urls[i % 16]), range(100)))
    assert all(r.status == 200 for r in replies)
    assert backend_requests(tiled) - before == 1
    by_url: dict[str, bytes] = {}
    for i, reply in enumerate(replies):
        assert by_url.setdefault(urls[i % 16], reply.body) == reply.body


def test_png_tiles_decode(tiled: Gateway) -> None:
    body = fetch(tile_url(tiled, "t/World", 1, 0, 1)).body
    assert Image.open(io.BytesIO(body)).size == (256, 256)


def test_a_seeded_store_answers_after_a_restart_without_the_backend(mapserver: FastCgiBackend,
                                                                     qgis: FastCgiBackend, tmp_path: Path) -> None:
    config = tiled_config(mapserver, qgis, tmp_path / "store")
    urls = [f"/tile/5/{row}/{col}" for row in range(10, 14) for col in range(16, 20)]
    (tmp_path / "first").mkdir()
    with Gateway(config, tmp_path / "first") as first:
        bodies = {url: fetch(first.services_url("t/Stored") + url) for url in urls}
        assert all(reply.status == 200 for reply in bodies.values())
    stored = tmp_path / "store" / "t_stored.mbtiles"
    assert stored.exists()
    (tmp_path / "second").mkdir()
    with Gateway(config, tmp_path / "second") as second:
        for url, before in bodies.items():
            reply = fetch(second.services_url("t/Stored") + url)
            assert reply.status == 200 and reply.body == before.body
            assert reply.headers["X-Arcbridge-Cache"] == "hit-store"
            assert reply.headers["ETag"] == before.headers["ETag"]  # the same bytes, the same tag, in any process
        assert backend_requests(second) == 0  # not even the capabilities were needed
        again = fetch(second.services_url("t/Stored") + urls[0])
        assert again.headers["X-Arcbridge-Cache"] == "hit"  # now from memory


def test_with_the_memory_tier_off_repeated_tiles_are_read_from_the_store(mapserver: FastCgiBackend,
                                                                        qgis: FastCgiBackend, tmp_path: Path) -> None:
    """The lean hit path with no memory tier: a repeated tile URL is read from the store by the fast path
    (proxy.cache.fast, TileSource.stored), with the full path's headers; a purged tile is drawn again."""
    config = {**tiled_config(mapserver, qgis, tmp_path / "store"), "cache": {"memory": 0},
              "admin": {"enabled": True}}
    (tmp_path / "gw").mkdir()
    with Gateway(config, tmp_path / "gw") as gateway:
        url = tile_url(gateway, "t/Stored", 5, 11, 17)
        first = fetch(url)
        assert first.status == 200 and first.headers["X-Arcbridge-Cache"] == "miss"
        assert first.headers["X-Arcbridge-Metatile"] == "8/16/4/4"  # what arcbridge seed skips after it
        before = backend_requests(gateway)
        hits = [fetch(url) for _ in range(5)]
        assert not any("X-Arcbridge-Metatile" in h.headers for h in hits)
        assert all(h.status == 200 and h.body == first.body for h in hits)
        assert {h.headers["X-Arcbridge-Cache"] for h in hits} == {"hit-store"}
        assert {h.headers["ETag"] for h in hits} == {first.headers["ETag"]}
        assert hits[-1].headers["Access-Control-Allow-Origin"] == "*"
        assert fetch(url, headers={"If-None-Match": first.headers["ETag"]}).status == 304
        assert backend_requests(gateway) == before
        purged = fetch(gateway.url + "/arcbridge/admin/purge", data={"service": "t/Stored", "levels": "5"})
        assert purged.status == 200 and purged.json()["dropped"] >= 1
        assert fetch(url).headers["X-Arcbridge-Cache"] == "miss"  # drawn again, not answered from the fast path
        assert backend_requests(gateway) == before + 1


def test_processes_sharing_redis_draw_a_cold_metatile_once(mapserver: FastCgiBackend, qgis: FastCgiBackend,
                                                            redis_url: str, tmp_path: Path) -> None:
    config = {**tiled_config(mapserver, qgis, tmp_path / "store"), "cache": {"redis": redis_url, "logInterval": 0}}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with Gateway(config, tmp_path / "a") as one, Gateway(config, tmp_path / "b") as two:
        for gateway in (one, two):
            fetch(gateway.services_url("t/Raster"), {"f": "json"})
        before = backend_requests(one) + backend_requests(two)
        level, row0, col0 = 8, 88, 136
        urls = [tile_url(gateway, "t/Raster", level, row0 + i // 4, col0 + i % 4)
                for gateway in (one, two) for i in range(16)]
        with ThreadPoolExecutor(max_workers=64) as pool:
            replies = list(pool.map(fetch, urls * 2))
        assert all(r.status == 200 for r in replies)
        assert backend_requests(one) + backend_requests(two) - before == 1


def test_seed_levels_resume_and_purge_by_level_and_extent(mapserver: FastCgiBackend, qgis: FastCgiBackend,
                                                           tmp_path: Path) -> None:
    config = {**tiled_config(mapserver, qgis, tmp_path / "store"), "admin": {"enabled": True}}
    (tmp_path / "gw").mkdir()
    with Gateway(config, tmp_path / "gw") as gateway:
        base = [sys.executable, "-m", "proxy", "seed", "--url", gateway.url, "--service", "t/Stored",
                "--bbox=-20,30,40,60", "--levels", "2-4", "--concurrency", "2"]
        state = tmp_path / "seed.json"
        done = subprocess.run([*base, "--state", str(state)], cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        # the bbox in tiles: level 2 row 1, cols 1-2; level 3 rows 2-3, cols 3-4; level 4 rows 4-6, cols 7-9
        expected = 2 + 4 + 9
        assert f"seeded {expected} of {expected} tiles of t/Stored" in done.stdout
        assert f"{expected}/{expected} tiles" in done.stderr and "tiles/s" in done.stderr  # the progress bar
        db = sqlite3.connect(tmp_path / "store" / "t_stored.mbtiles")
        stored = db.execute("SELECT zoom_level, COUNT(*) FROM map GROUP BY zoom_level").fetchall()
        db.close()
        assert {level: count for level, count in stored}.keys() == {2, 3, 4}  # whole metatiles are kept
        before = backend_requests(gateway)
        for level, row, col in [(2, 1, 1), (3, 2, 4), (4, 6, 9)]:
            assert fetch(tile_url(gateway, "t/Stored", level, row, col)).headers["X-Arcbridge-Cache"] == "hit"
        assert backend_requests(gateway) == before
        again = subprocess.run([*base, "--state", str(state)], cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert again.returncode == 0 and f"({expected} done by an earlier run)" in again.stdout, again.stdout
        purge = [sys.executable, "-m", "proxy", "purge", "--url", gateway.url, "--service", "t/Stored",
                 "--levels", "4", "--bbox=30,30,40,60"]
        dropped = subprocess.run(purge, cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert dropped.returncode == 0 and int(dropped.stdout.split()[1]) >= 2, dropped.stderr
        assert fetch(tile_url(gateway, "t/Stored", 4, 6, 9)).headers["X-Arcbridge-Cache"] == "miss"
        assert fetch(tile_url(gateway, "t/Stored", 4, 6, 7)).headers["X-Arcbridge-Cache"] == "hit-store"
        assert fetch(tile_url(gateway, "t/Stored", 3, 2, 4)).headers["X-Arcbridge-Cache"] == "hit-store"


def test_a_store_that_breaks_after_the_start_only_costs_the_store(mapserver: FastCgiBackend, qgis: FastCgiBackend,
                                                                   tmp_path: Path) -> None:
    """The store is checked at start; should its file turn bad later, tiles are still drawn and answered (and kept
    in memory), with a warning, rather than failing every tile of the service."""
    config = tiled_config(mapserver, qgis, tmp_path / "store")
    (tmp_path / "gw").mkdir()
    with Gateway(config, tmp_path / "gw") as gateway:
        (tmp_path / "store").mkdir(exist_ok=True)
        (tmp_path / "store" / "t_stored.mbtiles").write_bytes(b"not SQLite at all" * 100)
        first = fetch(tile_url(gateway, "t/Stored", 5, 11, 17))
        assert first.status == 200 and first.headers["X-Arcbridge-Cache"] == "miss"
        again = fetch(tile_url(gateway, "t/Stored", 5, 11, 18))  # the same metatile: kept in memory
        assert again.status == 200 and again.headers["X-Arcbridge-Cache"] == "hit"
        assert "cannot be opened, serving without it" in gateway.log()
