"""A tile grid (origin, tile size, resolutions, SR) and the metatiles that tiles are drawn in.

Esri's standard Web Mercator grid (:func:`webmercator`) has level 0 one tile of 256 px covering the world, each
level halving the resolution; ArcGIS scales use 39.37 inches per metre (``PROTOCOLS.md`` §4.1). Rows grow southward
from the origin, columns eastward, as in XYZ.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

BBox = tuple[float, float, float, float]

WEB_MERCATOR_ORIGIN = (-20037508.342787, 20037508.342787)
WEB_MERCATOR_LEVEL0 = 156543.03392800014  # metres per pixel of level 0 (Esri's figure, to the last digit)
WEB_MERCATOR_HALF = 20037508.342789244  # half the world's width in EPSG:3857 metres
WEB_MERCATOR_LEVELS = 24  # 0..23, the levels ArcGIS Online's grid defines
ESRI_INCHES_PER_METRE = 39.37
TILE_DPI = 96.0


def esri_scale(resolution: float, meters_per_unit: float = 1.0, dpi: float = TILE_DPI) -> float:
    """The ArcGIS scale of a resolution: ground size of a pixel x dpi x 39.37 (Esri's inches per metre)."""
    return resolution * meters_per_unit * dpi * ESRI_INCHES_PER_METRE


@dataclass(frozen=True)
class TileGrid:
    """A tile matrix set: where tiles start, how large they are, and each level's resolution."""

    origin: tuple[float, float]  # top-left corner, in the grid's SR
    tile_size: int
    resolutions: tuple[float, ...]  # level n's map units per pixel
    wkid: int  # the grid's spatial reference
    bounds: BBox | None = None  # where the grid has tiles (None: wherever the data is)

    def tile_span(self, level: int) -> float:
        """The ground width (and height) of one tile at ``level``."""
        return self.tile_size * self.resolutions[level]

    def tile_bbox(self, level: int, row: int, col: int) -> BBox:
        """The extent of one tile."""
        span = self.tile_span(level)
        x0, y1 = self.origin[0] + col * span, self.origin[1] - row * span
        return x0, y1 - span, x0 + span, y1

    def matrix_size(self, level: int, extent: BBox) -> tuple[int, int]:
        """Rows and columns of ``level``: those of the grid's bounds, else as far as ``extent`` reaches."""
        span = self.tile_span(level)
        _, y0, x1, _ = self.bounds or extent
        cols = max(0, math.ceil((x1 - self.origin[0]) / span - 1e-9))
        rows = max(0, math.ceil((self.origin[1] - y0) / span - 1e-9))
        return rows, cols

    def tiles_in(self, level: int, extent: BBox) -> tuple[int, int, int, int]:
        """The rows and columns (first row, first col, last row, last col; inclusive) of the tiles that overlap
        ``extent`` at ``level``, clipped to the level's matrix (empty when first > last)."""
        span = self.tile_span(level)
        rows, cols = self.matrix_size(level, extent)
        c0 = max(0, math.floor((extent[0] - self.origin[0]) / span + 1e-9))
        c1 = min(cols - 1, math.ceil((extent[2] - self.origin[0]) / span - 1e-9) - 1)
        r0 = max(0, math.floor((self.origin[1] - extent[3]) / span + 1e-9))
        r1 = min(rows - 1, math.ceil((self.origin[1] - extent[1]) / span - 1e-9) - 1)
        return r0, c0, r1, c1


def webmercator(levels: int = WEB_MERCATOR_LEVELS) -> TileGrid:
    """Esri's standard Web Mercator grid (wkid 102100 / 3857), as the ArcGIS Online basemaps publish it."""
    half = WEB_MERCATOR_HALF
    return TileGrid(WEB_MERCATOR_ORIGIN, 256, tuple(WEB_MERCATOR_LEVEL0 / 2**n for n in range(levels)), 3857,
                    (-half, -half, half, half))


def custom_grid(origin: Sequence[float], tile_size: int, resolutions: Sequence[float], wkid: int) -> TileGrid:
    """A grid of one's own: its tiles reach as far as the service's data."""
    return TileGrid((float(origin[0]), float(origin[1])), tile_size, tuple(float(r) for r in resolutions), wkid)


@dataclass(frozen=True)
class MetaTile:
    """One GetMap covering a block of tiles plus a buffer around them (clipped at the grid's edges)."""

    level: int
    row0: int
    col0: int
    rows: int
    cols: int
    bbox: BBox  # what the GetMap draws, buffer included
    width: int
    height: int
    left: int  # buffer pixels kept at each side (none beyond the grid's edge)
    top: int

    def tile_window(self, row: int, col: int, tile_size: int) -> tuple[int, int]:
        """The pixel offset (x, y) of tile (row, col) in the metatile image."""
        return self.left + (col - self.col0) * tile_size, self.top + (row - self.row0) * tile_size

    def tiles(self) -> list[tuple[int, int]]:
        """Every (row, col) this metatile draws."""
        return [(self.row0 + r, self.col0 + c) for r in range(self.rows) for c in range(self.cols)]


def metatile(grid: TileGrid, level: int, row: int, col: int, meta_size: int, buffer: int,
             matrix: tuple[int, int]) -> MetaTile:
    """The metatile that draws tile (level, row, col): ``meta_size`` x ``meta_size`` tiles aligned on multiples of
    ``meta_size`` (clamped to the level's ``matrix`` of rows and columns), with ``buffer`` pixels around them where
    the grid goes on (a label or symbol across a tile edge is then drawn whole in both neighbours)."""
    rows_total, cols_total = matrix
    row0, col0 = row - row % meta_size, col - col % meta_size
    rows = max(1, min(meta_size, rows_total - row0))
    cols = max(1, min(meta_size, cols_total - col0))
    res, size = grid.resolutions[level], grid.tile_size
    left = buffer if col0 > 0 else 0
    right = buffer if col0 + cols < cols_total else 0
    top = buffer if row0 > 0 else 0
    bottom = buffer if row0 + rows < rows_total else 0
    x0, _, _, y1 = grid.tile_bbox(level, row0, col0)
    width, height = cols * size + left + right, rows * size + top + bottom
    bbox = (x0 - left * res, y1 - (rows * size + bottom) * res, x0 + (cols * size + right) * res, y1 + top * res)
    return MetaTile(level, row0, col0, rows, cols, bbox, width, height, left, top)


def metatile_key(meta: MetaTile) -> str:
    """A name of a metatile, unique within its grid."""
    return f"{meta.level}/{meta.row0}/{meta.col0}/{meta.rows}x{meta.cols}"


def intersects(a: BBox, b: BBox) -> bool:
    """Whether two boxes share more than an edge."""
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
