"""The ``geometry`` of an identify, as clients spell it, and backend geometries (GeoJSON-like) as Esri JSON.

Clients send a point as ``x,y``, an envelope as ``xmin,ymin,xmax,ymax``, or JSON — QGIS without quotes around the
keys (``{x: 12.3, y: 45.6}``).  Answers carry Esri JSON: ``x/y``, ``points``, ``paths``, ``rings`` (outer rings
clockwise, holes counter-clockwise) or an envelope, each coordinate transformed into the output SR.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from translators.errors import InvalidParameter
from translators.params import parse_choice, parse_json, parse_numbers

GEOMETRY_TYPES = ("esriGeometryPoint", "esriGeometryMultipoint", "esriGeometryPolyline", "esriGeometryPolygon",
                  "esriGeometryEnvelope")
_UNQUOTED_KEY = re.compile(r'([{,]\s*)([A-Za-z_][A-Za-z0-9_]*)(\s*:)')
Transform = Callable[[float, float], tuple[float, float]]
Coords = list[list[float]]


@dataclass(frozen=True)
class Geometry:
    """A parsed identify geometry: its Esri type, its points (every vertex, x/y), its own SR JSON (or None)."""

    kind: str
    points: tuple[tuple[float, float], ...]
    parts: tuple[tuple[tuple[float, float], ...], ...]  # rings or paths (envelope: its ring); points: one part each
    sr: Any = None

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        """The box around every vertex."""
        xs, ys = [p[0] for p in self.points], [p[1] for p in self.points]
        return min(xs), min(ys), max(xs), max(ys)


def parse_geometry_type(text: str | None) -> str:
    """``geometryType`` (default a point), in any case, with or without the ``esriGeometry`` prefix."""
    if text is None:
        return GEOMETRY_TYPES[0]
    name = text if text.lower().startswith("esrigeometry") else "esriGeometry" + text
    return parse_choice(name, "geometryType", GEOMETRY_TYPES)


def lenient_json(text: str, parameter: str) -> Any:
    """JSON, or the JavaScript-like object QGIS sends with its keys unquoted."""
    try:
        return parse_json(text, parameter)
    except InvalidParameter:
        quoted = _UNQUOTED_KEY.sub(lambda m: f'{m.group(1)}"{m.group(2)}"{m.group(3)}', text)
        if quoted == text:
            raise
        return parse_json(quoted, parameter)


def parse_geometry(text: str | None, kind: str, parameter: str = "geometry") -> Geometry:
    """Parse ``geometry`` of type ``kind``: simple ``x,y`` or ``xmin,ymin,xmax,ymax``, or (lenient) JSON."""
    if text is None:
        raise InvalidParameter(parameter, "the parameter is required")
    if not text.lstrip().startswith("{"):
        if kind == "esriGeometryPoint":
            x, y = parse_numbers(text, parameter, 2)
            return Geometry(kind, ((x, y),), (((x, y),),))
        if kind == "esriGeometryEnvelope":
            return _envelope(parse_numbers(text, parameter, 4), None, parameter)
        raise InvalidParameter(parameter, f"a {kind} must be given as JSON")
    data = lenient_json(text, parameter)
    if not isinstance(data, dict):
        raise InvalidParameter(parameter, "expected a JSON object")
    sr = data.get("spatialReference")
    try:
        if kind == "esriGeometryPoint":
            x, y = _xy([data["x"], data["y"]], parameter)
            return Geometry(kind, ((x, y),), (((x, y),),), sr)
        if kind == "esriGeometryEnvelope":
            return _envelope([_number(data[k], parameter) for k in ("xmin", "ymin", "xmax", "ymax")], sr, parameter)
        key = {"esriGeometryMultipoint": "points", "esriGeometryPolyline": "paths"}.get(kind, "rings")
        items = data[key]
    except KeyError as exc:
        raise InvalidParameter(parameter, f"a {kind} needs '{exc.args[0]}'") from None
    if not isinstance(items, list) or not items:
        raise InvalidParameter(parameter, f"'{key}' must be a non-empty array")
    if kind == "esriGeometryMultipoint":
        points = tuple(_xy(p, parameter) for p in items)
        return Geometry(kind, points, tuple((p,) for p in points), sr)
    parts = tuple(tuple(_xy(p, parameter) for p in _list(part, parameter)) for part in items)
    minimum = 4 if kind == "esriGeometryPolygon" else 2
    if any(len(part) < minimum for part in parts):
        raise InvalidParameter(parameter, f"each of '{key}' needs at least {minimum} points")
    return Geometry(kind, tuple(p for part in parts for p in part), parts, sr)


def _list(value: Any, parameter: str) -> list[Any]:
    if not isinstance(value, list):
        raise InvalidParameter(parameter, "expected an array of coordinates")
    return value


def _number(value: Any, parameter: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidParameter(parameter, f"'{value}' is not a finite number")
    return float(value)


def _xy(value: Any, parameter: str) -> tuple[float, float]:
    if not isinstance(value, list) or len(value) < 2:
        raise InvalidParameter(parameter, "a coordinate must be an array of at least x and y")
    return _number(value[0], parameter), _number(value[1], parameter)


def _envelope(values: Sequence[float], sr: Any, parameter: str) -> Geometry:
    x0, y0, x1, y1 = values
    x0, x1, y0, y1 = min(x0, x1), max(x0, x1), min(y0, y1), max(y0, y1)
    ring = ((x0, y0), (x0, y1), (x1, y1), (x1, y0), (x0, y0))
    return Geometry("esriGeometryEnvelope", ring, (ring,), sr)


# ---------------------------------------------------------------------------------------------- GeoJSON → Esri JSON
def signed_area(ring: Sequence[Sequence[float]]) -> float:
    """Twice the signed area of a ring (positive: counter-clockwise)."""
    return sum(a[0] * b[1] - b[0] * a[1] for a, b in itertools.pairwise(ring))


def _ring(ring: Coords, outer: bool) -> Coords:
    """Esri orientation: outer rings clockwise, holes counter-clockwise; closed."""
    if ring and ring[0] != ring[-1]:
        ring = [*ring, ring[0]]
    clockwise = signed_area(ring) < 0
    return ring if clockwise == outer else ring[::-1]


def _coords(values: Any, transform: Transform, digits: int | None) -> Coords:
    out: Coords = []
    for value in values:
        x, y = transform(float(value[0]), float(value[1]))
        out.append([round(x, digits), round(y, digits)] if digits is not None else [x, y])
    return out


def to_esri(geometry: Mapping[str, Any], transform: Transform,
            digits: int | None = None) -> tuple[str, dict[str, Any]] | None:
    """A GeoJSON geometry (or the ``Envelope`` of a GML box) as (Esri geometry type, Esri geometry), coordinates
    transformed and rounded to ``digits`` decimals; None for a type Esri JSON has no form for."""
    kind, coords = geometry.get("type"), geometry.get("coordinates")
    if coords is None:
        return None
    if kind == "Point":
        (x, y), = _coords([coords], transform, digits)
        return "esriGeometryPoint", {"x": x, "y": y}
    if kind == "Envelope":
        (x0, y0), (x1, y1) = _coords([coords[:2], coords[2:4]], transform, digits)
        return "esriGeometryEnvelope", {"xmin": min(x0, x1), "ymin": min(y0, y1), "xmax": max(x0, x1),
                                        "ymax": max(y0, y1)}
    if kind == "MultiPoint":
        return "esriGeometryMultipoint", {"points": _coords(coords, transform, digits)}
    if kind in ("LineString", "MultiLineString"):
        lines = [coords] if kind == "LineString" else coords
        return "esriGeometryPolyline", {"paths": [_coords(line, transform, digits) for line in lines]}
    if kind in ("Polygon", "MultiPolygon"):
        polygons = [coords] if kind == "Polygon" else coords
        rings = [_ring(_coords(ring, transform, digits), index == 0)
                 for polygon in polygons for index, ring in enumerate(polygon)]
        return "esriGeometryPolygon", {"rings": rings}
    return None
