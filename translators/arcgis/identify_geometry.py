"""The ``geometry`` of an identify, as clients spell it: the query's geometry parser
(:func:`translators.arcgis.geometry.parse_geometry`: simple ``x,y`` / ``xmin,ymin,xmax,ymax`` or Esri JSON), after
quoting the keys of the JavaScript-like object QGIS sends (``{x: 12.3, y: 45.6}``), and moved into ``sr``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from translators.arcgis.geometry import GEOMETRY_TYPES, parse_geometry, reprojected
from translators.crs import SpatialRef
from translators.errors import InvalidParameter
from translators.ogc.wfs_features import geometry_bbox, geometry_points
from translators.params import parse_choice, parse_json

_UNQUOTED_KEY = re.compile(r'([{,]\s*)([A-Za-z_][A-Za-z0-9_]*)(\s*:)')


@dataclass(frozen=True)
class Geometry:
    """An identify geometry: its Esri type and its shape (GeoJSON-like, an envelope as its polygon) in ``sr``."""

    kind: str
    shape: dict[str, Any]

    @property
    def points(self) -> tuple[tuple[float, float], ...]:
        """Every vertex, x/y."""
        return tuple((float(p[0]), float(p[1])) for p in geometry_points(self.shape))

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        """The box around every vertex."""
        return geometry_bbox(self.shape)


def parse_geometry_type(text: str | None) -> str:
    """``geometryType`` (default a point), in any case, with or without the ``esriGeometry`` prefix."""
    if text is None:
        return GEOMETRY_TYPES[0]
    name = text if text.lower().startswith("esrigeometry") else "esriGeometry" + text
    return parse_choice(name, "geometryType", GEOMETRY_TYPES)


def quoted_keys(text: str, parameter: str = "geometry") -> str:
    """JSON as it is, or the JavaScript-like object QGIS sends with its keys unquoted, as JSON."""
    if not text.lstrip().startswith("{"):
        return text
    try:
        parse_json(text, parameter)
        return text
    except InvalidParameter:
        quoted = _UNQUOTED_KEY.sub(lambda m: f'{m.group(1)}"{m.group(2)}"{m.group(3)}', text)
        if quoted == text:
            raise
        return json.dumps(parse_json(quoted, parameter))


def identify_geometry(text: str | None, kind: str, sr: SpatialRef) -> Geometry:
    """``geometry`` of type ``kind``, read in its own SR (else ``sr``) and moved into ``sr``."""
    if text is None:
        raise InvalidParameter("geometry", "the parameter is required")
    parsed = parse_geometry(quoted_keys(text), kind, sr)
    return Geometry(kind, reprojected(parsed.geometry, parsed.sr, sr, parameter="geometry"))
