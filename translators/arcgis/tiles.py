"""A tiled MapServer (``singleFusedMapCache``): what its root JSON adds, which tile a URL names, and tilemaps.

The tiles themselves are drawn by metatiles (:mod:`translators.tiles.grid`) and cut in
:mod:`translators.tiles.cut`; here is only what ArcGIS clients read (``PROTOCOLS.md`` §4.1-4.2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from translators.crs import SpatialRef
from translators.errors import InvalidParameter, NotFound, NoTiles
from translators.tiles.cut import TILE_FORMATS
from translators.tiles.grid import BBox, TileGrid, esri_scale, intersects

MAX_TILEMAP = 64  # the largest tilemap block answered (clients ask for 32 x 32)


@dataclass(frozen=True)
class TileScheme:
    """How a service is tiled: its grid, the levels it serves, the tile format, and the metatiles it draws."""

    grid: TileGrid
    min_level: int
    max_level: int
    format: str  # a key of TILE_FORMATS
    meta_size: int = 4  # MapProxy's default: 4 x 4 tiles per GetMap
    meta_buffer: int = 80  # MapProxy's default: pixels drawn around a metatile and cut away
    quality: int = 90  # JPEG quality of jpg / jpgpng tiles


def lods(scheme: TileScheme, sr: SpatialRef) -> list[dict[str, Any]]:
    """The levels of detail, contiguous from level 0 (GDAL and Esri Leaflet need level 0 and no gaps)."""
    return [{"level": n, "resolution": res, "scale": round(esri_scale(res, sr.meters_per_unit), 6)}
            for n, res in enumerate(scheme.grid.resolutions[:scheme.max_level + 1])]


def tiled_root(scheme: TileScheme, sr: SpatialRef, capabilities: str) -> dict[str, Any]:
    """What the service root of a tiled MapServer adds to (or changes in) the dynamic one."""
    levels = lods(scheme, sr)
    grid = scheme.grid
    return {
        "singleFusedMapCache": True,
        "tileInfo": {
            "rows": grid.tile_size, "cols": grid.tile_size, "dpi": 96, "format": TILE_FORMATS[scheme.format][2],
            "compressionQuality": scheme.quality if scheme.format in ("jpg", "jpgpng") else 0,
            "origin": {"x": grid.origin[0], "y": grid.origin[1]},
            "spatialReference": sr.to_json(),
            "lods": levels,
        },
        "storageInfo": {"storageFormat": "esriMapCacheStorageModeCompactV2", "packetSize": 128},
        "minScale": levels[scheme.min_level]["scale"],
        "maxScale": levels[scheme.max_level]["scale"],
        "minLOD": scheme.min_level,
        "maxLOD": scheme.max_level,
        "capabilities": f"{capabilities},Tilemap",
        "supportsDynamicLayers": True,  # else ArcGIS JS drops sublayer visibility and definition expressions
        "exportTilesAllowed": False,
    }


def _integer(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise NotFound(f"Invalid {what} '{text}'.") from None


def parse_tile(level: str, row: str, col: str) -> tuple[int, int, int]:
    """The tile a ``…/tile/{level}/{row}/{col}`` URL names, as integers (a URL naming no number is a 404)."""
    return _integer(level, "level"), _integer(row, "row"), _integer(col, "column")


def parse_block(size: str) -> int:
    """The width or height of a tilemap block."""
    return _integer(size, "tilemap size")


def check_tile(scheme: TileScheme, level: int, row: int, col: int, data_extent: BBox) -> None:
    """A 404 for a tile outside the served levels, outside the grid, or where the service has no data (as ArcGIS
    answers a tile its cache does not have)."""
    if not scheme.min_level <= level <= scheme.max_level:
        raise NotFound(f"Level {level} is not in the tiling scheme (levels {scheme.min_level}-{scheme.max_level}).")
    rows, cols = scheme.grid.matrix_size(level, data_extent)
    if not (0 <= row < rows and 0 <= col < cols):
        raise NotFound(f"Tile {level}/{row}/{col} is outside the tiling scheme.")
    if not intersects(scheme.grid.tile_bbox(level, row, col), data_extent):
        raise NotFound(f"Tile {level}/{row}/{col} has no data.")


def tilemap(scheme: TileScheme, level: int, row: int, col: int, width: int, height: int,
            data_extent: BBox) -> dict[str, Any]:
    """``…/tilemap/{level}/{row}/{col}/{w}/{h}``: which tiles of a block exist (1) or not (0), row by row. Tiles are
    drawn on demand, so every tile of the grid with data exists; a block without any is :class:`NoTiles` (422)."""
    if not (1 <= width <= MAX_TILEMAP and 1 <= height <= MAX_TILEMAP):
        raise InvalidParameter("tilemap", f"width and height must be between 1 and {MAX_TILEMAP}")
    flags = []
    for r in range(row, row + height):
        for c in range(col, col + width):
            try:
                check_tile(scheme, level, r, c, data_extent)
                flags.append(1)
            except NotFound:
                flags.append(0)
    if not any(flags):
        raise NoTiles(details=[f"no tile of level {level} in rows {row}-{row + height - 1}, "
                               f"columns {col}-{col + width - 1}"])
    return {"adjusted": False, "location": {"left": col, "top": row, "width": width, "height": height},
            "data": flags, "valid": True}
