"""``Clip``: pixels outside (or inside) a polygon or envelope become NoData; and :func:`rasterize`, which it uses.

``ClippingGeometry`` envelope or polygon (even-odd rule, so holes work), in the raster's spatial reference or its own
``spatialReference``; ``ClippingType`` (alias ``ClipType``) 1 keeps the inside, 2 keeps the outside; a pixel is inside
when its centre is.  Pixels clipped away become NoData; values (and so the statistics) are untouched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeAlias

import numpy as np

from translators.crs import SpatialRef, resolve_sr, transform_point
from translators.errors import InvalidParameter
from translators.params import parse_json
from translators.raster.functions.base import ArgumentReader, Function, RasterFunction, Stats, lower_keys
from translators.raster.functions.helpers import BoolArray
from translators.raster.model import Raster

__all__ = ["Clip", "ClipArgs", "Ring", "rasterize"]

Ring: TypeAlias = tuple[tuple[float, float], ...]


# Clip rasterisation works on blocks of rows x edges of at most this many intersections, to bound memory.
_CLIP_BLOCK_CELLS: Final = 4_000_000


@dataclass(frozen=True)
class ClipArgs:
    """``Clip``: rings (x/y) in ``sr`` (None: the raster's); ``keep_inside`` is ClippingType 1."""

    rings: tuple[Ring, ...]
    sr: SpatialRef | None = None
    envelope: bool = False
    keep_inside: bool = True


class Clip(Function[ClipArgs]):
    """``Clip``: the mask narrowed to the inside (or the outside) of the clipping geometry."""

    names = ("Clip",)

    def parse(self, args: ArgumentReader) -> ClipArgs:
        """The geometry's rings, its spatial reference and which side is kept."""
        geometry = args.raw("ClippingGeometry")
        if isinstance(geometry, str):
            geometry = parse_json(geometry, args.parameter)
        if not isinstance(geometry, dict):
            raise args.error("ClippingGeometry", "is required: an envelope or polygon JSON object")
        keys = lower_keys(geometry)
        sr: SpatialRef | None = None
        if keys.get("spatialreference"):
            try:
                sr = resolve_sr(keys["spatialreference"], "spatialReference")
            except InvalidParameter as exc:
                raise args.error("ClippingGeometry", f"has an unusable spatialReference ({exc.message})") from None
        clip_type = args.raw("ClippingType", "ClipType")
        if isinstance(clip_type, str) and clip_type.strip().lower() in ("outside", "inside"):
            keep_inside = clip_type.strip().lower() == "outside"  # "clipping outside" removes what lies outside
        else:
            number = args.integer("ClippingType", 1, "ClipType")
            if number not in (1, 2):
                raise args.error("ClippingType", "must be 1 (clip outside) or 2 (clip inside)")
            keep_inside = number == 1
        if "rings" in keys:
            return ClipArgs(_rings(args, keys["rings"]), sr, False, keep_inside)
        if all(k in keys for k in ("xmin", "ymin", "xmax", "ymax")):
            x0, y0, x1, y1 = (args.to_float(keys[k], "ClippingGeometry") for k in ("xmin", "ymin", "xmax", "ymax"))
            if x1 <= x0 or y1 <= y0:
                raise args.error("ClippingGeometry", "envelope needs xmin < xmax and ymin < ymax")
            ring = ((x0, y0), (x0, y1), (x1, y1), (x1, y0))
            return ClipArgs((ring,), sr, True, keep_inside)
        raise args.error("ClippingGeometry", "must be an envelope (xmin, ymin, xmax, ymax) or a polygon (rings)")

    def apply(self, raster: Raster, rule: RasterFunction, args: ClipArgs,
              stats: Stats | None) -> tuple[Raster, Stats | None]:
        """The raster with pixels on the clipped side made NoData; values and statistics carried along."""
        rings = args.rings
        if args.sr is not None and not args.sr.same_as(raster.sr):
            # An envelope's straight edges curve in another CRS: densify before transforming.
            source = tuple(_densify(r, 16) for r in rings) if args.envelope else rings
            rings = tuple(tuple(transform_point(x, y, args.sr, raster.sr, parameter=rule.parameter) for x, y in ring)
                          for ring in source)
        inside = rasterize(rings, raster.bbox, raster.height, raster.width)
        keep = inside if args.keep_inside else ~inside
        mask = np.asarray(raster.mask, dtype=np.bool_) & keep
        return raster.with_data(raster.data, raster.pixel_type, mask=mask), stats


def _rings(args: ArgumentReader, value: Any) -> tuple[Ring, ...]:
    if not isinstance(value, list) or not value:
        raise args.error("ClippingGeometry", "'rings' must be a non-empty array of rings")
    rings: list[Ring] = []
    for ring in value:
        if not isinstance(ring, list):
            raise args.error("ClippingGeometry", "each ring must be an array of [x, y] points")
        points: list[tuple[float, float]] = []
        for point in ring:
            if not isinstance(point, list) or len(point) < 2:
                raise args.error("ClippingGeometry", "points must be [x, y]")
            points.append((args.to_float(point[0], "ClippingGeometry"),
                           args.to_float(point[1], "ClippingGeometry")))
        if len(points) > 1 and points[0] == points[-1]:
            points.pop()  # ArcGIS rings repeat the first point at the end; the rasteriser closes rings itself
        if len(points) < 3:
            raise args.error("ClippingGeometry", "rings need at least 3 distinct points")
        rings.append(tuple(points))
    return tuple(rings)


def _densify(ring: Ring, steps: int) -> Ring:
    points: list[tuple[float, float]] = []
    for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=True):
        points.extend((x0 + (x1 - x0) * k / steps, y0 + (y1 - y0) * k / steps) for k in range(steps))
    return tuple(points)


def rasterize(rings: Sequence[Ring], bbox: tuple[float, float, float, float], rows: int, cols: int) -> BoolArray:
    """Which pixel centres lie inside the rings, by the even-odd rule (holes and multiple parts need no
    orientation); scanline crossings counted with numpy."""
    minx, miny, maxx, maxy = bbox
    xs = minx + (np.arange(cols) + 0.5) * (maxx - minx) / max(cols, 1)
    ys = maxy - (np.arange(rows) + 0.5) * (maxy - miny) / max(rows, 1)
    starts = np.array([p for ring in rings for p in ring], dtype=np.float64).reshape(-1, 2)
    ends = np.array([p for ring in rings for p in ring[1:] + ring[:1]], dtype=np.float64).reshape(-1, 2)
    x0, y0, x1, y1 = starts[:, 0], starts[:, 1], ends[:, 0], ends[:, 1]
    inside = np.zeros((rows, cols), dtype=np.bool_)
    block = max(1, _CLIP_BLOCK_CELLS // max(x0.size, 1))
    for top in range(0, rows, block):
        y = ys[top:top + block, np.newaxis]
        # Half-open test so that a vertex on the scanline is counted once.
        crosses = (y0 <= y) != (y1 <= y)
        with np.errstate(all="ignore"):
            xcross = x0 + (y - y0) * (x1 - x0) / (y1 - y0)
        xcross = np.sort(np.where(crosses, xcross, np.inf), axis=1)
        for offset, row in enumerate(xcross):
            inside[top + offset] = np.searchsorted(row, xs, side="left") % 2 == 1
    return inside
