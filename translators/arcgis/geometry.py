"""ArcGIS geometries ⇄ the GeoJSON-like geometries of :mod:`translators.ogc.wfs_features`.

In: the ``geometry`` parameter of a query (Esri JSON of each type, or the simple ``x,y`` and
``xmin,ymin,xmax,ymax`` syntax) with its ``geometryType`` and spatial reference.  Out: Esri JSON geometry in the
caller's ``outSR`` (reprojected here with :mod:`translators.crs`: QGIS Server's GeoJSON ignores ``SRSNAME``), with
Esri's ring orientation (outer rings clockwise, holes counter-clockwise, the reverse of RFC 7946), lines as
``paths`` and multipoints as ``points``, generalised by ``maxAllowableOffset`` and rounded to
``geometryPrecision``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from translators.crs import SpatialRef, resolve_sr, transform_coords
from translators.errors import InvalidParameter
from translators.ogc.wfs_features import Geometry, geometry_points
from translators.params import parse_json

Ring = list[list[float]]

ESRI_TYPES = {
    "Point": "esriGeometryPoint",
    "MultiPoint": "esriGeometryMultipoint",
    "LineString": "esriGeometryPolyline",
    "MultiLineString": "esriGeometryPolyline",
    "Polygon": "esriGeometryPolygon",
    "MultiPolygon": "esriGeometryPolygon",
}
"""The Esri geometry type of each GeoJSON type."""

GEOMETRY_TYPES = ("esriGeometryPoint", "esriGeometryMultipoint", "esriGeometryPolyline", "esriGeometryPolygon",
                  "esriGeometryEnvelope")


@dataclass(frozen=True)
class InputGeometry:
    """A parsed ``geometry`` parameter: GeoJSON-like (an envelope as its polygon), whether it was an envelope, and
    its spatial reference (the JSON's own, else ``inSR``, else the layer's)."""

    geometry: Geometry
    is_envelope: bool
    sr: SpatialRef


def _numbers(values: Any, parameter: str) -> list[float]:
    if not isinstance(values, list | tuple) or len(values) < 2:
        raise InvalidParameter(parameter, "a coordinate must be a list of at least two numbers")
    out = []
    for v in values[:2]:
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise InvalidParameter(parameter, f"'{v}' is not a finite number")
        out.append(float(v))
    return out


def _point_list(values: Any, parameter: str, minimum: int) -> list[list[float]]:
    if not isinstance(values, list) or len(values) < minimum:
        raise InvalidParameter(parameter, f"needs lists of at least {minimum} coordinates")
    return [_numbers(v, parameter) for v in values]


def _box(x0: float, y0: float, x1: float, y1: float, parameter: str) -> Geometry:
    if not (x1 >= x0 and y1 >= y0):
        raise InvalidParameter(parameter, "an envelope's maxima must not be below its minima")
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x0, y1], [x1, y1], [x1, y0], [x0, y0]]]}


def _from_json(data: dict[str, Any], kind: str, parameter: str) -> Geometry:
    """One Esri JSON geometry of type ``kind`` (not an envelope) as GeoJSON-like."""
    if kind == "esriGeometryPoint":
        if "x" not in data or "y" not in data:
            raise InvalidParameter(parameter, "a point needs x and y")
        return {"type": "Point", "coordinates": _numbers([data["x"], data["y"]], parameter)}
    if kind == "esriGeometryMultipoint":
        return {"type": "MultiPoint", "coordinates": _point_list(data.get("points"), parameter, 1)}
    if kind == "esriGeometryPolyline":
        paths = data.get("paths")
        if not isinstance(paths, list) or not paths:
            raise InvalidParameter(parameter, "a polyline needs paths")
        return {"type": "MultiLineString", "coordinates": [_point_list(p, parameter, 2) for p in paths]}
    rings = data.get("rings")
    if not isinstance(rings, list) or not rings:
        raise InvalidParameter(parameter, "a polygon needs rings")
    return polygon_from_rings([_closed(_point_list(r, parameter, 3)) for r in rings])


def _closed(ring: Ring) -> Ring:
    return ring if ring[0] == ring[-1] else [*ring, ring[0]]


def parse_geometry(text: str, kind: str | None, default_sr: SpatialRef, parameter: str = "geometry") -> InputGeometry:
    """Parse a ``geometry`` parameter of ``geometryType`` ``kind`` (default: envelope)."""
    kind = kind or "esriGeometryEnvelope"
    if kind not in GEOMETRY_TYPES:
        raise InvalidParameter("geometryType", f"'{kind}' is not one of {', '.join(GEOMETRY_TYPES)}")
    text = text.strip()
    if not text.startswith("{"):
        try:
            values = [float(v) for v in text.split(",")]
        except ValueError:
            raise InvalidParameter(parameter, "is neither JSON nor comma-separated numbers") from None
        if len(values) == 2 and kind == "esriGeometryPoint":
            values = _numbers(values, parameter)
            return InputGeometry({"type": "Point", "coordinates": values}, False, default_sr)
        if len(values) == 4 and kind == "esriGeometryEnvelope":
            x0, y0, x1, y1 = _numbers(values[:2], parameter) + _numbers(values[2:], parameter)
            return InputGeometry(_box(x0, y0, x1, y1, parameter), True, default_sr)
        raise InvalidParameter(parameter, f"the simple syntax takes x,y or xmin,ymin,xmax,ymax, not '{text[:40]}'")
    data = parse_json(text, parameter)
    if not isinstance(data, dict):
        raise InvalidParameter(parameter, "must be a JSON object")
    sr = resolve_sr(data["spatialReference"], parameter) if data.get("spatialReference") else default_sr
    if kind == "esriGeometryEnvelope":
        try:
            lo, hi = _numbers([data["xmin"], data["ymin"]], parameter), _numbers([data["xmax"], data["ymax"]],
                                                                                 parameter)
        except KeyError:
            raise InvalidParameter(parameter, "an envelope needs xmin, ymin, xmax and ymax") from None
        return InputGeometry(_box(lo[0], lo[1], hi[0], hi[1], parameter), True, sr)
    return InputGeometry(_from_json(data, kind, parameter), False, sr)


def signed_area(ring: Sequence[Sequence[float]]) -> float:
    """Twice the signed area of a ring: positive when counter-clockwise (x east, y north)."""
    return sum(a[0] * b[1] - b[0] * a[1] for a, b in itertools.pairwise(ring))


def polygon_from_rings(rings: list[Ring]) -> Geometry:
    """Esri rings (clockwise outer rings, each followed by its counter-clockwise holes) as GeoJSON-like."""
    polygons: list[list[Ring]] = []
    for ring in rings:
        if signed_area(ring) <= 0 or not polygons:  # clockwise: a new outer ring
            polygons.append([ring])
        else:
            polygons[-1].append(ring)
    if len(polygons) == 1:
        return {"type": "Polygon", "coordinates": polygons[0]}
    return {"type": "MultiPolygon", "coordinates": polygons}


def reprojected(geometry: Geometry, src: SpatialRef, dst: SpatialRef, parameter: str = "outSR") -> Geometry:
    """The geometry with every vertex transformed from ``src`` to ``dst``."""
    if src.same_as(dst):
        return geometry
    points = list(geometry_points(geometry))
    xs, ys = transform_coords([p[0] for p in points], [p[1] for p in points], src, dst, parameter=parameter)
    moved = iter(zip(xs, ys, strict=True))

    def walk(value: Any) -> Any:
        if value and isinstance(value[0], int | float):
            x, y = next(moved)
            return [x, y]
        return [walk(v) for v in value]

    return {"type": geometry["type"], "coordinates": walk(geometry["coordinates"])}


def _simplified(points: Ring, tolerance: float) -> Ring:
    """Douglas-Peucker: the vertices that keep the line within ``tolerance`` of the original."""
    if len(points) < 3 or tolerance <= 0:
        return points
    (x0, y0), (x1, y1) = points[0][:2], points[-1][:2]
    dx, dy = x1 - x0, y1 - y0
    norm = math.hypot(dx, dy)
    worst, index = -1.0, 0
    for i, p in enumerate(points[1:-1], 1):
        d = (abs(dy * p[0] - dx * p[1] + x1 * y0 - y1 * x0) / norm) if norm else math.hypot(p[0] - x0, p[1] - y0)
        if d > worst:
            worst, index = d, i
    if worst <= tolerance:
        return [points[0], points[-1]]
    return _simplified(points[:index + 1], tolerance)[:-1] + _simplified(points[index:], tolerance)


def _ring(points: Ring, tolerance: float | None, clockwise: bool) -> Ring | None:
    if tolerance:
        points = _simplified(points, tolerance)
        if len(points) < 4:
            return None  # collapsed below the offset: left out, as ArcGIS does
    if (signed_area(points) < 0) != clockwise:
        points = points[::-1]
    return points


def to_esri(geometry: Geometry, *, max_offset: float | None = None, precision: int | None = None) -> dict[str, Any]:
    """Esri JSON of a GeoJSON-like geometry (already in the output SR), without its spatialReference."""
    kind, coords = geometry["type"], geometry["coordinates"]
    out: dict[str, Any]
    if kind == "Point":
        out = {"x": coords[0], "y": coords[1]}
    elif kind == "MultiPoint":
        out = {"points": [p[:2] for p in coords]}
    elif kind in ("LineString", "MultiLineString"):
        lines = [coords] if kind == "LineString" else coords
        out = {"paths": [_simplified([p[:2] for p in line], max_offset or 0) for line in lines]}
    elif kind in ("Polygon", "MultiPolygon"):
        polygons = [coords] if kind == "Polygon" else coords
        rings: list[Ring] = []
        for polygon in polygons:
            for i, ring in enumerate(polygon):
                kept = _ring([p[:2] for p in ring], max_offset, clockwise=i == 0)
                if kept is not None:
                    rings.append(kept)
        out = {"rings": rings}
    else:
        raise InvalidParameter("geometry", f"unknown geometry type {kind}")
    return _rounded(out, precision) if precision is not None else out


def _rounded(value: Any, digits: int) -> Any:
    if isinstance(value, float):
        return round(value, digits)
    if isinstance(value, list):
        return [_rounded(v, digits) for v in value]
    if isinstance(value, dict):
        return {k: _rounded(v, digits) for k, v in value.items()}
    return value


def to_geojson(geometry: Geometry, precision: int | None = None) -> Geometry:
    """RFC 7946 output: outer rings counter-clockwise, holes clockwise."""
    kind = geometry["type"]
    if kind in ("Polygon", "MultiPolygon"):
        polygons = [geometry["coordinates"]] if kind == "Polygon" else geometry["coordinates"]
        fixed = [[r if (signed_area(r) > 0) == (i == 0) else r[::-1] for i, r in enumerate(p)] for p in polygons]
        geometry = {"type": kind, "coordinates": fixed[0] if kind == "Polygon" else fixed}
    return _rounded(geometry, precision) if precision is not None else geometry
