"""A tiled MapServer's ``tiles:`` section: its grid, levels, format, metatiles, tile store and backend WMTS. Every
key is checked; the levels only against a grid that was read."""

from __future__ import annotations

import itertools
from typing import Any

from proxy.settings.model import ConfigError, TileSettings, WmtsSettings
from proxy.settings.values import (
    Collector,
    http_url,
    int_in,
    known,
    mapping,
    numbers,
    parse_size,
    required_text,
    text,
    wkid,
)
from translators.arcgis.tiles import TileScheme
from translators.crs import resolve_sr
from translators.errors import InvalidParameter
from translators.tiles.cut import TILE_FORMATS
from translators.tiles.grid import TileGrid, custom_grid, webmercator

TILES_KEYS = ("grid", "levels", "format", "metaSize", "metaBuffer", "store", "wmts")


def parse_grid(value: Any, key: str) -> TileGrid:
    """``webmercator`` or ``{origin: [x, y], tileSize: 256, resolutions: [...], spatialReference: wkid}``."""
    if value == "webmercator":
        return webmercator()
    if not isinstance(value, dict):
        raise ConfigError(key, f"must be 'webmercator' or a mapping {{origin, tileSize, resolutions, "
                               f"spatialReference}}, got {value!r}")
    found = Collector()
    found.run(key, known, value, key, ("origin", "tileSize", "resolutions", "spatialReference"))
    for name in ("origin", "resolutions", "spatialReference"):
        if name not in value:
            found.fail(f"{key}.{name}", "is required for a custom grid")
    origin = found.run(f"{key}.origin", numbers, value["origin"], f"{key}.origin", 2) if "origin" in value else None
    resolutions = found.run(f"{key}.resolutions", _resolutions, value["resolutions"], f"{key}.resolutions") \
        if "resolutions" in value else None
    size = found.run(f"{key}.tileSize", int_in, value.get("tileSize", 256), f"{key}.tileSize", 16, 2048)
    grid_sr = found.run(f"{key}.spatialReference", wkid, value["spatialReference"], f"{key}.spatialReference") \
        if "spatialReference" in value else None
    found.raise_any()
    assert origin is not None and resolutions is not None and size is not None and grid_sr is not None
    return custom_grid(origin, size, resolutions, grid_sr)


def _resolutions(value: Any, key: str) -> list[float]:
    resolutions = numbers(value, key)
    if any(r <= 0 for r in resolutions) or any(b >= a for a, b in itertools.pairwise(resolutions)):
        raise ConfigError(key, "must be positive and decreasing (level 0 the coarsest)")
    return resolutions


def parse_tiles(value: Any, key: str, service_type: str | None) -> TileSettings:
    """A ``tiles:`` section: grid (required), levels, format, metaSize, metaBuffer, store, wmts; raises every
    problem found (``service_type`` None: not known, the section is checked all the same)."""
    if service_type not in ("MapServer", None):
        raise ConfigError(key, "only a MapServer can be tiled")
    data = mapping(value, key)
    found = Collector()
    found.run(key, known, data, key, TILES_KEYS)
    if "grid" not in data:
        found.fail(f"{key}.grid", "is required ('webmercator' or a custom grid)")
    grid = found.run(f"{key}.grid", parse_grid, data["grid"], f"{key}.grid") if "grid" in data else None
    levels = None if grid is None else found.run(f"{key}.levels", _levels, data.get("levels"), f"{key}.levels", grid)
    fmt = data.get("format", "png")
    if not isinstance(fmt, str) or fmt not in TILE_FORMATS:
        found.fail(f"{key}.format", f"must be one of {', '.join(TILE_FORMATS)}, got {fmt!r}")
    meta_size = found.run(f"{key}.metaSize", int_in, data.get("metaSize", 4), f"{key}.metaSize", 1, 16)
    meta_buffer = found.run(f"{key}.metaBuffer", int_in, data.get("metaBuffer", 80), f"{key}.metaBuffer", 0, 512)
    store = found.run(f"{key}.store", _store, data.get("store") or {}, f"{key}.store")
    wmts = found.run(f"{key}.wmts", parse_wmts, data["wmts"], f"{key}.wmts") if "wmts" in data else None
    found.raise_any()
    assert grid is not None and levels is not None and store is not None
    scheme = TileScheme(grid, levels[0], levels[1], str(fmt), int(meta_size or 0), int(meta_buffer or 0))
    return TileSettings(scheme, store[0], store[1], wmts)


def _levels(value: Any, key: str, grid: TileGrid) -> tuple[int, int]:
    """``levels: [first, last]`` within the grid's levels (default: all of them)."""
    last = len(grid.resolutions) - 1
    levels = [0, last] if value is None else value
    if not isinstance(levels, list) or len(levels) != 2:
        raise ConfigError(key, f"must be [first, last], got {levels!r}")
    first = int_in(levels[0], key, 0, last)
    return first, int_in(levels[1], key, first, last)


def _store(value: Any, key: str) -> tuple[str | None, int]:
    """``store: {path, maxBytes}``: the tile store's file or directory and its bound (path None: no store)."""
    data = mapping(value, key)
    found = Collector()
    found.run(key, known, data, key, ("path", "maxBytes"))
    path = found.run(f"{key}.path", required_text, data, "path", key, "the MBTiles file, or a directory to hold it") \
        if data else None  # (store: {} or none: no store)
    max_bytes = found.run(f"{key}.maxBytes", parse_size, data.get("maxBytes", "1GB"), f"{key}.maxBytes")
    found.raise_any()
    return path, int(max_bytes or 0)


def parse_wmts(value: Any, key: str) -> WmtsSettings:
    """``tiles.wmts``: {layer, url, matrixSet, style}."""
    data = mapping(value, key)
    found = Collector()
    found.run(key, known, data, key, ("layer", "url", "matrixSet", "style"))
    layer = found.run(f"{key}.layer", required_text, data, "layer", key, "the WMTS layer identifier")
    url = found.run(f"{key}.url", text, data, "url", key)
    if url is not None:
        found.run(f"{key}.url", http_url, url, f"{key}.url")
    matrix_set = found.run(f"{key}.matrixSet", text, data, "matrixSet", key)
    style = found.run(f"{key}.style", text, data, "style", key)
    found.raise_any()
    return WmtsSettings(str(layer), url, matrix_set, style)


def tiled_sr(sr: int | str | None, tiles: TileSettings, key: str) -> int:
    """A tiled service is in its grid's spatial reference; a configured one must be the same."""
    grid_wkid = tiles.scheme.grid.wkid
    try:
        same = sr is None or resolve_sr(sr, "spatialReference") == resolve_sr(grid_wkid, "spatialReference")
    except InvalidParameter:
        raise ConfigError(f"{key}.spatialReference", f"must be a wkid (or 'EPSG:…') the gateway knows, got {sr!r}") \
            from None
    if not same:
        raise ConfigError(f"{key}.spatialReference", f"must be the tile grid's ({grid_wkid}) for a tiled service")
    return grid_wkid
