"""Tile grids, metatiles, cutting, the tiles: configuration and the MBTiles store (pure parts, no backend)."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from proxy.settings import ConfigError, parse_settings
from proxy.tiles.seed import _within_data, outside_metatile, tile_blocks
from proxy.tiles.store import NewTile, TileStore, store_file
from translators.arcgis.tiles import TileScheme, check_tile, lods, tiled_root, tilemap
from translators.crs import resolve_sr, transform_bbox
from translators.errors import NotFound, NoTiles
from translators.tiles.cut import cut_tiles, open_metatile, uniform_colour
from translators.tiles.grid import metatile, webmercator

WORLD = (-20037508.342789244, -20037508.342789244, 20037508.342789244, 20037508.342789244)
# Esri's standard Web Mercator table (PROTOCOLS.md §4.1; ArcGIS Online basemaps), levels 0, 1 and 19.
ESRI = {0: (156543.03392800014, 591657527.591555), 1: (78271.51696400007, 295828763.795777),
        19: (0.29858214173889186, 1128.497176)}


def test_level_table_is_esris() -> None:
    table = lods(TileScheme(webmercator(), 0, 23, "png"), resolve_sr(3857, "sr"))
    assert [lod["level"] for lod in table] == list(range(24))
    for level, (resolution, scale) in ESRI.items():
        assert table[level]["resolution"] == resolution and table[level]["scale"] == scale
    for lod in table:
        assert lod["resolution"] == 156543.03392800014 / 2 ** lod["level"]


def test_root_additions() -> None:
    root = tiled_root(TileScheme(webmercator(), 2, 10, "jpg"), resolve_sr(3857, "sr"), "Map")
    assert root["capabilities"] == "Map,Tilemap" and root["singleFusedMapCache"] is True
    assert root["tileInfo"]["format"] == "JPEG" and root["tileInfo"]["compressionQuality"] == 90
    assert len(root["tileInfo"]["lods"]) == 11  # contiguous from level 0 even when serving from level 2
    assert (root["minLOD"], root["maxLOD"]) == (2, 10)
    assert root["minScale"] == root["tileInfo"]["lods"][2]["scale"]


def test_grid_edges_and_out_of_range() -> None:
    scheme = TileScheme(webmercator(), 0, 5, "png")
    check_tile(scheme, 0, 0, 0, WORLD)
    check_tile(scheme, 5, 31, 31, WORLD)
    for level, row, col in [(6, 0, 0), (5, 32, 0), (5, 0, 32), (5, -1, 0), (0, 0, 1)]:
        with pytest.raises(NotFound):
            check_tile(scheme, level, row, col, WORLD)
    with pytest.raises(NotFound):  # outside the data
        check_tile(scheme, 2, 0, 0, (0.0, -1e6, 1e6, 0.0))
    grid = webmercator()
    assert grid.tile_bbox(1, 1, 1)[0] == pytest.approx(0, abs=1e-3)
    assert grid.tiles_in(2, (0.0, 0.0, 1.0, 1.0)) == (1, 2, 1, 2)
    data = tilemap(scheme, 1, 0, 0, 4, 4, WORLD)
    assert data["data"] == [1, 1, 0, 0, 1, 1, 0, 0] + [0] * 8
    with pytest.raises(NoTiles) as empty:  # ArcGIS's "no tile in the window": 422, not a map of zeros
        tilemap(scheme, 1, 2, 2, 4, 4, WORLD)
    assert empty.value.status == 422


def test_metatile_buffer_is_clipped_at_the_grid() -> None:
    grid = webmercator()
    corner = metatile(grid, 3, 1, 2, 4, 80, (8, 8))
    assert (corner.row0, corner.col0, corner.rows, corner.cols) == (0, 0, 4, 4)
    assert (corner.left, corner.top, corner.width, corner.height) == (0, 0, 4 * 256 + 80, 4 * 256 + 80)
    inner = metatile(grid, 4, 5, 6, 4, 80, (16, 16))
    assert (inner.width, inner.height) == (1184, 1184)  # MapProxy's 4 x 256 + 2 x 80
    res = grid.resolutions[4]
    assert inner.bbox[0] == pytest.approx(grid.tile_bbox(4, 4, 4)[0] - 80 * res)
    level0 = metatile(grid, 0, 0, 0, 4, 80, (1, 1))
    assert (level0.rows, level0.cols, level0.width, level0.height) == (1, 1, 256, 256)


def test_cut_tiles_and_blank_ones_share_bytes() -> None:
    meta = metatile(webmercator(), 2, 0, 0, 2, 16, (4, 4))
    pixels = np.zeros((meta.height, meta.width, 4), dtype=np.uint8)
    pixels[: meta.top + 256, : meta.left + 256] = (200, 10, 10, 255)  # only tile (0, 0) drawn, and the buffer
    pixels[meta.top + 300, meta.left + 300] = (1, 2, 3, 255)  # one dot in tile (1, 1)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    picture = open_metatile(meta, buffer.getvalue())
    tiles = {(t.row, t.col): t for t in cut_tiles(meta, picture, meta.tiles(), 256, "png")}
    assert set(tiles) == {(0, 0), (0, 1), (1, 0), (1, 1)}
    assert not tiles[(0, 0)].blank and tiles[(0, 1)].blank and tiles[(1, 0)].blank and not tiles[(1, 1)].blank
    assert tiles[(0, 1)].body == tiles[(1, 0)].body
    dot = np.asarray(Image.open(io.BytesIO(tiles[(1, 1)].body)).convert("RGBA"))
    assert tuple(dot[300 - 256, 300 - 256]) == (1, 2, 3, 255)


def test_a_tile_is_blank_when_nothing_is_opaque_whatever_its_hidden_colours() -> None:
    meta = metatile(webmercator(), 1, 0, 0, 2, 0, (2, 2))
    pixels = np.zeros((meta.height, meta.width, 4), dtype=np.uint8)
    pixels[:256, :256, 0] = np.arange(256, dtype=np.uint8)  # tile (0, 0): colours under alpha 0, nothing shown
    pixels[:256, 256:] = (9, 9, 9, 0)  # tile (0, 1): one hidden colour
    pixels[256:, :256] = (9, 9, 9, 0)
    pixels[300, 10, 3] = 1  # tile (1, 0): one barely visible pixel
    pixels[256:, 256:] = (5, 6, 7, 255)  # tile (1, 1): one opaque colour
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    picture = open_metatile(meta, buffer.getvalue())
    tiles = {(t.row, t.col): t for t in cut_tiles(meta, picture, meta.tiles(), 256, "png")}
    assert [tiles[k].blank for k in [(0, 0), (0, 1), (1, 0), (1, 1)]] == [True, True, False, False]
    assert uniform_colour(Image.fromarray(pixels[256:, 256:])) == bytes((5, 6, 7, 255))
    assert uniform_colour(Image.fromarray(pixels[256:, :256])) is None


def config(tiles: Any) -> dict[str, Any]:
    return {"services": {"a/B": {"type": "MapServer", "backend": {"url": "http://x/ows"}, "tiles": tiles}}}


def test_tiles_configuration() -> None:
    minimal = parse_settings(config({"grid": "webmercator"})).services["a/b"]
    assert minimal.tiles is not None and minimal.spatial_reference == 3857
    scheme = minimal.tiles.scheme
    assert (scheme.min_level, scheme.max_level, scheme.format, scheme.meta_size, scheme.meta_buffer) == \
        (0, 23, "png", 4, 80)
    full = parse_settings(config({"grid": {"origin": [0, 100], "tileSize": 512, "resolutions": [10, 5],
                                           "spatialReference": 32633}, "levels": [0, 1], "format": "jpgpng",
                                  "metaSize": 2, "metaBuffer": 0, "store": {"path": "/tmp/x", "maxBytes": "2GB"}}))
    tiles = full.services["a/b"].tiles
    assert tiles is not None and tiles.store_max_bytes == 2 * 1024**3 and tiles.scheme.grid.wkid == 32633
    for bad, key in [({"levels": [0, 1]}, "tiles.grid"), ({"grid": "utm"}, "tiles.grid"),
                     ({"grid": "webmercator", "format": "gif"}, "tiles.format"),
                     ({"grid": "webmercator", "levels": [5, 2]}, "tiles.levels"),
                     ({"grid": "webmercator", "levels": [0, 24]}, "tiles.levels"),
                     ({"grid": "webmercator", "metaSize": 0}, "tiles.metaSize"),
                     ({"grid": "webmercator", "store": {"maxBytes": 5}}, "tiles.store.path"),
                     ({"grid": "webmercator", "extra": 1}, "tiles.extra"),
                     ({"grid": {"origin": [0], "resolutions": [1], "spatialReference": 3857}}, "tiles.grid.origin"),
                     ({"grid": {"origin": [0, 0], "resolutions": [1, 2], "spatialReference": 3857}},
                      "tiles.grid.resolutions")]:
        with pytest.raises(ConfigError) as error:
            parse_settings(config(bad))
        assert error.value.key == f"services.a/B.{key}", bad
    with pytest.raises(ConfigError, match="spatialReference"):
        parse_settings({"services": {"a": {"type": "MapServer", "backend": {"url": "http://x/"},
                                           "spatialReference": 4326, "tiles": {"grid": "webmercator"}}}})


def test_store_dedups_evicts_and_survives_reopening(tmp_path: Path) -> None:
    path = store_file(str(tmp_path), "a/b")
    assert path == tmp_path / "a_b.mbtiles"
    store = TileStore(path, 10_000, lambda level, row: 2**level - 1 - row, {"name": "b"})
    blank = b"blank" * 10
    store.put([NewTile(3, r, c, blank, True) for r in range(8) for c in range(8)])
    store.put([NewTile(3, 0, 0, b"x" * 1000, False)])
    tiles, images, size = store.counts()
    assert (tiles, images, size) == (64, 2, 1050)  # the blank image once
    assert store.get(3, 0, 0) is not None and store.get(3, 0, 0).body == b"x" * 1000  # type: ignore[union-attr]
    assert store.get(3, 1, 0).blank  # type: ignore[union-attr]
    store.close()
    db = sqlite3.connect(path)
    assert db.execute("SELECT tile_row FROM tiles WHERE tile_data = ?", (b"x" * 1000,)).fetchone() == (7,)  # TMS
    assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    db.close()
    again = TileStore(path, 5_000, lambda level, row: 2**level - 1 - row, {})
    assert again.get(3, 0, 0) is not None
    for i in range(8):  # new distinct tiles past the bound: the oldest go first
        again.put([NewTile(4, 0, i, bytes([i]) * 1000, False)])
    assert again.counts()[2] <= 5_000
    assert again.get(4, 0, 7) is not None and again.get(3, 0, 0) is None
    assert again.drop(4, cols=(7, 7)) == 1 and again.get(4, 0, 7) is None
    again.close()


WMTS = """<Capabilities xmlns="http://www.opengis.net/wmts/1.0" xmlns:ows="http://www.opengis.net/ows/1.1"
 xmlns:xlink="http://www.w3.org/1999/xlink" version="1.0.0">
 <ows:OperationsMetadata><ows:Operation name="GetTile"><ows:DCP><ows:HTTP>
  <ows:Get xlink:href="http://wmts.example/kvp?"><ows:Constraint name="GetEncoding"><ows:AllowedValues>
   <ows:Value>KVP</ows:Value></ows:AllowedValues></ows:Constraint></ows:Get></ows:HTTP></ows:DCP></ows:Operation>
 </ows:OperationsMetadata>
 <Contents>
  <Layer><ows:Identifier>roads</ows:Identifier><Style isDefault="true"><ows:Identifier>main</ows:Identifier></Style>
   <Format>image/png</Format><TileMatrixSetLink><TileMatrixSet>shifted</TileMatrixSet></TileMatrixSetLink>
   <TileMatrixSetLink><TileMatrixSet>merc</TileMatrixSet></TileMatrixSetLink>
   <ResourceURL format="image/png" resourceType="tile"
    template="http://wmts.example/rest/roads/{Style}/{TileMatrixSet}/{TileMatrix}/{TileRow}/{TileCol}.png"/></Layer>
  <TileMatrixSet><ows:Identifier>merc</ows:Identifier><ows:SupportedCRS>urn:ogc:def:crs:EPSG::3857</ows:SupportedCRS>
   <TileMatrix><ows:Identifier>z0</ows:Identifier><ScaleDenominator>559082264.0287178</ScaleDenominator>
    <TopLeftCorner>-20037508.3427892 20037508.3427892</TopLeftCorner><TileWidth>256</TileWidth>
    <TileHeight>256</TileHeight><MatrixWidth>1</MatrixWidth><MatrixHeight>1</MatrixHeight></TileMatrix>
   <TileMatrix><ows:Identifier>z2</ows:Identifier><ScaleDenominator>139770566.00717944</ScaleDenominator>
    <TopLeftCorner>-20037508.3427892 20037508.3427892</TopLeftCorner><TileWidth>256</TileWidth>
    <TileHeight>256</TileHeight><MatrixWidth>4</MatrixWidth><MatrixHeight>4</MatrixHeight></TileMatrix>
  </TileMatrixSet>
  <TileMatrixSet><ows:Identifier>shifted</ows:Identifier><ows:SupportedCRS>EPSG:3857</ows:SupportedCRS>
   <TileMatrix><ows:Identifier>0</ows:Identifier><ScaleDenominator>559082264.0287178</ScaleDenominator>
    <TopLeftCorner>-20000000 20000000</TopLeftCorner><TileWidth>256</TileWidth>
    <TileHeight>256</TileHeight><MatrixWidth>1</MatrixWidth><MatrixHeight>1</MatrixHeight></TileMatrix>
  </TileMatrixSet>
 </Contents></Capabilities>"""


def test_wmts_levels_match_by_resolution_and_origin() -> None:
    from translators.ogc.wmts import choose_matrix_set, gettile_params, gettile_url, parse_wmts_capabilities

    caps = parse_wmts_capabilities(WMTS.encode())
    assert caps.kvp_url == "http://wmts.example/kvp?"
    layer = caps.layers["roads"]
    assert layer.style == "main" and layer.matrix_sets == ("shifted", "merc")
    chosen = choose_matrix_set(caps, "roads", webmercator(), resolve_sr(3857, "sr"))
    assert chosen is not None
    matrix_set, levels = chosen
    assert matrix_set.identifier == "merc" and {k: v.identifier for k, v in levels.items()} == {0: "z0", 2: "z2"}
    assert choose_matrix_set(caps, "roads", webmercator(), resolve_sr(3857, "sr"), "shifted") is None
    assert gettile_url(layer.templates["image/png"], "main", "merc", "z2", 1, 3) == \
        "http://wmts.example/rest/roads/main/merc/z2/1/3.png"
    assert gettile_params("roads", "main", "image/png", "merc", "z2", 1, 3)["TILEMATRIX"] == "z2"
    with pytest.raises(Exception, match="no layer"):
        choose_matrix_set(caps, "rivers", webmercator(), resolve_sr(3857, "sr"))


def test_wmts_configuration() -> None:
    tiles = parse_settings(config({"grid": "webmercator", "wmts": {"layer": "roads", "matrixSet": "merc"}}))
    wmts = tiles.services["a/b"].tiles.wmts  # type: ignore[union-attr]
    assert wmts is not None and (wmts.layer, wmts.matrix_set, wmts.url) == ("roads", "merc", None)
    with pytest.raises(ConfigError, match=r"tiles\.wmts\.layer"):
        parse_settings(config({"grid": "webmercator", "wmts": {}}))
    with pytest.raises(ConfigError, match=r"tiles\.wmts\.url"):
        parse_settings(config({"grid": "webmercator", "wmts": {"layer": "a", "url": "ftp://x"}}))


def test_captured_geoserver_wmts_matches_only_where_its_truncated_corner_is_harmless() -> None:
    # GeoWebCache 2.1 writes the EPSG:900913 corner as (-2.003750834E7, 2.0037508E7): y is 0.34 m off Esri's origin.
    # Its levels serve the Web Mercator grid while that is under 0.01 px (levels 0-12); deeper tiles would be visibly
    # shifted (a whole pixel at level 19), so they are drawn from the WMS instead.
    from translators.ogc.wmts import choose_matrix_set, parse_wmts_capabilities

    data = (Path(__file__).parent / "data" / "geoserver21-wmts-trimmed.xml").read_bytes()
    caps = parse_wmts_capabilities(data)
    assert caps.kvp_url == "http://geonode.iwlearn.org/geoserver/gwc/service/wmts?"
    layer = caps.layers["geonode:LMEs_64"]
    assert layer.style == "LMEs_64" and layer.formats == ("image/png", "image/jpeg")
    chosen = choose_matrix_set(caps, "geonode:LMEs_64", webmercator(), resolve_sr(3857, "sr"))
    assert chosen is not None
    matrix_set, levels = chosen
    assert matrix_set.identifier == "EPSG:900913"
    assert sorted(levels) == list(range(13)) and levels[12].identifier == "EPSG:900913:12"


def test_seed_plan_of_the_world_has_each_tile_once() -> None:
    """The world in degrees, reprojected to Web Mercator, lands on the grid's edges give or take the rounding: the
    plan must not add a column or row beyond them (it did: 1428 tiles for levels 0-5 instead of 1365)."""
    mercator, wgs84 = resolve_sr(3857, "sr"), resolve_sr(4326, "sr")
    info = {"cols": 256, "origin": {"x": -20037508.342787, "y": 20037508.342787},
            "lods": lods(TileScheme(webmercator(), 0, 23, "png"), mercator)}
    world = transform_bbox((-180.0, -85.0, 180.0, 85.0), wgs84, mercator)
    full = {"xmin": -20037508.342787, "ymin": -20037508.342787, "xmax": 20037508.342787, "ymax": 20037508.342787,
            "spatialReference": {"wkid": 102100, "latestWkid": 3857}}
    extent = _within_data(world, {"fullExtent": full}, mercator)
    tiles = [tile for block in tile_blocks(info, (0, 5), extent) for tile in block]
    assert len(tiles) == len(set(tiles)) == sum(4 ** level for level in range(6))
    assert all(0 <= row < 2 ** level and 0 <= col < 2 ** level for level, row, col in tiles)
    # the service's data end where its full extent does: tiles beyond are not asked
    europe = {"xmin": 0.0, "ymin": 0.0, "xmax": 5_000_000.0, "ymax": 5_000_000.0, "spatialReference": {"wkid": 3857}}
    assert [t for b in tile_blocks(info, (2, 2), _within_data(world, {"fullExtent": europe}, mercator)) for t in b] \
        == [(2, 1, 2)]
    # a point's extent (or none) leaves the box as asked
    point = {**europe, "xmax": 0.0, "ymax": 0.0}
    assert _within_data(world, {"fullExtent": point}, mercator) == world == _within_data(world, {}, mercator)


def test_seed_skips_the_tiles_a_metatile_drew() -> None:
    block = [(3, r, c) for r in range(4, 8) for c in range(0, 4)]
    assert outside_metatile(block[1:], "4/0/4/4") == []  # the block is the gateway's metatile: one request in all
    assert outside_metatile(block[1:], "4/0/2/2") == [t for t in block[1:] if t[1] >= 6 or t[2] >= 2]  # a smaller one
    assert outside_metatile(block[1:], None) == outside_metatile(block[1:], "garbage") == block[1:]  # a hit: all
